/**
 * `miles-cluster:training` — one miles RL run per stack, grouped the way miles' own launchers group
 * their flags (cluster/layout, model + checkpoints, rollout, algorithm, optimizer, perf, SGLang,
 * logging). The schema checks each field on its own; the rules that tie fields together (GPU math,
 * Megatron parallelism, batch sizes, feature conflicts) are in `domain/training/rules.ts` and run in
 * `validation/training.ts`. The argv and env the fields turn into are built by `domain/training/argv.ts`.
 */
import { z } from "zod";
import { MODEL_PRESET_NAMES } from "../catalog/models";
import { IMAGES } from "../catalog/versions";
import { unknownPresetMessage } from "./presets";
import { credentialShape, isCredentialFlag, isCredentialName, urlWithPassword, USE_SECRET_ENV } from "./credentials";

// ---------------------------------------------------------------------------------------------
// Field helpers
// ---------------------------------------------------------------------------------------------

const SHELL_SAFE = /^[^\s'"\\`$]+$/;
/**
 * One extraArgs token: any printable text, JSON included (`{"thinking_mode":"thinking"}`). The run's
 * argv reaches train.py through a script file on the head (domain/training/runRecord.ts), so no shell
 * re-splits it (test/sim/commandChain.test.ts). Control characters (newlines, NUL) are refused.
 */
const ARG_TOKEN = /^[^\x00-\x1f\x7f]+$/;
const ARG_TOKEN_MSG = "must not contain control characters (newlines, tabs, NUL)";
const SHELL_SAFE_MSG = "must not contain whitespace, quotes, '$', '`' or backslashes (the entrypoint passes through the submitter's and the head's shell)";

/** An absolute path inside the pods (usually under the shared volume, /shared). */
const absPath = () =>
    z
        .string()
        .regex(/^\//, "must be an absolute path inside the pods, e.g. /shared/models/Qwen3-4B")
        .regex(SHELL_SAFE, SHELL_SAFE_MSG);

/** A value that ends up as one argv token of the entrypoint. */
const argValue = () => z.string().min(1, "must not be empty").regex(SHELL_SAFE, SHELL_SAFE_MSG);

const envName = () => z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");

/** A URL field: a password in it would sit in plaintext in the stack file and the manifests. */
const safeUrl = () =>
    z.url().refine((u) => !urlWithPassword(u), "holds a password (user:password@host); drop it from the URL and pass the credential through training.secretEnv");

function noCredentialEnv(env: Record<string, string>, ctx: z.RefinementCtx): void {
    for (const [name, value] of Object.entries(env)) {
        if (isCredentialName(name)) ctx.addIssue({ code: "custom", path: [name], message: `${name} names a credential, and extraEnv is plaintext (stack file, RayJob manifest, Pulumi state): ${USE_SECRET_ENV}` });
        else {
            const shape = credentialShape(value);
            if (shape) ctx.addIssue({ code: "custom", path: [name], message: `looks like ${shape}, and extraEnv is plaintext: ${USE_SECRET_ENV}` });
        }
    }
}

function noCredentialArgs(args: string[], ctx: z.RefinementCtx): void {
    args.forEach((arg, i) => {
        const shape = credentialShape(arg);
        if (shape) ctx.addIssue({ code: "custom", path: [i], message: `looks like ${shape}; extraArgs are plaintext in the RayJob entrypoint: ${USE_SECRET_ENV}, and have miles read it from the environment` });
        else if (isCredentialFlag(arg) && (arg.includes("=") || (args[i + 1] !== undefined && !args[i + 1].startsWith("--")))) {
            ctx.addIssue({ code: "custom", path: [arg.includes("=") ? i : i + 1], message: `is the value of ${arg.split("=")[0]}, a credential; extraArgs are plaintext in the RayJob entrypoint: ${USE_SECRET_ENV}, and have miles read it from the environment` });
        }
    });
}

const posInt = () => z.number().int("must be a whole number").min(1, "must be 1 or more");

/**
 * Most decoder layers a model (and so a pipeline, or a stage of one) may have here. The deepest preset
 * has 126 (llama3.1-405B-Instruct, catalog/models.ts); 1024 leaves room for any custom architecture
 * while keeping the per-layer memory-fit estimate (domain/training/memoryFit.ts) instant: without a
 * bound, `decoderLastPipelineNumLayers: 1e9` made it walk a billion layers, and `--num-layers 1e9` ran
 * out of memory, instead of planning or refusing within a second (issue 21).
 */
export const MAX_DECODER_LAYERS = 1024;
const layerCount = () => posInt().max(MAX_DECODER_LAYERS, `must be at most ${MAX_DECODER_LAYERS} (no model has more decoder layers; the deepest preset has 126)`);
const nonNegInt = () => z.number().int("must be a whole number").min(0, "must be 0 or more");
const prob = () => z.number().min(0, "must be between 0 and 1").max(1, "must be between 0 and 1");

/** A Hugging Face repo id, `owner/name`. */
const hfRepoId = () => z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be a Hugging Face repo id such as Qwen/Qwen3-4B");

// ---------------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------------

const ImageSchema = z
    .strictObject({
        repository: z.string().min(1).default(IMAGES.miles.repository).meta({ description: "Container image repository of miles (SGLang + Megatron-LM + Ray)." }),
        tag: z
            .string()
            .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "must be an image tag such as v0.1.0")
            .default(IMAGES.miles.tag)
            .meta({ description: "Image tag. Pinned by default (catalog/versions.ts); `latest` is rejected unless `allowLatest` is true, because it moves twice a day." }),
        allowLatest: z.boolean().default(false).meta({ description: "Accept a moving tag (`latest`, `dev`, `latest-cu12`, `dev-cu12`)." }),
        source: z
            .enum(["efa-build", "named", "miles"])
            .optional()
            .meta({
                description:
                    "Which image the pods run. `efa-build`: the project's EFA image (images/miles-efa: the miles image plus the AWS EFA installer and aws-ofi-nccl), built into this stack's ECR repository by the deployment itself (AWS CodeBuild, awaited before any pod pulls it; docs/first-deployment.md) — the default on EKS stacks whose run spans several EFA nodes. `named`: `repository` (+ `digest`) as you give them. `miles`: the plain miles image (no EFA software: NCCL falls back to TCP sockets between nodes) — the default elsewhere (one-node runs talk over NVLink); a `repository` other than radixark/miles defaults to `named`.",
            }),
        digest: z
            .string()
            .regex(/^sha256:[a-f0-9]{64}$/, "must be an image digest such as sha256:<64 hex digits>")
            .optional()
            .meta({ description: "Image digest: the pods pull `repository@digest` (immutable). For `efa-build` it is the digest the build workflow prints; unset, the pods pull the build's tag." }),
        pullPolicy: z.enum(["IfNotPresent", "Always"]).default("IfNotPresent").meta({ description: "Kubernetes imagePullPolicy of every training pod." }),
        rayVersion: z
            .string()
            .regex(/^\d+\.\d+\.\d+$/, "must be a Ray version such as 2.49.0")
            .optional()
            .meta({ description: "Ray version inside the image, passed to KubeRay as `rayVersion`. Unset: KubeRay's default (the image's Ray version was not verified here)." }),
    })
    .prefault({})
    .meta({ description: "The miles container image." });

const CustomArchitectureSchema = z
    .strictObject({
        args: z
            .array(argValue())
            .min(2)
            .refine((a) => {
                const i = a.indexOf("--num-layers");
                return i < 0 || !(Number(a[i + 1]) > MAX_DECODER_LAYERS);
            }, `--num-layers must be at most ${MAX_DECODER_LAYERS} (no model has more decoder layers; the deepest preset has 126)`)
            .meta({ description: "Megatron architecture argv, as a `scripts/models/<type>` file emits it; must contain `--num-layers`.", examples: [["--num-layers", "36", "--hidden-size", "2560", "--swiglu"]] }),
        totalParamsB: z.number().positive().optional().meta({ description: "Total parameters in billions (storage sizing, plan summary)." }),
        hfRepo: hfRepoId().optional().meta({ description: "Hugging Face repo to download the checkpoint from." }),
    })
    .meta({ description: "A custom Megatron architecture instead of a preset." });

const ModelSchema = z
    .strictObject({
        preset: z
            .string()
            .default("qwen3-4B")
            .refine((v) => MODEL_PRESET_NAMES.includes(v), {
                error: (iss) => unknownPresetMessage(String(iss.input)),
            })
            .meta({ description: "Model preset: the Megatron architecture args of a miles `scripts/models/<preset>` file; `miles-cluster presets [FILTER]` lists them with family, size and whether each plans. Ignored when `custom` is set.", examples: ["qwen3-30B-A3B"] }),
        custom: CustomArchitectureSchema.optional(),
        hfRepo: hfRepoId().optional().meta({ description: "Hugging Face repo of the checkpoint to download. Default: the preset's repo.", examples: ["Qwen/Qwen3-4B"] }),
        hfCheckpoint: absPath().optional().meta({ description: "BF16 Hugging Face checkpoint directory. Default: /shared/models/<repo name>." }),
        hfCheckpointIsFp8: z
            .boolean()
            .default(false)
            .meta({ description: "The downloaded HF weights are FP8 (DeepSeek V3/R1 style): they are cast to BF16 (`tools/fp8_cast_bf16.py`) before the torch_dist conversion." }),
        refLoad: absPath()
            .nullable()
            .optional()
            .meta({ description: "torch_dist reference checkpoint (`--ref-load`; also the initial weights). Default: `<hfCheckpoint>_torch_dist` (the HF directory itself in bridge mode). `null`: no reference model (then KL is impossible and `--load` must already hold a checkpoint)." }),
        rolloutCheckpoint: absPath()
            .optional()
            .meta({ description: "HF checkpoint the SGLang engines load (`--hf-checkpoint`). Default: `<hfCheckpoint>-FP8` with `features.fp8Rollout`, `<hfCheckpoint>-INT4` with `features.int4Qat`, else `hfCheckpoint`." }),
        megatronToHfMode: z
            .enum(["raw", "bridge"])
            .default("raw")
            .meta({ description: "`--megatron-to-hf-mode`: built-in converters (raw) or Megatron Bridge (bridge; no torch_dist conversion needed)." }),
    })
    .prefault({})
    .meta({ description: "The model: architecture (preset or custom) and the checkpoints on the shared volume." });

const LayoutSchema = z
    .strictObject({
        actorNodes: posInt().default(1).meta({ description: "`--actor-num-nodes`: nodes of the training (actor) group." }),
        actorGpusPerNode: posInt()
            .optional()
            .meta({ description: "`--actor-num-gpus-per-node`. Default: all GPUs of a node. Fewer only with a single actor node." }),
        gpusPerNode: posInt()
            .optional()
            .meta({ description: "`--num-gpus-per-node`; must equal the node's real GPU count (the default) or the placement group never fits." }),
        colocate: z.boolean().default(true).meta({ description: "`--colocate`: trainer and SGLang engines share the same GPUs (offload on both sides). Off = disaggregated; then set `rolloutGpus`." }),
        rolloutGpus: posInt().optional().meta({ description: "`--rollout-num-gpus`: GPUs of the SGLang engines when not colocated." }),
        gpusPerEngine: posInt().default(1).meta({ description: "`--rollout-num-gpus-per-engine`: GPUs per SGLang engine (its tensor-parallel size)." }),
        prefillNumServers: posInt()
            .optional()
            .meta({ description: "`--prefill-num-servers`: engines that only prefill (prefill/decode disaggregation); the other engines decode." }),
    })
    .prefault({})
    .meta({ description: "GPU layout of the run (miles `add_cluster_arguments`)." });

const ParallelismSchema = z
    .strictObject({
        tp: posInt().default(1).meta({ description: "`--tensor-model-parallel-size`." }),
        pp: layerCount().default(1).meta({ description: "`--pipeline-model-parallel-size` (at most one stage per layer)." }),
        cp: posInt().default(1).meta({ description: "`--context-parallel-size`." }),
        ep: posInt().default(1).meta({ description: "`--expert-model-parallel-size` (MoE)." }),
        etp: posInt().optional().meta({ description: "`--expert-tensor-parallel-size`. Default (Megatron): equal to `tp`." }),
        sequenceParallel: z.boolean().default(false).meta({ description: "`--sequence-parallel` (Megatron turns it off when tp = 1)." }),
        decoderFirstPipelineNumLayers: layerCount().optional().meta({ description: "`--decoder-first-pipeline-num-layers`: layers of the first pipeline stage (uneven pipelines)." }),
        decoderLastPipelineNumLayers: layerCount().optional().meta({ description: "`--decoder-last-pipeline-num-layers`: layers of the last pipeline stage (uneven pipelines)." }),
        attentionBackend: z
            .enum(["auto", "flash", "fused", "unfused", "local"])
            .optional()
            .meta({
                description:
                    "`--attention-backend` of Megatron (choices: megatron/training/arguments.py, AttnBackend). Unset: what the model needs (gpt-oss: `fused`, its sink attention runs only in TE's fused kernel with bshd; Gemma-4: `unfused`, its 512-wide heads fit no fused kernel — miles v0.1.0 scripts/run_gpt_oss_20b.py, run_gemma_4_31b.py), else no flag (Megatron's `auto`). Most miles recipes pass `flash`.",
            }),
        qkvFormat: z
            .enum(["thd", "bshd"])
            .optional()
            .meta({ description: "`--qkv-format` (miles; default `thd`, packed sequences). Unset: `bshd` for gpt-oss and Gemma-4 (their attention backends need it), else no flag. `bshd` needs a fixed micro-batch (no dynamic batch)." }),
        cpCommType: z
            .enum(["p2p", "a2a", "allgather", "a2a+p2p"])
            .optional()
            .meta({ description: "`--cp-comm-type` of context parallelism (Megatron's default p2p; miles' Qwen3 recipes pass a2a with CP > 1). Set by `features.trueOnPolicy` itself (a2a)." }),
        moe: z
            .strictObject({
                tokenDispatcherType: z
                    .enum(["allgather", "alltoall", "flex"])
                    .optional()
                    .meta({ description: "`--moe-token-dispatcher-type`; replaces the preset's own (most MoE presets set `alltoall`). `flex` is what DeepEP needs." }),
                deepep: z.boolean().default(false).meta({ description: "`--moe-enable-deepep`: DeepEP all-to-all in the trainer (needs tokenDispatcherType `flex`; Megatron raises otherwise)." }),
            })
            .prefault({})
            .meta({ description: "Megatron MoE token dispatch." }),
        recompute: z
            .strictObject({
                granularity: z.enum(["full", "selective"]).meta({ description: "`--recompute-granularity`." }),
                method: z.enum(["uniform", "block"]).optional().meta({ description: "`--recompute-method` (full granularity)." }),
                numLayers: posInt().optional().meta({ description: "`--recompute-num-layers` (full granularity)." }),
            })
            .optional()
            .meta({ description: "Activation recomputation." }),
    })
    .meta({ description: "Megatron parallelism of the actor." });

/**
 * `parallelism: auto`: the layout search (domain/training/layoutSearch.ts) picks parallelism, actor
 * nodes, rollout GPUs, engine size, recompute, optimizer offload and max tokens per GPU when the stack
 * is resolved (domain/stack.ts); the resolved run carries the choice. Parsed as the defaults with
 * `auto: true`, an explicit mapping as itself with `auto: false`.
 */
const ParallelismField = z
    .union([
        z.literal("auto").meta({ description: "Let `plan` choose the layout: the best one the layout search finds on the run's node groups (fewest nodes, then cost, then throughput; docs/memory-fit.md). The plan shows the choice; `miles-cluster size` prints it as YAML." }),
        ParallelismSchema,
    ], { error: 'must be "auto" or a mapping (tp, pp, cp, ep, …)' })
    .prefault({})
    .transform((v) => (v === "auto" ? { ...ParallelismSchema.parse({}), auto: true } : { ...v, auto: false }))
    .meta({ description: "Megatron parallelism of the actor, or `auto`." });

const OffloadSchema = z
    .strictObject({
        train: z.boolean().optional().meta({ description: "`--offload-train` / `--no-offload-train`. Unset: miles' default (on when colocated)." }),
        rollout: z.boolean().optional().meta({ description: "`--offload-rollout` / `--no-offload-rollout`. Unset: miles' default (on when colocated)." }),
        optimizerCpu: z
            .boolean()
            .default(false)
            .meta({ description: "`--optimizer-cpu-offload --overlap-cpu-optimizer-d2h-h2d --use-precision-aware-optimizer`: optimizer state in host RAM (needs a lot of it)." }),
        rematerializeParams: z
            .boolean()
            .default(false)
            .meta({
                description:
                    "`--rematerialize-param-from-master-weight`: while the engines generate, keep no pinned host copy of the actor's BF16 weights and rebuild them from the optimizer's master weights (host RAM − 2 bytes per parameter and rank). Colocated with offload.train on, no LoRA (miles v0.1.0 arguments.py `_validate_rematerialize_param_from_master_weight`).",
            }),
    })
    .prefault({})
    .meta({ description: "Memory offload switches." });

const KlSchema = z
    .strictObject({
        useKlLoss: z.boolean().default(false).meta({ description: "`--use-kl-loss`: KL to the reference model as a loss term (needs `model.refLoad`)." }),
        klLossCoef: z.number().min(0).default(0).meta({ description: "`--kl-loss-coef`." }),
        klLossType: z.enum(["k1", "k2", "k3", "low_var_kl"]).default("low_var_kl").meta({ description: "`--kl-loss-type`." }),
        klCoef: z.number().min(0).default(0).meta({ description: "`--kl-coef`: KL penalty in the reward (cannot be combined with a non-zero `klLossCoef`)." }),
    })
    .prefault({})
    .meta({ description: "KL regularisation." });

const AlgorithmSchema = z
    .strictObject({
        advantageEstimator: z
            .enum(["grpo", "gspo", "ppo", "reinforce_plus_plus", "reinforce_plus_plus_baseline"])
            .default("grpo")
            .meta({ description: "`--advantage-estimator`." }),
        normalizeAdvantages: z.boolean().optional().meta({ description: "`--normalize-advantages`. Unset: on for the reinforce++ estimators (which require it), off otherwise." }),
        nSamplesPerPrompt: posInt().default(8).meta({ description: "`--n-samples-per-prompt` (group size)." }),
        rolloutBatchSize: posInt().default(32).meta({ description: "`--rollout-batch-size`: prompts per rollout." }),
        globalBatchSize: posInt().optional().meta({ description: "`--global-batch-size`: samples per optimizer step. Default: rolloutBatchSize × nSamplesPerPrompt ÷ numStepsPerRollout." }),
        numStepsPerRollout: posInt().optional().meta({ description: "`--num-steps-per-rollout`: optimizer steps per rollout. Default: 1 when globalBatchSize is unset." }),
        numRollout: posInt().default(3000).meta({ description: "`--num-rollout`: rollouts (generate + train iterations) of the run." }),
        microBatchSize: posInt().default(1).meta({ description: "`--micro-batch-size`." }),
        dynamicBatch: z
            .strictObject({
                enabled: z.boolean().default(true).meta({ description: "`--use-dynamic-batch-size`: pack micro-batches by tokens." }),
                maxTokensPerGpu: posInt().default(9216).meta({ description: "`--max-tokens-per-gpu`." }),
            })
            .prefault({})
            .meta({ description: "Dynamic (token-budget) micro-batching." }),
        balanceData: z.boolean().default(false).meta({ description: "`--balance-data`: rebalance each rollout batch across DP ranks by token count (almost every miles recipe passes it)." }),
        dynamicGlobalBatchSize: z
            .boolean()
            .default(false)
            .meta({ description: "`--use-dynamic-global-batch-size`: the global batch follows the samples collected (needs dynamicBatch.enabled)." }),
        logProbsChunkSize: posInt().optional().meta({ description: "`--log-probs-chunk-size`: compute log-probs in chunks of this many tokens to cap memory. Unset: no chunking (miles' -1)." }),
        accumulateAllreduceGradsInFp32: z
            .boolean()
            .default(true)
            .meta({ description: "`--accumulate-allreduce-grads-in-fp32` (every miles launcher passes it; Megatron's default is off). false: no flag, BF16 gradient buffers." }),
        lr: z.number().positive().default(1e-6).meta({ description: "`--lr`." }),
        lrDecayStyle: z.enum(["constant", "linear", "cosine", "inverse-square-root", "WSD"]).default("constant").meta({ description: "`--lr-decay-style`." }),
        weightDecay: z.number().min(0).default(0.1).meta({ description: "`--weight-decay`." }),
        adamBeta1: prob().default(0.9).meta({ description: "`--adam-beta1`." }),
        adamBeta2: prob().default(0.98).meta({ description: "`--adam-beta2`." }),
        clipGrad: z.number().positive().default(1.0).meta({ description: "`--clip-grad`." }),
        kl: KlSchema,
        entropyCoef: z.number().min(0).default(0).meta({ description: "`--entropy-coef`." }),
        epsClip: z.number().positive().default(0.2).meta({ description: "`--eps-clip`." }),
        epsClipHigh: z.number().positive().optional().meta({ description: "`--eps-clip-high` (DAPO clip-higher, e.g. 0.28)." }),
        seed: nonNegInt().default(1234).meta({ description: "`--seed`." }),
    })
    .prefault({})
    .meta({ description: "RL algorithm, batch sizes and optimizer." });

/**
 * SGLang engine knobs miles passes through as `--sglang-<server flag>` (miles/backends/sglang_utils/arguments.py
 * adds every ServerArgs field; choices from shared/miles/sglang-server-flags.tsv). Each is unset by default:
 * no flag, SGLang's own default.
 */
const SglangSchema = z
    .strictObject({
        attentionBackend: z
            .enum(["triton", "torch_native", "flex_attention", "fa3", "fa4", "flashinfer", "flashmla", "cutlass_mla", "trtllm_mla", "trtllm_mha", "nsa", "dsa", "aiter"])
            .optional()
            .meta({ description: "`--sglang-attention-backend`." }),
        kvCacheDtype: z
            .enum(["auto", "fp8_e5m2", "fp8_e4m3", "bf16", "bfloat16"])
            .optional()
            .meta({ description: "`--sglang-kv-cache-dtype`. `features.fp8KvCache` is the same as `fp8_e4m3`; set one of them." }),
        moeRunnerBackend: z
            .enum(["auto", "deep_gemm", "triton", "triton_kernel", "flashinfer_trtllm", "flashinfer_trtllm_routed", "flashinfer_cutlass", "flashinfer_mxfp4", "cutlass", "marlin"])
            .optional()
            .meta({ description: "`--sglang-moe-runner-backend` (MoE expert kernels)." }),
        moeA2aBackend: z.enum(["none", "deepep", "mooncake"]).optional().meta({ description: "`--sglang-moe-a2a-backend` (expert all-to-all; `deepep` for DeepEP)." }),
        deepepMode: z.enum(["auto", "normal", "low_latency"]).optional().meta({ description: "`--sglang-deepep-mode` (with moeA2aBackend `deepep`)." }),
        epSize: posInt().optional().meta({ description: "`--sglang-ep-size`: expert-parallel size inside an engine (divides layout.gpusPerEngine)." }),
        dpAttention: z
            .strictObject({
                dpSize: posInt().meta({ description: "`--sglang-dp-size`: attention data-parallel groups inside an engine (divides layout.gpusPerEngine)." }),
                lmHead: z.boolean().default(false).meta({ description: "`--sglang-enable-dp-lm-head`." }),
                moeDenseTpSize: posInt().optional().meta({ description: "`--sglang-moe-dense-tp-size` (SGLang accepts only 1)." }),
            })
            .optional()
            .meta({ description: "`--sglang-enable-dp-attention` with its sizes (DeepSeek/GLM/Kimi recipes)." }),
        cudaGraphMaxBs: posInt().optional().meta({ description: "`--sglang-cuda-graph-max-bs`: largest batch captured in a CUDA graph." }),
        cudaGraphBs: z.array(posInt()).min(1).optional().meta({ description: "`--sglang-cuda-graph-bs`: the batch sizes captured (instead of cudaGraphMaxBs).", examples: [[1, 2, 4, 8, 16, 32, 64, 128, 256]] }),
        chunkedPrefillSize: z
            .number()
            .int("must be a whole number")
            .refine((v) => v === -1 || v >= 1, "must be -1 (no chunking) or 1 or more")
            .optional()
            .meta({ description: "`--sglang-chunked-prefill-size` in tokens (-1: no chunked prefill)." }),
        maxRunningRequests: posInt().optional().meta({ description: "`--sglang-max-running-requests` per engine." }),
        maxTotalTokens: posInt()
            .optional()
            .meta({ description: "`--sglang-max-total-tokens`: cap on an engine's KV pool in tokens; SGLang allocates the smaller of this and what mem-fraction-static leaves (model_runner_kv_cache_mixin.py `init_memory`)." }),
        pageSize: posInt().optional().meta({ description: "`--sglang-page-size` (KV cache page, e.g. 64 for NSA)." }),
    })
    .prefault({})
    .meta({ description: "SGLang engine settings (`--sglang-*`); unset fields leave SGLang's defaults." });

const RolloutSchema = z
    .strictObject({
        temperature: z.number().min(0).default(1.0).meta({ description: "`--rollout-temperature`." }),
        topP: z.number().gt(0).max(1).default(1.0).meta({ description: "`--rollout-top-p`." }),
        maxResponseLen: posInt().default(8192).meta({ description: "`--rollout-max-response-len`: max new tokens per response." }),
        maxPromptLen: posInt().optional().meta({ description: "`--rollout-max-prompt-len`: drop longer prompts." }),
        maxContextLen: posInt().optional().meta({ description: "`--rollout-max-context-len`." }),
        memFractionStatic: z.number().gt(0).lt(1).default(0.7).meta({ description: "`--sglang-mem-fraction-static`: GPU memory share of the SGLang engines." }),
        sglang: SglangSchema,
        weightTransfer: z
            .strictObject({
                mode: z
                    .enum(["broadcast", "p2p", "disk-delta"])
                    .default("broadcast")
                    .meta({
                        description:
                            "`--update-weight-transfer-mode` of a disaggregated run: `broadcast` (NCCL from the actor to the engines, miles' default), `p2p` (RDMA straight into each engine), `disk-delta` (XOR deltas through a shared directory). Colocated runs hand weights over through CUDA IPC whatever this says, and miles refuses p2p and disk-delta with `--colocate`.",
                    }),
                diskDir: absPath().optional().meta({ description: "`--update-weight-disk-dir` (disk-delta): a directory on the file system the actor and the engines share, e.g. under /shared." }),
                localCheckpointDir: absPath().optional().meta({ description: "`--update-weight-local-checkpoint-dir` (disk-delta): a directory local to each rollout host (e.g. node NVMe), not the shared volume." }),
                bufferSizeMiB: posInt().optional().meta({ description: "`--update-weight-buffer-size` in MiB (miles' default 512; big-MoE recipes use 4096)." }),
            })
            .prefault({})
            .meta({ description: "How new weights reach the SGLang engines after each training step." }),
    })
    .prefault({})
    .meta({ description: "Rollout sampling and SGLang engine settings." });

const EvalDatasetSchema = z.strictObject({
    name: argValue().meta({ description: "Name the eval metrics are logged under (e.g. `aime`)." }),
    path: absPath().meta({ description: "JSONL/parquet prompt file on the shared volume.", examples: ["/shared/data/aime-2024/aime-2024.jsonl"] }),
});

const EvalSchema = z
    .strictObject({
        interval: posInt().optional().meta({ description: "`--eval-interval`: evaluate every N rollouts. Unset: no evaluation during training." }),
        datasets: z.array(EvalDatasetSchema).default([]).meta({ description: "`--eval-prompt-data name path …`: the eval sets (download them to the shared volume yourself, e.g. with data.hfDataset in another run)." }),
        nSamplesPerPrompt: posInt().default(1).meta({ description: "`--n-samples-per-eval-prompt`." }),
        maxResponseLen: posInt().optional().meta({ description: "`--eval-max-response-len`. Unset: the rollout's." }),
        temperature: z.number().min(0).optional().meta({ description: "`--eval-temperature`." }),
        topP: z.number().gt(0).max(1).optional().meta({ description: "`--eval-top-p`." }),
        numGpus: nonNegInt().default(0).meta({ description: "`--eval-num-gpus`: a dedicated eval fleet fed by HF snapshots (counted in the GPU math; disaggregated runs only). 0: evaluate on the rollout engines." }),
        numGpusPerEngine: posInt().default(1).meta({ description: "`--eval-num-gpus-per-engine` (must divide numGpus)." }),
        hfDir: absPath().optional().meta({ description: "`--eval-hf-dir`: staging directory of the eval fleet's HF snapshots. Unset with numGpus > 0: the HF exports of checkpoints.exportHf are reused." }),
    })
    .prefault({})
    .meta({ description: "Evaluation during training (miles `add_eval_arguments`)." });

const DataSchema = z
    .strictObject({
        promptData: absPath().optional().meta({ description: "`--prompt-data` (JSONL/parquet). Default: /shared/data/<dataset name>/<dataset name>.jsonl of `hfDataset`." }),
        hfDataset: hfRepoId()
            .nullable()
            .default("zhuzilin/dapo-math-17k")
            .meta({ description: "Hugging Face dataset downloaded to /shared/data/<name> by the download job. `null`: bring your own data (set `promptData`)." }),
        inputKey: argValue().default("prompt").meta({ description: "`--input-key`." }),
        labelKey: argValue().nullable().default("label").meta({ description: "`--label-key`; `null` for prompt-only data." }),
        applyChatTemplate: z.boolean().default(true).meta({ description: "`--apply-chat-template`." }),
        chatTemplatePath: absPath().optional().meta({ description: "`--chat-template-path`." }),
        rmType: z
            .enum(["remote_rm", "deepscaler", "gemma_math", "dapo", "math", "f1", "gpqa", "ifbench", "random", "deterministic_random"])
            .default("deepscaler")
            .meta({ description: "`--rm-type`: built-in reward function." }),
        rmUrl: safeUrl().optional().meta({ description: "`--rm-url` for `rmType: remote_rm`." }),
        shuffle: z.boolean().default(true).meta({ description: "`--rollout-shuffle`." }),
    })
    .prefault({})
    .meta({ description: "Prompt data and reward." });

const FeaturesSchema = z
    .strictObject({
        fp8Training: z
            .boolean()
            .default(false)
            .meta({ description: "FP8 training: `--transformer-impl transformer_engine --bf16 --fp8-format e4m3 --fp8-recipe blockwise` and `NVTE_FP8_BLOCK_SCALING_FP32_SCALES=1` (Hopper)." }),
        fp8Rollout: z.boolean().default(false).meta({ description: "FP8 rollout: engines load an FP8 checkpoint (`model.rolloutCheckpoint`, made by the convert job) while `--ref-load` stays BF16." }),
        fp8KvCache: z.boolean().default(false).meta({ description: "`--sglang-kv-cache-dtype fp8_e4m3`." }),
        int4Qat: z
            .strictObject({
                enabled: z.boolean().default(false).meta({ description: "INT4 QAT (W4A16): `OPEN_TRAINING_INT4_FAKE_QAT_FLAG=1` and an INT4 rollout checkpoint." }),
                groupSize: posInt().default(128).meta({ description: "`OPEN_TRAINING_INT4_GROUP_SIZE` and the converter's `--group-size`." }),
            })
            .prefault({})
            .meta({ description: "INT4 quantization-aware training." }),
        routingReplay: z.boolean().default(false).meta({ description: "R3: `--use-rollout-routing-replay` (SGLang returns the routed experts; MoE only)." }),
        tis: z
            .strictObject({
                enabled: z.boolean().default(false).meta({ description: "Truncated importance sampling: `--use-tis`." }),
                clip: z.number().positive().default(2.0).meta({ description: "`--tis-clip`." }),
                clipLow: z.number().min(0).default(0).meta({ description: "`--tis-clip-low`." }),
            })
            .prefault({})
            .meta({ description: "TIS (train/inference mismatch correction)." }),
        mis: z
            .strictObject({
                enabled: z
                    .boolean()
                    .default(false)
                    .meta({ description: "Masked importance sampling: `--custom-tis-function-path examples.infra_features.train_infer_mismatch_helper.mis.compute_mis_weights_with_cp` with its config passed inline as `--custom-config-path base64:<yaml>` (miles' pseudo-file, `miles/utils/file_arg_utils.py`). Replaces tis." }),
                useRs: z.boolean().default(true).meta({ description: "`use_rs`: rejection sampling of tokens/sequences outside the RS bounds." }),
                tisLevel: z.enum(["token", "sequence", "geometric"]).default("token").meta({ description: "`tis_level`." }),
                rsLevel: z.enum(["token", "sequence", "geometric"]).default("token").meta({ description: "`rs_level`." }),
                tisMode: z.enum(["truncate", "clip", "mask"]).default("truncate").meta({ description: "`tis_mode`." }),
                tisLowerBound: z.number().min(0).default(0.5).meta({ description: "`tis_lower_bound`." }),
                tisUpperBound: z.number().positive().default(2.0).meta({ description: "`tis_upper_bound`." }),
                rsLowerBound: z.number().min(0).nullable().default(null).meta({ description: "`rs_lower_bound` (null: none)." }),
                rsUpperBound: z.number().positive().nullable().default(null).meta({ description: "`rs_upper_bound` (null: none)." }),
                rsVetoThreshold: z.number().min(0).default(1e-4).meta({ description: "`rs_veto_threshold`." }),
                tisBatchNormalize: z.boolean().default(true).meta({ description: "`tis_batch_normalize` (token or sequence tisLevel only)." }),
            })
            .prefault({})
            .meta({ description: "MIS with the defaults of miles v0.1.0 scripts/run_qwen3_4b.py (`--enable-mis`)." }),
        lora: z
            .strictObject({
                rank: nonNegInt().default(0).meta({ description: "`--lora-rank`; 0: no LoRA (full-parameter training)." }),
                alpha: posInt().default(16).meta({ description: "`--lora-alpha` (miles' default 16)." }),
                dropout: z.number().min(0).lt(1).default(0).meta({ description: "`--lora-dropout`." }),
                type: z.enum(["lora", "canonical_lora"]).default("lora").meta({ description: "`--lora-type`." }),
                targetModules: argValue().optional().meta({ description: "`--target-modules`: `all-linear` or comma-separated module names (required with rank > 0).", examples: ["all-linear"] }),
                excludeModules: argValue().optional().meta({ description: "`--exclude-modules`." }),
                adapterPath: absPath().optional().meta({ description: "`--lora-adapter-path`: adapter to start from." }),
            })
            .prefault({})
            .meta({ description: "LoRA adapters instead of full-parameter training (miles `add_lora_arguments`)." }),
        useRolloutLogprobs: z.boolean().default(false).meta({ description: "`--use-rollout-logprobs` (excludes TIS)." }),
        speculative: z
            .strictObject({
                enabled: z.boolean().default(false).meta({ description: "Speculative decoding in the SGLang engines." }),
                algorithm: z.enum(["EAGLE", "EAGLE3", "NEXTN"]).default("EAGLE").meta({ description: "`--sglang-speculative-algorithm`." }),
                numSteps: posInt().default(3).meta({ description: "`--sglang-speculative-num-steps`." }),
                eagleTopk: posInt().default(1).meta({ description: "`--sglang-speculative-eagle-topk`." }),
                numDraftTokens: posInt().default(4).meta({ description: "`--sglang-speculative-num-draft-tokens`." }),
                draftModelPath: absPath().optional().meta({ description: "`--sglang-speculative-draft-model-path` (external draft model); unset = the model's own MTP head." }),
            })
            .prefault({})
            .meta({ description: "Speculative decoding (EAGLE / MTP drafts)." }),
        mtp: z
            .strictObject({
                numLayers: nonNegInt().optional().meta({ description: "`--mtp-num-layers` (also passed to the torch_dist conversion). Default: the preset's own value." }),
                training: z.boolean().default(false).meta({ description: "`--enable-mtp-training`: train the MTP layers online (needs numLayers ≥ 1)." }),
                lossScalingFactor: z.number().positive().default(0.2).meta({ description: "`--mtp-loss-scaling-factor`." }),
            })
            .prefault({})
            .meta({ description: "Multi-token prediction layers." }),
        partialRollout: z
            .strictObject({
                enabled: z.boolean().default(false).meta({ description: "`--partial-rollout`: keep unfinished samples for the next rollout." }),
                overSamplingBatchSize: posInt().optional().meta({ description: "`--over-sampling-batch-size` (≥ rolloutBatchSize)." }),
                dynamicSamplingFilterPath: z
                    .string()
                    .regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, "must be a dotted Python path")
                    .optional()
                    .meta({ description: "`--dynamic-sampling-filter-path`.", examples: ["miles.rollout.filter_hub.dynamic_sampling_filters.check_reward_nonzero_std"] }),
            })
            .prefault({})
            .meta({ description: "Partial rollout and dynamic sampling." }),
        trueOnPolicy: z
            .boolean()
            .default(false)
            .meta({
                description:
                    "True on-policy (bitwise-equal rollout and training log-probs), exactly as miles v0.1.0 builds it (`miles/true_on_policy/config.py`): the model's contract (`--true-on-policy-contract`, `--sglang-true-on-policy-contract`, `--sglang-attention-backend fa3`, `--sglang-enable-deterministic-inference`), `--transformer-impl local --use-cpu-initialization --batch-invariant-mode --no-bias-swiglu-fusion --no-rope-fusion`, `--deterministic-mode --true-on-policy-mode --recompute-logprobs-via-prefill`, `--cp-comm-type a2a` with CP > 1, and `NCCL_ALGO=Ring NVTE_ALLOW_NONDETERMINISTIC_ALGO=0 CUBLAS_WORKSPACE_CONFIG=:4096:8`. Only for models miles has a profile for (qwen3-0.6B, qwen3-4B, qwen3-4B-Instruct-2507); sequence parallelism and FP8 training are refused.",
            }),
        deterministicTraining: z
            .boolean()
            .default(false)
            .meta({
                description:
                    "Deterministic Megatron training: `--deterministic-mode` and `NCCL_ALGO=Ring NVTE_ALLOW_NONDETERMINISTIC_ALGO=0 CUBLAS_WORKSPACE_CONFIG=:4096:8`, as miles v0.1.0 scripts/run_deepseek_v4.py passes by default (`train_deterministic`). Without the rest of true on-policy; `features.trueOnPolicy` implies it.",
            }),
        faultTolerance: z
            .strictObject({
                enabled: z.boolean().default(true).meta({ description: "`--use-fault-tolerance`: engine health checks and restart (on in most miles launchers)." }),
                healthCheckFirstWait: z.number().min(0).default(300).meta({ description: "`--rollout-health-check-first-wait` in seconds (DeepGEMM warm-up can be slow)." }),
            })
            .prefault({})
            .meta({ description: "Rollout fault tolerance." }),
    })
    .prefault({})
    .meta({ description: "miles features, each a switch that emits the real flags and env." });

/** Default retention: every 25th save is kept (500 rollouts with saveInterval 20), plus the latest. */
export const RETAIN_EVERY_N_SAVES = 25;

const CheckpointsSchema = z
    .strictObject({
        dir: absPath().optional().meta({ description: "`--save` and `--load` (the same directory, so every restart resumes). Default: /shared/checkpoints/<runName>." }),
        saveInterval: posInt().default(20).meta({ description: "`--save-interval` in rollouts." }),
        retainInterval: posInt()
            .nullable()
            .optional()
            .meta({
                description: `\`--save-retain-interval\` (a multiple of saveInterval): Megatron deletes each previous checkpoint once the next is written, unless its iteration is a multiple of N. miles saves at 0-based rollout ids (saveInterval − 1, 2·saveInterval − 1, …), so with saveInterval > 1 none is kept for good: only the latest stays (2 at the peak; docs/storage.md). Default: ${RETAIN_EVERY_N_SAVES} × saveInterval. \`null\`: keep every checkpoint (the storage default is sized for all of them).`,
            }),
        exportHf: z
            .strictObject({
                enabled: z.boolean().default(false).meta({ description: "`--save-hf <dir>/{rollout_id}`: also write the policy as a Hugging Face checkpoint at every save (miles exports on each `--save`, the last one included)." }),
                dir: absPath().optional().meta({ description: "Parent directory of the exports. Default: <checkpoints.dir>/hf, under /shared/checkpoints, which the default storage link exports to S3." }),
            })
            .prefault({})
            .meta({ description: "Export of the trained policy in Hugging Face format." }),
    })
    .transform((c) => ({ ...c, retainInterval: c.retainInterval === undefined ? RETAIN_EVERY_N_SAVES * c.saveInterval : c.retainInterval }))
    .prefault({})
    .meta({ description: "Training checkpoints on the shared volume." });

const WandbSchema = z
    .strictObject({
        enabled: z.boolean().default(false).meta({ description: "`--use-wandb`." }),
        project: argValue().default("miles").meta({ description: "`--wandb-project`." }),
        group: argValue().optional().meta({ description: "`--wandb-group`. Default: the run name." }),
        team: argValue().optional().meta({ description: "`--wandb-team`." }),
        host: safeUrl().optional().meta({ description: "`--wandb-host` (self-hosted W&B)." }),
        apiKey: z.string().min(1).optional().meta({ description: "W&B API key (a Pulumi secret), given to the pods as `WANDB_API_KEY` from a Kubernetes Secret." }),
    })
    .prefault({})
    .meta({ description: "Weights & Biases logging." });

const TensorboardSchema = z
    .strictObject({
        enabled: z.boolean().default(false).meta({ description: "`--use-tensorboard`." }),
        dir: absPath().optional().meta({ description: "`TENSORBOARD_DIR`. Default: <checkpoints.dir>/tensorboard." }),
    })
    .prefault({})
    .meta({ description: "TensorBoard logging." });

const PrometheusSchema = z
    .strictObject({
        enabled: z
            .boolean()
            .optional()
            .meta({ description: "`--use-prometheus`: miles' metrics endpoint on the head (scraped by the monitoring stack). Default: on when `addons.monitoring` is on, off otherwise." }),
        port: z.number().int().min(1024).max(65535).default(9090).meta({ description: "`--prometheus-port` and `PROMETHEUS_PORT` (set explicitly: a Service named prometheus would otherwise inject tcp://… into it)." }),
    })
    .prefault({})
    .meta({ description: "Prometheus metrics." });

const ResourcesSchema = z
    .strictObject({
        headCpu: posInt().default(2).meta({ description: "CPU cores of the Ray head pod (driver, RolloutManager, router); Ray CPUs = this. Sized to fit the default m7i.xlarge system nodes (4 vCPU, 16 GiB)." }),
        headMemoryGiB: posInt()
            .optional()
            .meta({ description: "Memory of the Ray head pod in GiB (request = limit). Default: derived from the run — 8 GiB for the driver, RolloutManager and router, plus R3's routed-expert arrays of one rollout batch (features.routingReplay). A smaller setting is a warning; raise it, and the system node size, for large datasets." }),
        headNodeSelector: z.record(z.string(), z.string()).default({}).meta({ description: "Node selector of the head pod (it runs on untainted system nodes)." }),
        workerCpu: posInt().optional().meta({ description: "CPU request of each GPU worker pod. Default: the instance's vCPUs minus 8 (kubelet, daemonsets)." }),
        workerMemoryGiB: posInt().optional().meta({ description: "Memory of each GPU worker pod in GiB. Default: 88% of the instance's memory." }),
        shmGiB: posInt().default(256).meta({ description: "Size of the memory-backed /dev/shm of each worker (NCCL, Ray object store); counts against the pod memory." }),
        memoryFitCheck: z
            .enum(["error", "warn"])
            .default("error")
            .meta({
                description:
                    "What `plan` does when the per-GPU (or host) memory estimate exceeds the GPU (node): `error` rejects the layout before any GPU is paid for; `warn` only reports it — for a layout measured to fit on a real cluster (the estimate is not a measurement; see docs/memory-fit.md).",
            }),
    })
    .prefault({})
    .meta({ description: "Pod sizing." });

const NetworkSchema = z
    .strictObject({
        efa: z.boolean().default(true).meta({ description: "Request the node's EFA devices and set the libfabric env (only on instances with EFA). The image must contain libfabric and aws-ofi-nccl for NCCL to use them." }),
        nvls: z.boolean().default(true).meta({ description: "`NCCL_NVLS_ENABLE` (NVLink SHARP; H100/H200 NVSwitch systems support it)." }),
        hugepages2MiMi: nonNegInt()
            .default(5120)
            .meta({
                description:
                    "2 MiB huge pages (MiB) each EFA worker pod requests for libfabric (the AWS EKS EFA example uses 5120Mi; the EFA installer on the accelerated AMIs reserves them). 0: request none — use it if your nodes reserve no huge pages, or the pods stay Pending.",
            }),
    })
    .prefault({})
    .meta({ description: "NCCL transport." });

const FabricGateSchema = z
    .strictObject({
        enabled: z.boolean().default(true).meta({ description: "Run the fabric gate before the RayJob: an NCCL all-reduce on the run's GPU nodes that fails `pulumi up` when NCCL did not use EFA (or RDMA) between nodes or the bus bandwidth is below the threshold. Off: the RayJob starts without the check." }),
        minBusBandwidthGBps: z
            .number()
            .positive("must be more than 0")
            .optional()
            .meta({ description: "Bus bandwidth (GB/s, nccl-tests `busbw`) the all-reduce must reach. Default: a share of the published reference of the instance type (catalog/fabric.ts; plan shows it and its source); required for a useful check on nodes miles-cluster knows no reference for." }),
        messageSizeMiB: posInt().max(16384, "must be at most 16384").default(8192).meta({ description: "Largest all-reduce message in MiB (the figure compared is the bus bandwidth at this size; the reference was published at 8 GiB)." }),
        iterations: posInt().max(1000, "must be at most 1000").default(20).meta({ description: "Timed all-reduce iterations per message size (after 5 warm-up ones)." }),
        timeoutMinutes: posInt().default(30).meta({ description: "How long the gate Job may run (its activeDeadlineSeconds, image pull included). Without Kueue `pulumi up` waits that long for it; with Kueue the Job is queued, `pulumi up` does not wait, and the minutes count from its admission." }),
    })
    .prefault({})
    .meta({ description: "Fabric gate: measured all-reduce bandwidth on the run's nodes before the RayJob is created." });

const ModelPrepSchema = z
    .strictObject({
        download: z.boolean().default(true).meta({ description: "Run the Job that downloads the HF checkpoint (and dataset) to the shared volume (skipped when already there)." }),
        convert: z.boolean().default(true).meta({ description: "Run the Job that converts the checkpoint to torch_dist (and FP8/INT4 rollout variants); skipped when done." }),
        timeoutMinutes: posInt().default(360).meta({ description: "How long `pulumi up` waits for each preparation Job (Pulumi awaits Job completion). With Kueue the convert Job (it takes GPUs) is queued and not awaited." }),
    })
    .prefault({})
    .meta({ description: "Checkpoint preparation Jobs that run before the RayJob." });

const LifecycleSchema = z
    .strictObject({
        backoffLimit: nonNegInt().default(2).meta({ description: "RayJob `backoffLimit`: retries, each on a new Ray cluster, resuming from the last checkpoint." }),
        shutdownAfterJobFinishes: z.boolean().default(true).meta({ description: "Delete the Ray cluster when the job ends (frees the GPUs)." }),
        ttlSecondsAfterFinished: nonNegInt().default(600).meta({ description: "Seconds the finished Ray cluster stays for log inspection." }),
        activeDeadlineSeconds: posInt().optional().meta({ description: "Wall-clock limit of the whole RayJob." }),
        preRunningDeadlineSeconds: posInt().default(3600).meta({ description: "Fail when the job is not running after this many seconds (nodes never came, image pull stuck)." }),
        suspend: z
            .boolean()
            .default(false)
            .meta({ description: "RayJob `suspend`: stop the run and free the GPUs, keeping the RayJob and the checkpoints; set back to false to resume from the last checkpoint." }),
        submitterBackoffLimit: nonNegInt().default(3).meta({ description: "`submitterConfig.backoffLimit` of the `ray job submit` Kubernetes Job." }),
        onRunningChange: z
            .enum(["save-then-replace", "refuse", "restart"])
            .default("save-then-replace")
            .meta({
                description:
                    "What `pulumi up` does when a change replaces the RayJob (any spec change but `suspend`) while the run is Running. `save-then-replace`: a Job first makes miles save (its --save-trigger-sentinel) and waits for the checkpoint and its export to S3; if that does not finish within saveTimeoutMinutes the deploy fails and the run keeps running. `refuse`: the deploy fails while the run is Running. `restart`: replace at once, losing the steps since the last periodic save.",
            }),
        saveTimeoutMinutes: posInt()
            .default(30)
            .meta({ description: "How long the pre-replacement save waits for the run to reach its next save point and write the checkpoint (then as long again for the export)." }),
    })
    .prefault({})
    .meta({ description: "RayJob lifecycle." });

/** A run's name: the RayJob's, its submitter Job's and its checkpoint directory's. */
export const RUN_NAME = /^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$/;
function runNameSchema() {
    return z.string().regex(RUN_NAME, "must be 1-32 lowercase letters, digits or '-', starting with a letter");
}

export const TrainingSchema = z
    .strictObject({
        enabled: z.boolean().default(true).meta({ description: "Create the training job. Turn off to provision only the cluster." }),
        namespace: z
            .string()
            .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a DNS-1123 label (lowercase letters, digits, '-')")
            .default("miles")
            .meta({ description: "Kubernetes namespace of the training job, its storage claim and service account." }),
        runName: runNameSchema()
            .optional()
            .meta({ description: "Name of the RayJob and of its checkpoint directory. Default: miles-<stack>." }),
        entry: z.enum(["train.py", "train_async.py"]).default("train.py").meta({ description: "miles entry script; train_async.py overlaps rollout and training and cannot be colocated." }),
        image: ImageSchema,
        model: ModelSchema,
        nodeGroup: z.string().optional().meta({ description: "Name of the GPU node group the run uses. Default: the first one." }),
        nodeGroups: z
            .array(z.string())
            .min(1, "must name at least one GPU node group")
            // Kueue admits at most 18 PodSets per job: the head, the submitter and the worker groups
            // (kubernetes-sigs/kueue v0.19.2 pkg/controller/jobframework/constants.go MaxPodSets).
            .max(16, "must name at most 16 node groups (a queued RayJob has at most 18 PodSets: the head, the submitter and one per worker group)")
            .optional()
            .meta({
                description:
                    "Instead of `nodeGroup`: several GPU node groups of one instance type the run spans (e.g. two Capacity Blocks, or a block and an ODCR), filled in this order: one Ray worker group per node group, the GPU math, the fabric gate and the Kueue admission over all of them. Groups in different placement groups (or Capacity Blocks) have no guaranteed bandwidth between them; `plan` says so.",
                examples: [["h200-block-a", "h200-block-b"]],
            }),
        layout: LayoutSchema,
        parallelism: ParallelismField,
        offload: OffloadSchema,
        algorithm: AlgorithmSchema,
        rollout: RolloutSchema,
        data: DataSchema,
        features: FeaturesSchema,
        eval: EvalSchema,
        checkpoints: CheckpointsSchema,
        wandb: WandbSchema,
        tensorboard: TensorboardSchema,
        prometheus: PrometheusSchema,
        hfToken: z.string().min(1).optional().meta({ description: "Hugging Face token (a Pulumi secret) for gated repos, used by the download Job." }),
        resources: ResourcesSchema,
        network: NetworkSchema,
        modelPrep: ModelPrepSchema,
        fabricGate: FabricGateSchema,
        lifecycle: LifecycleSchema,
        priority: z
            .enum(["low", "normal", "high"])
            .default("normal")
            .meta({
                description:
                    "Queue priority of the run (Kueue WorkloadPriorityClass `<clusterQueue>-<priority>`, label `kueue.x-k8s.io/priority-class`): a waiting run of higher priority is admitted first; with `addons.kueue.preemption: LowerPriority` it also evicts lower-priority running runs.",
            }),
        runs: z
            .record(runNameSchema(), z.record(z.string(), z.unknown()))
            .optional()
            .meta({
                description:
                    "Several named runs on this cluster, queued together (each a RayJob in the LocalQueue). Each key is a run's name (RayJob, checkpoint directory /shared/checkpoints/<name>); each value holds training fields that override the ones of this section for that run (mappings merge, lists and values replace). `namespace`, `runName` and `runs` cannot be overridden. Unset: one run, this section.",
                examples: [{ "grpo-a": { algorithm: { lr: 1e-6 } }, "grpo-b": { algorithm: { lr: 2e-6 }, priority: "high" } }],
            }),
        extraArgs: z
            .array(z.string().min(1).regex(ARG_TOKEN, ARG_TOKEN_MSG))
            .superRefine(noCredentialArgs)
            .default([])
            .meta({ description: "More train.py argv, appended last: flags start with `--`, each may be followed by its values; no flag the config already generates.", examples: [["--rollout-top-k", "20"]] }),
        extraEnv: z
            .record(envName(), z.string())
            .superRefine(noCredentialEnv)
            .default({})
            .meta({ description: "More environment variables of every Ray pod (plaintext: credentials are rejected, use `secretEnv`); no variable the config already generates.", examples: [{ NCCL_DEBUG: "INFO" }] }),
        secretEnv: z
            .record(envName(), z.string().min(1, "must not be empty"))
            .default({})
            .meta({
                description:
                    "Environment variables of every Ray pod whose values are Pulumi secrets (reward-model API keys, MLflow tokens): each set with `pulumi config set --secret --path 'miles-cluster:training.secretEnv.<NAME>' <value>`, stored in the run's Kubernetes Secret and read through `secretKeyRef`.",
                examples: [{ RM_API_KEY: "<secret>" }],
            }),
    })
    .meta({ description: "The miles RL training run." });

export type TrainingConfig = z.output<typeof TrainingSchema>;

/** Paths (relative to `training`) that hold secrets and must be set with `pulumi config set --secret`. */
export const trainingSecretPaths: string[][] = [["wandb", "apiKey"], ["hfToken"], ["secretEnv", "*"]];


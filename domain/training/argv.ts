/**
 * The miles command line and environment of a run, built from the validated training config.
 * Pure: `python3 /root/miles/train.py <architecture args> <generated flags> <extraArgs>`, grouped the
 * way miles' launchers group their arrays (cluster, ckpt, rollout, perf, algorithm, optimizer,
 * precision, mtp, sglang, fault tolerance, wandb/tensorboard/prometheus, misc), and the env of every
 * Ray pod. Every generated flag is one `train.py` really defines (test/flags.test.ts proves it
 * against the flag tables in shared/miles).
 */
import type { TrainingConfig } from "../../config";
import { archArgsWithoutMtp, type ResolvedTraining } from "./resolve";
import { DETERMINISTIC_ENV, trueOnPolicyLaunch, trueOnPolicyProfile } from "./trueOnPolicy";
import { OFI_NCCL_NET_NAME } from "../../catalog/fabric";

/** One group of flags, as miles' launchers keep them (`CKPT_ARGS`, `ROLLOUT_ARGS`, …). */
export interface ArgGroup {
    name: string;
    args: string[];
}

export interface EnvVar {
    name: string;
    value: string;
    /** Only on the GPU worker pods (e.g. the EFA/libfabric env: the head has no EFA device). */
    workersOnly?: boolean;
}

/** An env var read from the run's Kubernetes Secret. */
export interface SecretEnvVar {
    name: string;
    /** Key in the Secret. */
    secretKey: string;
}

export interface MilesCommand {
    /** Script path inside the image, e.g. /root/miles/train.py. */
    script: string;
    groups: ArgGroup[];
    /** All args after the script: architecture, generated groups, then extraArgs. */
    argv: string[];
    /** The generated args only (no architecture args, no extraArgs). */
    generated: string[];
    /** The shell command the RayJob submits. */
    entrypoint: string;
    /** Env of every Ray pod (head and workers), generated then extraEnv. */
    env: EnvVar[];
    /** Names of the generated env vars (extraEnv must not repeat them). */
    generatedEnvNames: string[];
    secretEnv: SecretEnvVar[];
}

/** Keys of the run's Kubernetes Secret. */
export const SECRET_KEYS = { wandbApiKey: "wandb-api-key", hfToken: "hf-token" } as const;

/** Key in the run's Secret of one `training.secretEnv` variable (Secret keys allow letters, digits, '-', '_', '.'). */
export function secretEnvKey(name: string): string {
    return `env.${name}`;
}

export const MILES_ROOT = "/root/miles";
export const MEGATRON_ROOT = "/root/Megatron-LM";

/** Quotes one argv token for a POSIX shell when it holds anything but plain characters. */
export function shellQuote(token: string): string {
    return /^[A-Za-z0-9_\-.,/:=@+%]+$/.test(token) ? token : `'${token.replace(/'/g, `'"'"'`)}'`;
}

const num = (n: number): string => String(n);
const flagIf = (on: boolean, ...args: string[]): string[] => (on ? args : []);
const opt = (flag: string, v: string | number | undefined | null): string[] => (v === undefined || v === null ? [] : [flag, String(v)]);
const tri = (v: boolean | undefined, name: string): string[] => (v === undefined ? [] : [v ? `--${name}` : `--no-${name}`]);

function clusterArgs(t: TrainingConfig, r: ResolvedTraining): string[] {
    return [
        "--actor-num-nodes", num(r.actorNodes),
        "--actor-num-gpus-per-node", num(r.actorGpusPerNode),
        "--num-gpus-per-node", num(r.gpusPerNode),
        ...(t.layout.colocate ? ["--colocate"] : ["--rollout-num-gpus", num(r.rolloutGpus)]),
        "--rollout-num-gpus-per-engine", num(t.layout.gpusPerEngine),
        ...opt("--prefill-num-servers", t.layout.prefillNumServers),
        // The head is the only pod that is not a GPU worker: keep the RolloutManager (and its router) there.
        "--pin-rollout-manager-to-head",
        ...tri(t.offload.train, "offload-train"),
        ...tri(t.offload.rollout, "offload-rollout"),
    ];
}

function ckptArgs(t: TrainingConfig, r: ResolvedTraining): string[] {
    return [
        ...opt("--hf-checkpoint", r.paths.rolloutCheckpoint),
        ...opt("--ref-load", r.paths.refLoad),
        "--load", r.paths.checkpointDir,
        "--save", r.paths.checkpointDir,
        "--save-interval", num(t.checkpoints.saveInterval),
        // Requires --save (miles/utils/arguments.py:3078, v0.1.0): a forced save when the file appears.
        "--save-trigger-sentinel", r.paths.saveSentinel,
        ...opt("--save-retain-interval", t.checkpoints.retainInterval),
        ...flagIf(t.model.megatronToHfMode === "bridge", "--megatron-to-hf-mode", "bridge"),
        // miles: "The model will be saved to `save_hf.format(rollout_id)`" (miles/utils/arguments.py --save-hf).
        ...opt("--save-hf", r.paths.hfExport),
    ];
}

/** Evaluation during training (miles `add_eval_arguments`). */
function evalArgs(t: TrainingConfig): string[] {
    const e = t.eval;
    if (e.interval === undefined && e.datasets.length === 0) return [];
    return [
        ...opt("--eval-interval", e.interval),
        ...(e.datasets.length > 0 ? ["--eval-prompt-data", ...e.datasets.flatMap((d) => [d.name, d.path])] : []),
        "--n-samples-per-eval-prompt", num(e.nSamplesPerPrompt),
        ...opt("--eval-max-response-len", e.maxResponseLen),
        ...opt("--eval-temperature", e.temperature),
        ...opt("--eval-top-p", e.topP),
        ...(e.numGpus > 0 ? ["--eval-num-gpus", num(e.numGpus), "--eval-num-gpus-per-engine", num(e.numGpusPerEngine)] : []),
        ...opt("--eval-hf-dir", e.hfDir),
    ];
}

/** Weight transfer to the engines of a disaggregated run (`--update-weight-*`); broadcast and 512 MiB are miles' defaults. */
function weightTransferArgs(t: TrainingConfig): string[] {
    const w = t.rollout.weightTransfer;
    return [
        ...(w.mode !== "broadcast" ? ["--update-weight-transfer-mode", w.mode] : []),
        ...opt("--update-weight-disk-dir", w.diskDir),
        ...opt("--update-weight-local-checkpoint-dir", w.localCheckpointDir),
        ...opt("--update-weight-buffer-size", w.bufferSizeMiB === undefined ? undefined : w.bufferSizeMiB * 1024 * 1024),
    ];
}

/**
 * MIS as miles v0.1.0 scripts/run_qwen3_4b.py `--enable-mis` passes it: the config YAML inline as a
 * `base64:` pseudo-file (miles/utils/file_arg_utils.py `resolve_file_arg`, read by `--custom-config-path`
 * in miles/utils/arguments.py, whose keys override the args) and the MIS weight function.
 */
export const MIS_FUNCTION_PATH = "examples.infra_features.train_infer_mismatch_helper.mis.compute_mis_weights_with_cp";
export function misConfigYaml(t: TrainingConfig): string {
    const m = t.features.mis;
    const v = (x: number | null) => (x === null ? "null" : String(x));
    return [
        "use_tis: true",
        `use_rs: ${m.useRs}`,
        `tis_level: "${m.tisLevel}"`,
        `rs_level: "${m.rsLevel}"`,
        `tis_mode: "${m.tisMode}"`,
        `tis_lower_bound: ${v(m.tisLowerBound)}`,
        `tis_upper_bound: ${v(m.tisUpperBound)}`,
        `rs_lower_bound: ${v(m.rsLowerBound)}`,
        `rs_upper_bound: ${v(m.rsUpperBound)}`,
        `rs_veto_threshold: ${v(m.rsVetoThreshold)}`,
        `tis_batch_normalize: ${m.tisBatchNormalize}`,
    ].join("\n");
}
function misArgs(t: TrainingConfig): string[] {
    if (!t.features.mis.enabled) return [];
    return ["--custom-config-path", `base64:${Buffer.from(misConfigYaml(t)).toString("base64")}`, "--custom-tis-function-path", MIS_FUNCTION_PATH];
}

function rolloutArgs(t: TrainingConfig, r: ResolvedTraining): string[] {
    const d = t.data;
    const a = t.algorithm;
    const ro = t.rollout;
    const pr = t.features.partialRollout;
    return [
        ...opt("--prompt-data", r.paths.promptData),
        "--input-key", d.inputKey,
        ...opt("--label-key", d.labelKey),
        ...flagIf(d.applyChatTemplate, "--apply-chat-template"),
        ...opt("--chat-template-path", d.chatTemplatePath),
        ...flagIf(d.shuffle, "--rollout-shuffle"),
        "--rm-type", d.rmType,
        ...opt("--rm-url", d.rmUrl),
        "--num-rollout", num(a.numRollout),
        "--rollout-batch-size", num(a.rolloutBatchSize),
        "--n-samples-per-prompt", num(a.nSamplesPerPrompt),
        "--rollout-max-response-len", num(ro.maxResponseLen),
        ...opt("--rollout-max-prompt-len", ro.maxPromptLen),
        ...opt("--rollout-max-context-len", ro.maxContextLen),
        "--rollout-temperature", num(ro.temperature),
        "--rollout-top-p", num(ro.topP),
        "--global-batch-size", num(r.globalBatchSize),
        ...opt("--num-steps-per-rollout", a.numStepsPerRollout),
        ...flagIf(a.balanceData, "--balance-data"),
        ...flagIf(a.dynamicGlobalBatchSize, "--use-dynamic-global-batch-size"),
        ...flagIf(pr.enabled, "--partial-rollout"),
        ...opt("--over-sampling-batch-size", pr.overSamplingBatchSize),
        ...opt("--dynamic-sampling-filter-path", pr.dynamicSamplingFilterPath),
    ];
}

function perfArgs(t: TrainingConfig, r: ResolvedTraining): string[] {
    const p = t.parallelism;
    const a = t.algorithm;
    const at = r.effective.attention;
    // The field, or what the model needs (resolve.ts MODEL_ATTENTION); left to extraArgs or Megatron's default otherwise.
    const own = (from: string) => from === "config" || from === "model";
    return [
        ...flagIf(own(at.backendFrom), "--attention-backend", at.backend),
        ...flagIf(own(at.qkvFrom), "--qkv-format", at.qkvFormat),
        // features.trueOnPolicy passes its own (a2a) in its contract group; rules.ts refuses another value with it.
        ...(t.features.trueOnPolicy ? [] : opt("--cp-comm-type", p.cpCommType)),
        ...opt("--moe-token-dispatcher-type", p.moe.tokenDispatcherType),
        ...flagIf(p.moe.deepep, "--moe-enable-deepep"),
        "--tensor-model-parallel-size", num(r.tp),
        ...flagIf(p.sequenceParallel, "--sequence-parallel"),
        "--pipeline-model-parallel-size", num(r.pp),
        "--context-parallel-size", num(r.cp),
        "--expert-model-parallel-size", num(r.ep),
        "--expert-tensor-parallel-size", num(r.etp),
        ...opt("--decoder-first-pipeline-num-layers", p.decoderFirstPipelineNumLayers),
        ...opt("--decoder-last-pipeline-num-layers", p.decoderLastPipelineNumLayers),
        ...opt("--recompute-granularity", p.recompute?.granularity),
        ...opt("--recompute-method", p.recompute?.method),
        ...opt("--recompute-num-layers", p.recompute?.numLayers),
        "--micro-batch-size", num(a.microBatchSize),
        ...flagIf(a.dynamicBatch.enabled, "--use-dynamic-batch-size", "--max-tokens-per-gpu", num(a.dynamicBatch.maxTokensPerGpu)),
        ...opt("--log-probs-chunk-size", a.logProbsChunkSize),
    ];
}

function algorithmArgs(t: TrainingConfig): string[] {
    const a = t.algorithm;
    const f = t.features;
    const reinforce = a.advantageEstimator.startsWith("reinforce_plus_plus");
    return [
        "--advantage-estimator", a.advantageEstimator,
        ...flagIf(a.normalizeAdvantages ?? reinforce, "--normalize-advantages"),
        ...flagIf(a.kl.useKlLoss, "--use-kl-loss", "--kl-loss-coef", num(a.kl.klLossCoef), "--kl-loss-type", a.kl.klLossType),
        ...flagIf(a.kl.klCoef > 0, "--kl-coef", num(a.kl.klCoef)),
        "--entropy-coef", num(a.entropyCoef),
        "--eps-clip", num(a.epsClip),
        ...opt("--eps-clip-high", a.epsClipHigh),
        ...flagIf(f.tis.enabled, "--use-tis", "--tis-clip", num(f.tis.clip), "--tis-clip-low", num(f.tis.clipLow)),
        ...flagIf(f.useRolloutLogprobs, "--use-rollout-logprobs"),
        ...flagIf(f.routingReplay, "--use-rollout-routing-replay"),
        "--seed", num(a.seed),
    ];
}

function optimizerArgs(t: TrainingConfig): string[] {
    const a = t.algorithm;
    return [
        "--optimizer", "adam",
        "--lr", num(a.lr),
        "--lr-decay-style", a.lrDecayStyle,
        "--weight-decay", num(a.weightDecay),
        "--adam-beta1", num(a.adamBeta1),
        "--adam-beta2", num(a.adamBeta2),
        "--clip-grad", num(a.clipGrad),
        ...flagIf(t.offload.optimizerCpu, "--optimizer-cpu-offload", "--overlap-cpu-optimizer-d2h-h2d", "--use-precision-aware-optimizer"),
        ...flagIf(t.offload.rematerializeParams, "--rematerialize-param-from-master-weight"),
    ];
}

/** FP8 block-scaled training on Hopper (miles-launch.md §7); deterministic training (true on-policy passes its own `--deterministic-mode`). */
function precisionArgs(t: TrainingConfig): string[] {
    return [
        ...flagIf(t.features.fp8Training, "--transformer-impl", "transformer_engine", "--bf16", "--fp8-format", "e4m3", "--fp8-recipe", "blockwise"),
        ...flagIf(deterministicOnly(t), "--deterministic-mode"),
    ];
}

/** features.deterministicTraining without true on-policy, which already carries the flag and its env. */
const deterministicOnly = (t: TrainingConfig): boolean => t.features.deterministicTraining && !t.features.trueOnPolicy;

function mtpArgs(t: TrainingConfig, r: ResolvedTraining): string[] {
    const m = t.features.mtp;
    if (r.model.mtpLayers <= 0) return [];
    return ["--mtp-num-layers", num(r.model.mtpLayers), ...flagIf(m.training, "--enable-mtp-training", "--mtp-loss-scaling-factor", num(m.lossScalingFactor))];
}

function sglangArgs(t: TrainingConfig): string[] {
    const s = t.features.speculative;
    const g = t.rollout.sglang;
    const dp = g.dpAttention;
    return [
        "--sglang-mem-fraction-static", num(t.rollout.memFractionStatic),
        ...opt("--sglang-kv-cache-dtype", g.kvCacheDtype ?? (t.features.fp8KvCache ? "fp8_e4m3" : undefined)),
        ...opt("--sglang-attention-backend", g.attentionBackend),
        ...opt("--sglang-moe-runner-backend", g.moeRunnerBackend),
        ...opt("--sglang-moe-a2a-backend", g.moeA2aBackend),
        ...opt("--sglang-deepep-mode", g.deepepMode),
        ...opt("--sglang-ep-size", g.epSize),
        ...(dp ? ["--sglang-enable-dp-attention", "--sglang-dp-size", num(dp.dpSize), ...flagIf(dp.lmHead, "--sglang-enable-dp-lm-head"), ...opt("--sglang-moe-dense-tp-size", dp.moeDenseTpSize)] : []),
        ...opt("--sglang-cuda-graph-max-bs", g.cudaGraphMaxBs),
        ...(g.cudaGraphBs ? ["--sglang-cuda-graph-bs", ...g.cudaGraphBs.map(num)] : []),
        ...opt("--sglang-chunked-prefill-size", g.chunkedPrefillSize),
        ...opt("--sglang-max-running-requests", g.maxRunningRequests),
        ...opt("--sglang-max-total-tokens", g.maxTotalTokens),
        ...opt("--sglang-page-size", g.pageSize),
        ...flagIf(
            s.enabled,
            "--sglang-speculative-algorithm", s.algorithm,
            "--sglang-speculative-num-steps", num(s.numSteps),
            "--sglang-speculative-eagle-topk", num(s.eagleTopk),
            "--sglang-speculative-num-draft-tokens", num(s.numDraftTokens),
            ...opt("--sglang-speculative-draft-model-path", s.draftModelPath),
        ),
    ];
}

function faultToleranceArgs(t: TrainingConfig): string[] {
    const ft = t.features.faultTolerance;
    return flagIf(ft.enabled, "--use-fault-tolerance", "--rollout-health-check-first-wait", num(ft.healthCheckFirstWait));
}

function loggingArgs(t: TrainingConfig, r: ResolvedTraining): ArgGroup[] {
    const w = t.wandb;
    return [
        {
            name: "wandb",
            args: flagIf(w.enabled, "--use-wandb", "--wandb-project", w.project, "--wandb-group", w.group ?? r.runName, ...opt("--wandb-team", w.team), ...opt("--wandb-host", w.host)),
        },
        { name: "tensorboard", args: flagIf(t.tensorboard.enabled, "--use-tensorboard", "--tb-project-name", r.runName) },
        { name: "prometheus", args: flagIf(r.prometheus, "--use-prometheus", "--prometheus-port", num(t.prometheus.port), "--prometheus-run-name", r.runName) },
    ];
}

/**
 * What every miles launcher passes besides the recipe: no dropout in RL, fp32 softmax and (unless
 * `algorithm.accumulateAllreduceGradsInFp32` is off) fp32 grad accumulation. The attention backend is
 * the recipe's choice (perfArgs), not a constant.
 */
function miscArgs(t: TrainingConfig): string[] {
    return ["--attention-dropout", "0.0", "--hidden-dropout", "0.0", ...flagIf(t.algorithm.accumulateAllreduceGradsInFp32, "--accumulate-allreduce-grads-in-fp32"), "--attention-softmax-in-fp32"];
}

/** LoRA (miles `add_lora_arguments`): only with rank > 0; alpha, dropout and type only where they differ from miles' defaults (16, 0, lora). */
function loraArgs(t: TrainingConfig): string[] {
    const l = t.features.lora;
    if (l.rank <= 0) return [];
    return [
        "--lora-rank", num(l.rank),
        "--lora-alpha", num(l.alpha),
        ...(l.dropout !== 0 ? ["--lora-dropout", num(l.dropout)] : []),
        ...(l.type !== "lora" ? ["--lora-type", l.type] : []),
        ...opt("--target-modules", l.targetModules),
        ...opt("--exclude-modules", l.excludeModules),
        ...opt("--lora-adapter-path", l.adapterPath),
    ];
}

/**
 * Generated env vars `training.extraEnv` may override (with a warning, rules.ts): each a recipe switch
 * rather than something the cluster depends on. NVTE_FP8_BLOCK_SCALING_FP32_SCALES=1 is what miles'
 * Hopper FP8 recipes set (v0.1.0 scripts/run_qwen3_30b_a3b.py, train_fp8 on H100/H200); 0 keeps E8M0-style scales.
 */
export const OVERRIDABLE_ENV: ReadonlySet<string> = new Set(["NVTE_FP8_BLOCK_SCALING_FP32_SCALES"]);

/** Drops generated flags (and their values) that the architecture args already set. */
function withoutFlagsIn(args: string[], present: ReadonlySet<string>): string[] {
    const out: string[] = [];
    for (let i = 0; i < args.length; i++) {
        if (args[i].startsWith("--") && present.has(args[i])) {
            while (i + 1 < args.length && !args[i + 1].startsWith("--")) i++;
            continue;
        }
        out.push(args[i]);
    }
    return out;
}

/** The flags (tokens starting with `--`) of an argv, with `--x=v` reduced to `--x`. */
export function flagsOf(argv: ReadonlyArray<string>): string[] {
    return argv.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]);
}

function generatedEnv(t: TrainingConfig, r: ResolvedTraining): EnvVar[] {
    const efa = t.network.efa && (r.group?.efaPerNode ?? 0) > 0;
    const env: EnvVar[] = [
        { name: "PYTHONPATH", value: `${MILES_ROOT}:${MEGATRON_ROOT}` },
        { name: "CUDA_DEVICE_MAX_CONNECTIONS", value: "1" },
        { name: "PYTHONUNBUFFERED", value: "1" },
        { name: "NCCL_NVLS_ENABLE", value: t.network.nvls ? "1" : "0" },
        // Set explicitly: a Service named "prometheus" in the namespace would otherwise inject tcp://… (miles parses it with int()).
        { name: "PROMETHEUS_PORT", value: num(t.prometheus.port) },
    ];
    if (efa) {
        // AWS EFA + NCCL guidance for p5: libfabric's EFA provider, GPUDirect RDMA, fork safety (Ray forks workers).
        // Workers only: the CPU-only head has no EFA device and runs no NCCL.
        env.push(
            { name: "FI_PROVIDER", value: "efa", workersOnly: true },
            { name: "FI_EFA_USE_DEVICE_RDMA", value: "1", workersOnly: true },
            { name: "FI_EFA_FORK_SAFE", value: "1", workersOnly: true },
        );
        // In an image we know carries aws-ofi-nccl (the EFA build), pin NCCL to it: a node whose EFA
        // device or plugin does not come up then fails NCCL's init at once (the run restarts, the
        // node's health check keeps it out) instead of joining on TCP sockets and slowing every
        // collective of the run — the silent failure issue 22 is about (catalog/fabric.ts OFI_NCCL_NET_NAME).
        if (r.imageChoice.hasEfaSoftware === true) env.push({ name: "NCCL_NET", value: OFI_NCCL_NET_NAME, workersOnly: true });
    }
    const rdma = !efa ? r.group?.rdma : undefined;
    if (rdma) {
        // InfiniBand/RoCE on a bring-your-own cluster: pin NCCL to its IB transport so a missing
        // device fails at init instead of falling back to TCP sockets (NCCL env docs: NCCL_NET,
        // NCCL_IB_HCA). Workers only, as for EFA.
        env.push({ name: "NCCL_NET", value: "IB", workersOnly: true });
        if (rdma.hca) env.push({ name: "NCCL_IB_HCA", value: rdma.hca, workersOnly: true });
    }
    if (t.features.fp8Training) env.push({ name: "NVTE_FP8_BLOCK_SCALING_FP32_SCALES", value: "1" });
    if (t.features.int4Qat.enabled) {
        env.push({ name: "OPEN_TRAINING_INT4_FAKE_QAT_FLAG", value: "1" }, { name: "OPEN_TRAINING_INT4_GROUP_SIZE", value: num(t.features.int4Qat.groupSize) });
    }
    const top = trueOnPolicy(t, r);
    if (top) env.push(...top.env);
    if (deterministicOnly(t)) env.push(...DETERMINISTIC_ENV);
    if (r.paths.tensorboardDir) env.push({ name: "TENSORBOARD_DIR", value: r.paths.tensorboardDir });
    return env;
}

/** miles' true on-policy launch contract for the run's model and layout; undefined when off or without a profile (the rules reject that). */
function trueOnPolicy(t: TrainingConfig, r: ResolvedTraining) {
    if (!t.features.trueOnPolicy) return undefined;
    const profile = trueOnPolicyProfile(t.model.custom ? undefined : r.model.name);
    return profile ? trueOnPolicyLaunch(profile, { cp: r.cp }) : undefined;
}

/** The run's train.py argv, entrypoint and env (run.ts calls it once, in `resolveRun`). */
export function milesCommand(r: ResolvedTraining): MilesCommand {
    const t = r.training;
    // A typed dispatcher replaces the preset's own (most MoE presets pass `--moe-token-dispatcher-type alltoall`).
    const replaced = new Set(t.parallelism.moe.tokenDispatcherType !== undefined ? ["--moe-token-dispatcher-type"] : []);
    const arch = withoutFlagsIn(archArgsWithoutMtp(r.model), replaced);
    const archFlags = new Set(flagsOf(arch));
    const raw: ArgGroup[] = [
        { name: "cluster", args: clusterArgs(t, r) },
        { name: "ckpt", args: ckptArgs(t, r) },
        { name: "rollout", args: rolloutArgs(t, r) },
        { name: "perf", args: perfArgs(t, r) },
        { name: "algorithm", args: algorithmArgs(t) },
        { name: "optimizer", args: optimizerArgs(t) },
        { name: "precision", args: precisionArgs(t) },
        { name: "mtp", args: mtpArgs(t, r) },
        { name: "sglang", args: sglangArgs(t) },
        { name: "true-on-policy", args: trueOnPolicy(t, r)?.args ?? [] },
        { name: "eval", args: evalArgs(t) },
        { name: "weight-transfer", args: weightTransferArgs(t) },
        { name: "mis", args: misArgs(t) },
        { name: "fault-tolerance", args: faultToleranceArgs(t) },
        ...loggingArgs(t, r),
        { name: "lora", args: loraArgs(t) },
        { name: "misc", args: miscArgs(t) },
    ];
    const groups: ArgGroup[] = [{ name: "model", args: arch }, ...raw.map((g) => ({ name: g.name, args: withoutFlagsIn(g.args, archFlags) })).filter((g) => g.args.length > 0)];
    if (t.extraArgs.length > 0) groups.push({ name: "extra", args: [...t.extraArgs] });
    const generated = groups.filter((g) => g.name !== "model" && g.name !== "extra").flatMap((g) => g.args);
    const argv = groups.flatMap((g) => g.args);
    const script = `${MILES_ROOT}/${t.entry}`;
    const env = generatedEnv(t, r);
    const generatedEnvNames = env.map((e) => e.name);
    for (const [name, value] of Object.entries(t.extraEnv)) {
        const own = OVERRIDABLE_ENV.has(name) ? env.find((e) => e.name === name) : undefined;
        if (own) own.value = value;
        else env.push({ name, value });
    }
    const secretEnv: SecretEnvVar[] = t.wandb.enabled && t.wandb.apiKey ? [{ name: "WANDB_API_KEY", secretKey: SECRET_KEYS.wandbApiKey }] : [];
    for (const name of Object.keys(t.secretEnv)) secretEnv.push({ name, secretKey: secretEnvKey(name) });
    return { script, groups, argv, generated, entrypoint: ["python3", script, ...argv].map(shellQuote).join(" "), env, generatedEnvNames, secretEnv };
}

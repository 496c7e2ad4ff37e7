/**
 * Per-GPU memory fit of a miles run, estimated before any GPU is paid for: the Megatron actor
 * (weights, gradients, optimizer state, activations, logits) and the SGLang rollout engines
 * (weights at the rollout precision, KV cache), the colocated hand-over between the two, and the
 * host memory that CPU offload needs. Pure arithmetic; every formula names its source.
 *
 * Units: bytes internally; GPU capacity is the catalog's `gpuMemoryGiB` × 2^30 (catalog/instances.ts). How
 * much of it CUDA exposes on a given driver was not measured here, so the 3 GiB margin below covers it too.
 *
 * What it is not: a measurement. It counts the tensors upstream allocates; ACCURACY states how far
 * miles' published measurements are from it. A layout the estimate rejects can still be forced with
 * `training.resources.memoryFitCheck: warn` once it has been measured on a real cluster.
 */
import type { HybridAttention } from "../../catalog/hybridAttention";
import { embeddingParams, layerParams, paramCounts, type ArchFacts } from "../../catalog/modelArch";

export const GIB = 2 ** 30;

/**
 * Memory miles keeps free for the training process besides the model state: `--train-memory-margin-bytes
 * 3221225472` (3 GiB) in radixark/miles v0.1.0 scripts/run_qwen3_4b.py (its Megatron launcher). Used here
 * as the allowance for the CUDA context, NCCL communicators and allocator fragmentation.
 */
export const TRAIN_MARGIN_BYTES = 3 * GIB;

/**
 * Bytes per parameter of the Megatron actor with the distributed optimizer, BF16 weights and FP32 main
 * gradients (miles' launchers pass `--accumulate-allreduce-grads-in-fp32`; miles forces
 * `use_distributed_optimizer` for Adam in miles/backends/megatron_utils/arguments.py `set_default_megatron_args`):
 * "bf16 parameters, fp32 gradients: 6 + 12/d" — radixark/Megatron-LM @ 37f91617
 * docs/user-guide/features/dist_optimizer.md. 6 = BF16 weight 2 + FP32 grad 4 (on every rank);
 * 12 = FP32 main weight + Adam exp_avg + exp_avg_sq, sharded over the d data-parallel ranks.
 */
export const WEIGHT_GRAD_BYTES = 6;
export const OPTIMIZER_BYTES = 12;
/**
 * Without `--accumulate-allreduce-grads-in-fp32` the main gradients stay in the parameters' 16-bit dtype
 * and the optimizer keeps an FP32 copy of its gradient shard: "fp16 parameters, fp16 gradients: 4 + 16/d"
 * (the same doc's table; BF16 has the same widths). 4 = 16-bit weight 2 + 16-bit grad 2; 16 = FP32 main
 * gradient + main weight + Adam m, v, sharded.
 */
export const WEIGHT_GRAD_BYTES_16BIT_GRADS = 4;
export const OPTIMIZER_BYTES_16BIT_GRADS = 16;
/**
 * Host bytes per parameter of `--optimizer-cpu-offload`: Megatron's HybridDeviceOptimizer keeps a pinned
 * FP32 copy of each parameter and of its gradient on the CPU besides Adam's two FP32 moments (radixark/
 * Megatron-LM @ 37f91617 megatron/core/optimizer/cpu_offloading/hybrid_optimizer.py: `param.detach().clone()
 * .cpu().pin_memory()`, `torch.empty(..., pin_memory=self.pin_cpu_grads, device="cpu")`), sharded over DP.
 */
export const CPU_OPTIMIZER_BYTES = 16;
/**
 * Host bytes per parameter of each pinned weight copy miles keeps (radixark/miles v0.1.0
 * miles/utils/tensor_backper.py `_TensorBackuperNormal.backup`: `torch.empty_like(param, device="cpu",
 * pin_memory=True)`, so the parameter's own dtype, BF16). miles/backends/megatron_utils/actor.py keeps
 * an "actor" copy whenever `_enable_weight_backup` (colocate, a reference model, an OPD teacher or
 * keep-old-actor; actor.py:344-346) unless `--rematerialize-param-from-master-weight` rebuilds it, and
 * one more per extra model tag (`load_other_checkpoint("ref", …)`, actor.py:236-237).
 */
export const WEIGHT_BACKUP_BYTES = 2;

/**
 * How far the estimates may be off, from the published figures in radixark/miles v0.1.0 docs (each one a
 * test case in test/memoryFit.test.ts with its doc path and the run's script), as |measured ÷ estimated − 1|:
 * - KV-cache tokens: ±10 % (docs/models/qwen/qwen3-8.md: 158,018 and 517,999 tokens; estimate +6.5 % and +2.0 %).
 * - GPU peak: ±25 %. qwen3-8.md "the training-phase peak at 0.8 measured 88–90 GB of 140 GB" (GiB: the
 *   H200's 140.4 GiB is the "140 GB", as miles' print_memory divides by 1024³, miles/utils/memory_utils.py:31-32),
 *   estimate 72.2 GiB: +22…+25 %; docs/examples/on-policy-distillation/qwen3-5-35b-selfdistill.md "Peak ≈ 124 GB /
 *   143 GB per GPU" over both colocated phases (the rollout's mem-fraction-static 0.8 share is the larger),
 *   estimate 111.4 GiB: +4…+11 % whichever unit "GB" is. The rest has no upstream formula: each process's
 *   CUDA context (Megatron and the paused engine on one GPU), NCCL communicators (miles turns NVLS on with
 *   NVLink, miles/utils/external_utils/command_utils.py:205), what the paused engine's caching allocator
 *   keeps (SGLang's release_memory_occupation pauses the tagged pools but does not empty the cache,
 *   sgl-project/sglang python/sglang/srt/managers/scheduler_update_weights_mixin.py, read at snapshot
 *   018c9109: the sglang-miles branch itself was not readable here) and allocator fragmentation; the
 *   3 GiB margin (TRAIN_MARGIN_BYTES) stands for them.
 * - host RAM: ±15 %. docs/models/deepseek/deepseek.md §5.4 states the CPU Adam state of scripts/run_deepseek.py's
 *   64-GPU layout (TP 4, PP 4, CP 4, EP 16) at "~1.4–1.5 TB / 8-GPU node"; the estimate's CPU optimizer is
 *   1.47 TB (−5…+2 % in TB, +5…+12 % if TiB).
 */
export const ACCURACY = {
    kvTokens: 0.1,
    gpuPeak: 0.25,
    host: 0.15,
} as const;

/** Bytes per element of activations kept for the backward pass (BF16). */
const ACT_BYTES = 2;
/**
 * Bytes per logit element (tokens × vocab ÷ TP) on the last pipeline stage at the loss's peak, the start
 * of its backward:
 * - the logits arrive in FP32: Megatron's Float16Module upcasts the last stage's output (`fp32_output=True`
 *   by default, radixark/Megatron-LM megatron/core/transformer/module.py `Float16Module.forward`,
 *   `float16_to_fp32`; miles v0.1.0 docker/Dockerfile:22-25 clones branch miles-main with no pinned
 *   commit, read at snapshot 8e94dd05), and miles' loss expects "Must be float32" (radixark/miles v0.1.0
 *   miles/backends/training_utils/loss_hub/logit_processors.py:29-30);
 * - each sample's response logits are copied again to FP32, math_utils.py:983 (`logits.to(torch.float32,
 *   copy=True)`; per chunk at :973 with `--log-probs-chunk-size`, so chunking does not shrink what the
 *   backward keeps), which Megatron's `fused_vocab_parallel_cross_entropy` (math_utils.py:294-299) keeps,
 *   exponentiated in place, for its backward: 4 B;
 * - the FP32 gradient of the logits being accumulated (4 B) and the full-size FP32 gradient each sample's
 *   slice returns into it (4 B): `get_responses` slices `logits[start - 1 : end - 1]` per sample
 *   (logit_processors.py:76-80), and a slice's backward is a zero tensor the size of the whole input.
 * The forward peak (FP32 logits 4 B + the copies 4 B, + the BF16 output 2 B while it is cast) is lower.
 * Counted for every token, not only the response ones (an upper bound by the prompt's share).
 */
const LOGIT_BYTES = 4 + 4 + 4;
/**
 * Extra bytes per logit element when the entropy carries a gradient (`--entropy-coef` ≠ 0, losses.py:113,122):
 * another FP32 copy (math_utils.py:962) and the FP32 softmax that `_VocabParallelEntropy` saves beside
 * it (math_utils.py:416).
 */
const ENTROPY_LOGIT_BYTES = 4 + 4;

export type RolloutPrecision = "bf16" | "fp8" | "int4";

export interface TrainLayout {
    tp: number;
    pp: number;
    cp: number;
    ep: number;
    etp: number;
    /** Actor GPUs (Megatron world size). */
    world: number;
    sequenceParallel: boolean;
    firstStageLayers?: number;
    lastStageLayers?: number;
    /** Megatron's recompute settings (granularity full|selective, method uniform|block); anything else counts as none. */
    recompute?: { granularity: string; method?: string; numLayers?: number };
    /** Tokens in one micro-batch on one GPU (after CP splits the sequence). */
    tokensPerGpu: number;
    /** `--optimizer-cpu-offload` (with `--use-precision-aware-optimizer`): the sharded optimizer state lives in host RAM. */
    optimizerCpuOffload: boolean;
    /**
     * `--accumulate-allreduce-grads-in-fp32` (optional, default true as miles' launchers pass it): FP32 main
     * gradients (6 + 12/d bytes per parameter); false: 16-bit gradients (4 + 16/d).
     */
    gradsInFp32?: boolean;
    /**
     * LoRA (optional; wire from the typed LoRA knob): the base weights are frozen (BF16 only, no gradient,
     * no optimizer state); the adapters of rank `rank` on the attention projections (`attention`) or on
     * every linear layer (`all-linear`) train with the full 6 + 12/d bytes.
     */
    lora?: { rank: number; targets: "attention" | "all-linear" };
    /** `--entropy-coef` ≠ 0 (optional): the entropy is differentiated, two more FP32 vocabulary copies (ENTROPY_LOGIT_BYTES). */
    entropyWithGrad?: boolean;
    /**
     * Hybrid linear-attention models on miles' own layer specs (optional; from catalog/hybridAttention.ts):
     * the Gated DeltaNet of every linear layer is replicated on each TP rank and runs on the whole
     * sequence (see gdnParamsPerLayer, gdnActivationElementsPerToken).
     */
    replicatedLinearAttention?: HybridAttention;
    /**
     * Multi-token prediction (optional; `--mtp-num-layers`, `--enable-mtp-training`): Megatron builds the MTP
     * layers on the last pipeline stage whether or not they train (see mtpParams); trained, each runs one
     * more decoder layer per micro-batch.
     */
    mtp?: { layers: number; training: boolean };
}

export interface RolloutLayout {
    /** GPUs per SGLang engine (its tensor-parallel size). */
    gpusPerEngine: number;
    precision: RolloutPrecision;
    /** INT4 group size (the converter's `--group-size`). */
    int4GroupSize: number;
    memFractionStatic: number;
    /** KV cache element size: 2 (BF16), 1 (`fp8_e4m3`/`fp8_e5m2`), 0.5 (fp4). Wire from the KV-cache dtype knob. */
    kvBytes: number;
    /** Longest sequence (prompt + response) an engine must hold. */
    maxSequenceTokens: number;
    /**
     * `--sglang-max-total-tokens` (optional): SGLang sizes the pool from mem-fraction-static, then allocates
     * min(that, this) tokens (sgl-project/sglang python/sglang/srt/model_executor/model_runner_kv_cache_mixin.py
     * `init_memory`, read at 001ccef0: "self.max_total_num_tokens = min(self.max_total_num_tokens, max_total_tokens)").
     */
    maxTotalTokens?: number;
    /**
     * Hybrid linear-attention models (optional; from catalog/hybridAttention.ts): only full-attention layers
     * cache KV; the linear layers keep a per-sequence state in a pool SGLang carves out of the same budget.
     */
    hybrid?: { fullAttentionLayers: number; linearLayers: number; stateBytesPerLayer: number; mambaFullMemoryRatio?: number };
    /**
     * CUDA-graph memory of the engine (optional; wire from the CUDA-graph sizes knob). SGLang captures the
     * graphs after the KV pool, out of the (1 − mem-fraction-static) share, so it only matters when the
     * fraction leaves too little; under colocation miles releases it with the engine
     * (`SGLANG_MEMORY_SAVER_CUDA_GRAPH=true`, miles v0.1.0 miles/ray/rollout engine env).
     */
    cudaGraphBytes?: number;
}

export interface FitInput {
    arch: ArchFacts;
    /** Published totals (billions), used when the architecture cannot be counted (custom layer specs). */
    publishedTotalB?: number;
    publishedActiveB?: number;
    gpuMemoryGiB: number;
    /** Actor GPUs per node (the ranks a node hosts, in Megatron rank order). */
    gpusPerNode: number;
    /** Memory of one GPU worker pod (host RAM the offloads can use). */
    hostMemoryGiB: number;
    colocate: boolean;
    /** miles' `--offload-train` (default on when colocated). */
    offloadTrain: boolean;
    /** miles' `--offload-rollout` (default on when colocated). */
    offloadRollout: boolean;
    /** `--offload-train-target` (optional, default `cpu`): `disk` streams the paused actor to NVMe instead of host RAM. */
    offloadTrainTarget?: "cpu" | "disk";
    /** `--rematerialize-param-from-master-weight` (optional): no pinned actor weight copy while generating. */
    rematerializeParams?: boolean;
    /** A reference model is loaded (`--kl-coef` ≠ 0 or `--use-kl-loss`, miles/ray/placement_group.py:150): one more pinned weight copy. */
    withRef?: boolean;
    /** Further pinned weight copies (an OPD Megatron teacher, `--keep-old-actor`'s old and rollout actors). */
    extraWeightCopies?: number;
    train: TrainLayout;
    rollout: RolloutLayout;
}

export interface Item {
    label: string;
    bytes: number;
    /** How the number was computed, for the plan. */
    formula: string;
}

export interface PhaseFit {
    items: Item[];
    /** Actor state of the busiest GPU (training phase only): what the offloads move to host RAM. */
    state?: { weightsGrads: number; optimizer: number; cpuOptimizer: number };
    totalBytes: number;
    capacityBytes: number;
    /** total ÷ capacity. */
    usage: number;
}

export interface MemoryFit {
    /** How the parameter counts were obtained. */
    paramsBasis: string;
    params: { dense: number; expert: number; total: number };
    train: PhaseFit;
    rollout: PhaseFit & { kvTokens: number; linearStateSlots?: number };
    host: PhaseFit;
    /** What the estimate covers and how far off it may be (ACCURACY), for the plan. */
    accuracy: string;
}

/** Parameter counts: from the architecture, or the published totals when the layers are not standard. */
export function effectiveParams(arch: ArchFacts, totalB?: number, activeB?: number): { dense: number; expert: number; total: number; basis: string } {
    const c = paramCounts(arch);
    const published = totalB !== undefined ? totalB * 1e9 : undefined;
    // A model with its own layer modules (`--spec`: GDN, gated attention, DSA) is not counted by the
    // standard formulas; its published total is the better figure whenever there is one.
    const close = published === undefined || (arch.standardLayers && Math.abs(c.total / published - 1) <= 0.1);
    if (close && c.total > 0) return { dense: c.dense, expert: c.expert, total: c.total, basis: `counted from the architecture args (${(c.total / 1e9).toFixed(1)}B)` };
    // Published totals: routed experts E of which k are active, so active = dense + expert × k/E.
    const total = published ?? c.total;
    const active = activeB !== undefined ? activeB * 1e9 : total;
    const k = arch.numExperts > 0 ? arch.moeRouterTopk / arch.numExperts : 1;
    const expert = arch.numExperts > 0 && k < 1 ? Math.max(0, Math.min(total, (total - active) / (1 - k))) : 0;
    return { dense: total - expert, expert, total, basis: `published total ${(total / 1e9).toFixed(1)}B${activeB !== undefined ? ` / ${activeB}B active` : ""} (the layer specs are the model's own, so the args are not counted)` };
}

/**
 * Layers of each pipeline stage (uneven first/last stages as Megatron splits them). Out-of-range inputs
 * (a last stage longer than the model, more stages than layers) are clamped so that the estimate stays
 * O(layers); the rules reject such layouts with their own message.
 */
export function stageLayers(numLayers: number, pp: number, first?: number, last?: number): number[] {
    const L = Math.max(0, Math.floor(numLayers));
    const stages = Math.max(1, Math.min(Math.floor(pp) || 1, Math.max(1, L)));
    if (stages <= 1) return [L];
    const clamp = (x: number | undefined, max: number) => (x === undefined ? undefined : Math.max(0, Math.min(Math.floor(x), max)));
    const f = clamp(first, L);
    const l = clamp(last, L - (f ?? 0));
    const middle = stages - (f !== undefined ? 1 : 0) - (l !== undefined ? 1 : 0);
    const rest = L - (f ?? 0) - (l ?? 0);
    const each = middle > 0 ? Math.ceil(rest / middle) : 0;
    return Array.from({ length: stages }, (_, i) => (i === 0 && f !== undefined ? f : i === stages - 1 && l !== undefined ? l : each));
}

/**
 * Activation bytes one token leaves for the backward pass in one decoder layer, BF16, with flash
 * attention (no s² score matrix kept) and no dropout (miles' launchers pass `--attention-dropout 0.0
 * --hidden-dropout 0.0`). Kept tensors: the inputs of both norms and of the QKV and FC1 GEMMs (4h,
 * sharded only by sequence parallelism), Q, K, V and the attention output (sharded by TP), the FC1
 * output and the SwiGLU output (3 × ffn, by TP), for MoE the top-k routed copies of the token (dispatch
 * and combine buffers 2h each and 3 × moe_ffn per copy, by ETP) plus the shared expert (by TP).
 * Cross-check: for a Llama-3-70B layer this gives 33.5·h bytes per token, against 34·h in
 * Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models"
 * (arXiv:2205.05198) eq. (1) without its 5·a·s/h attention-score term.
 */
export function activationBytesPerTokenLayer(a: ArchFacts, i: number, t: TrainLayout): number {
    const h = a.hiddenSize;
    const rep = (4 * h) / (t.sequenceParallel && t.tp > 1 ? t.tp : 1);
    let attn: number;
    const gdn = t.replicatedLinearAttention;
    if (gdn && isLinearAttentionLayer(gdn, i)) {
        // The whole sequence on every TP rank (SP gathered) and, without hybrid CP, every CP rank (gathered).
        attn = gdnActivationElementsPerToken(gdn, h) * Math.max(1, t.cp);
    } else if (a.mla) {
        const m = a.mla;
        const qk = m.qkHeadDim + m.qkPosEmbHeadDim;
        attn = (a.numAttentionHeads * (2 * qk + 2 * m.vHeadDim)) / t.tp + (m.qLoraRank ?? 0) + m.kvLoraRank + m.qkPosEmbHeadDim;
    } else {
        const q = a.numAttentionHeads * a.kvChannels;
        const kv = a.numQueryGroups * a.kvChannels;
        attn = (2 * q + 2 * kv) / t.tp;
    }
    const gated = a.swiglu ? 3 : 2;
    let mlp: number;
    if (a.moeLayers[i]) {
        mlp = a.moeRouterTopk * ((gated * a.moeFfnHiddenSize) / t.etp + 2 * h) + (a.moeSharedExpertSize > 0 ? (gated * a.moeSharedExpertSize) / t.tp : 0);
    } else {
        mlp = (gated * a.ffnHiddenSize) / t.tp;
    }
    return (rep + attn + mlp) * ACT_BYTES;
}

/** Layer i (0-based) of a hybrid model is a Gated DeltaNet layer: every `interval`-th layer is full attention. */
export function isLinearAttentionLayer(h: HybridAttention, i: number): boolean {
    return (i + 1) % h.fullAttentionInterval !== 0;
}

/**
 * Parameters of one Gated DeltaNet layer as miles builds it (radixark/miles v0.1.0
 * miles_plugins/models/qwen3_5.py:57-96; qwen3_next.py:60-78 fuses the same projections): in_proj_qkv
 * h × (2k + v), in_proj_z h × v, in_proj_b and in_proj_a h × V-heads each, the depthwise conv
 * (2k + v) × kernel, dt_bias and A_log (V-heads each), the gated norm (V head dim), out_proj v × h, and
 * the layer's own input RMSNorm h (qwen3_5.py:211), with k = K-heads × K dim, v = V-heads × V dim.
 * These are plain `nn.Linear`s, not Megatron's tensor-parallel layers: "the linear attention after this
 * gather is NOT TP-sharded (duplicated on all ranks)" (miles_plugins/models/hf_attention.py:194-202), so
 * every TP rank holds all of them, with their gradients and optimizer shards.
 */
export function gdnParamsPerLayer(g: HybridAttention, hidden: number): number {
    const k = g.linearKeyHeads * g.linearKeyHeadDim;
    const v = g.linearValueHeads * g.linearValueHeadDim;
    return hidden * (2 * k + v) + hidden * v + 2 * hidden * g.linearValueHeads + (2 * k + v) * g.convKernel + 2 * g.linearValueHeads + g.linearValueHeadDim + v * hidden + hidden;
}

/**
 * BF16 elements one token leaves for the backward pass in a Gated DeltaNet layer
 * (miles_plugins/models/qwen3_5.py `Qwen3_5GatedDeltaNet.forward`, :103-181): the gathered input and the
 * RMSNorm output (2h), the QKV projection and its convolution (2 × (2k + v)), Q and K repeated to the
 * V heads when there are more V heads than K heads (2 × V-heads × K dim, :135-137), z, the kernel output
 * and the gated norm's output (3v). Not counted: a, b, g, β (a few values per V head) and what the fla
 * kernel keeps inside (it recomputes its chunk states in the backward).
 */
export function gdnActivationElementsPerToken(g: HybridAttention, hidden: number): number {
    const k = g.linearKeyHeads * g.linearKeyHeadDim;
    const v = g.linearValueHeads * g.linearValueHeadDim;
    const repeated = g.linearValueHeads > g.linearKeyHeads ? 2 * g.linearValueHeads * g.linearKeyHeadDim : 0;
    return 2 * hidden + 2 * (2 * k + v) + repeated + 3 * v;
}

const fmtGiB = (b: number): string => `${(b / GIB).toFixed(1)} GiB`;

function phase(items: Item[], capacityBytes: number): PhaseFit {
    const totalBytes = items.reduce((s, x) => s + x.bytes, 0);
    return { items, totalBytes, capacityBytes, usage: capacityBytes > 0 ? totalBytes / capacityBytes : Infinity };
}

/**
 * Parameters of the multi-token-prediction block, all on the last pipeline stage (radixark/Megatron-LM
 * megatron/core/transformer/multi_token_prediction.py `MultiTokenPredictionLayer.__init__`, read at snapshot
 * 1e63e218): per MTP layer the enorm and hnorm (h each), eh_proj (2h × h, column-parallel), a decoder
 * layer of the model's own spec (counted as its last layer) and a final norm (h); with PP > 1 the stage
 * also keeps its own copy of the input embedding (megatron/core/models/gpt/gpt_model.py: "If MTP is not
 * placed in the pre processing stage, we need to maintain a copy of embedding layer in the mtp process
 * stage"). Parameters, so they carry gradients and optimizer state like the rest (MTP heads are not in
 * the published totals).
 */
export function mtpParams(a: ArchFacts, layers: number, pp: number): { dense: number; expert: number } {
    if (layers <= 0 || a.numLayers <= 0) return { dense: 0, expert: 0 };
    const h = a.hiddenSize;
    const l = layerParams(a, a.numLayers - 1);
    return { dense: layers * (2 * h * h + 3 * h + l.dense) + (pp > 1 ? embeddingParams(a).input : 0), expert: layers * l.expert };
}

/** Parameters held by one rank of each pipeline stage (first stage also the input embedding, last the output layer and any MTP block), before TP/EP. */
function stageParamsAll(a: ArchFacts, layers: number[], scale: { dense: number; expert: number }, mtpLayers = 0): Array<{ dense: number; expert: number }> {
    const emb = embeddingParams(a);
    let layer = 0;
    return layers.map((n, s) => {
        let dense = 0;
        let expert = 0;
        for (const end = Math.min(a.numLayers, layer + n); layer < end; layer++) {
            const l = layerParams(a, layer);
            dense += l.dense;
            expert += l.expert;
        }
        if (s === 0) dense += emb.input;
        // Tied embeddings with PP > 1 keep a copy of the embedding on the last stage for the output layer.
        if (s === layers.length - 1) dense += emb.output > 0 ? emb.output : layers.length > 1 ? emb.input : 0;
        const m = s === layers.length - 1 ? mtpParams(a, mtpLayers, layers.length) : { dense: 0, expert: 0 };
        return { dense: dense * scale.dense + m.dense, expert: expert * scale.expert + m.expert };
    });
}

/**
 * LoRA adapter parameters of one decoder layer: rank × (in + out) per adapted linear layer (an A of
 * in × r and a B of r × out, Hu et al. 2021, arXiv:2106.09685 §4.1), dense and routed-expert parts.
 */
export function loraLayerParams(a: ArchFacts, i: number, rank: number, targets: "attention" | "all-linear"): { dense: number; expert: number } {
    const h = a.hiddenSize;
    const lin = (inDim: number, outDim: number) => rank * (inDim + outDim);
    let attn: number;
    if (a.mla) {
        const m = a.mla;
        const qk = m.qkHeadDim + m.qkPosEmbHeadDim;
        const q = m.qLoraRank ? lin(h, m.qLoraRank) + lin(m.qLoraRank, a.numAttentionHeads * qk) : lin(h, a.numAttentionHeads * qk);
        attn = q + lin(h, m.kvLoraRank + m.qkPosEmbHeadDim) + lin(m.kvLoraRank, a.numAttentionHeads * (m.qkHeadDim + m.vHeadDim)) + lin(a.numAttentionHeads * m.vHeadDim, h);
    } else {
        const q = a.numAttentionHeads * a.kvChannels;
        attn = lin(h, q + 2 * a.numQueryGroups * a.kvChannels) + lin(q, h);
    }
    if (targets === "attention") return { dense: attn, expert: 0 };
    const g = a.swiglu ? 2 : 1;
    const mlp = (ffn: number) => lin(h, g * ffn) + lin(ffn, h);
    if (!a.moeLayers[i]) return { dense: attn + mlp(a.ffnHiddenSize), expert: 0 };
    return { dense: attn + (a.moeSharedExpertSize > 0 ? mlp(a.moeSharedExpertSize) : 0), expert: a.numExperts * mlp(a.moeFfnHiddenSize) };
}

/** One pipeline stage's rank: its memory in the training phase and what it keeps in host RAM. */
interface StageFit {
    fit: PhaseFit;
    host: { cpuOptimizer: number; optimizerBackup: number; weightCopies: number; copies: number };
}

/** Training-phase memory of one rank of every pipeline stage, and the host memory each of those ranks needs. */
function stageFits(inp: FitInput, p: ReturnType<typeof effectiveParams>): StageFit[] {
    const a = inp.arch;
    const t = inp.train;
    const cap = inp.gpuMemoryGiB * GIB;
    const counted = paramCounts(a);
    // Scale the architecture's per-layer split to the effective totals (1 when counted from the args).
    const scale = { dense: counted.dense > 0 ? p.dense / counted.dense : 1, expert: counted.expert > 0 ? p.expert / counted.expert : 1 };
    const layers = stageLayers(a.numLayers, t.pp, t.firstStageLayers, t.lastStageLayers);
    const pp = layers.length;
    // The distributed optimizer shards dense parameters over the data-parallel group *with* context
    // parallelism and routed experts over the expert data-parallel group (NVIDIA/Megatron-LM
    // megatron/core/optimizer/__init__.py `get_megatron_optimizer`: `data_parallel_group=intra_dp_cp_group`
    // for dense buckets, `intra_expt_dp_group` for expert buckets; read on main, the same split as the
    // radixark fork at 37f91617 that miles v0.1.0 pins).
    const denseShard = Math.max(1, Math.floor(t.world / (t.tp * t.pp)));
    const expertShard = Math.max(1, Math.floor(t.world / (t.ep * t.etp * t.pp)));
    const dp = Math.max(1, Math.floor(t.world / (t.tp * t.pp * t.cp)));
    const mtpLayers = Math.max(0, Math.floor(t.mtp?.layers ?? 0));
    const perStage = stageParamsAll(a, layers, scale, mtpLayers);
    const copies =
        (((inp.colocate || inp.withRef || (inp.extraWeightCopies ?? 0) > 0) && !inp.rematerializeParams ? 1 : 0) + (inp.withRef ? 1 : 0) + (inp.extraWeightCopies ?? 0));
    const seqShard = t.sequenceParallel && t.tp > 1 ? t.tp : 1;
    let startLayer = 0;
    return layers.map((n, s) => {
        const sp = perStage[s];
        // Gated DeltaNet layers of miles' hybrid specs are whole on every TP rank (gdnParamsPerLayer).
        const g = t.replicatedLinearAttention;
        let gdnLayers = 0;
        if (g && t.tp > 1) for (let i = startLayer, end = Math.min(a.numLayers, startLayer + n); i < end; i++) if (isLinearAttentionLayer(g, i)) gdnLayers++;
        const replicated = g ? gdnParamsPerLayer(g, a.hiddenSize) * gdnLayers * (1 - 1 / t.tp) : 0;
        const dense = sp.dense / t.tp + replicated;
        const expert = sp.expert / (t.ep * t.etp);
        const rankParams = dense + expert;
        const items: Item[] = [];
        // Trainable parameters (all of them, or the LoRA adapters) and frozen ones (LoRA's base).
        let trainDense = dense;
        let trainExpert = expert;
        let frozen = 0;
        if (t.lora) {
            let ld = 0;
            let le = 0;
            for (let i = startLayer, end = Math.min(a.numLayers, startLayer + n); i < end; i++) {
                const l = loraLayerParams(a, i, t.lora.rank, t.lora.targets);
                ld += l.dense;
                le += l.expert;
            }
            trainDense = ld / t.tp;
            trainExpert = le / (t.ep * t.etp);
            frozen = rankParams;
            items.push({ label: "frozen base weights", bytes: frozen * 2, formula: `${(frozen / 1e9).toFixed(2)}B params on this rank × 2 B (BF16, LoRA: no gradient, no optimizer state)` });
        }
        const trainable = trainDense + trainExpert;
        const fp32Grads = t.gradsInFp32 ?? true;
        const wgBytes = fp32Grads ? WEIGHT_GRAD_BYTES : WEIGHT_GRAD_BYTES_16BIT_GRADS;
        const optPerParam = fp32Grads ? OPTIMIZER_BYTES : OPTIMIZER_BYTES_16BIT_GRADS;
        items.push({
            label: t.lora ? "LoRA weights + grads" : "weights + grads",
            bytes: trainable * wgBytes,
            formula: `${(trainable / 1e9).toFixed(t.lora ? 4 : 2)}B ${t.lora ? `adapter params (rank ${t.lora.rank}, ${t.lora.targets})` : "params"} on this rank (stage ${s + 1}/${pp}: dense ÷ TP ${t.tp}${replicated > 0 ? ` + ${gdnLayers} Gated DeltaNet layers whole on every TP rank (${(replicated / 1e9).toFixed(2)}B more)` : ""}, experts ÷ EP ${t.ep} × ETP ${t.etp}) × ${wgBytes} B (BF16 weight + ${fp32Grads ? "FP32" : "BF16"} grad)`,
        });
        const optBytes = (trainDense * optPerParam) / denseShard + (trainExpert * optPerParam) / expertShard;
        const cpuOptBytes = (trainDense * CPU_OPTIMIZER_BYTES) / denseShard + (trainExpert * CPU_OPTIMIZER_BYTES) / expertShard;
        const shardText = `DP ${dp} × CP ${t.cp}${trainExpert > 0 ? `, experts ÷ expert-DP ${expertShard}` : ""}`;
        items.push({
            label: "optimizer state",
            bytes: t.optimizerCpuOffload ? 0 : optBytes,
            formula: t.optimizerCpuOffload
                ? `in host RAM (optimizer CPU offload): ${fmtGiB(cpuOptBytes)} per GPU (${CPU_OPTIMIZER_BYTES} B/param ÷ ${shardText})`
                : `${optPerParam} B/param (FP32 main${fp32Grads ? "" : " + FP32 main grad"} + Adam m, v) ÷ ${shardText} — distributed optimizer`,
        });
        let maxLayer = 0;
        let allLayers = 0;
        const stageN = Math.max(0, Math.min(n, a.numLayers - startLayer));
        for (let j = 0; j < stageN; j++) {
            const b = activationBytesPerTokenLayer(a, startLayer + j, t) * t.tokensPerGpu;
            allLayers += b;
            if (b > maxLayer) maxLayer = b;
        }
        const inputOnly = (t.tokensPerGpu * a.hiddenSize * ACT_BYTES) / seqShard;
        // 1F1B: stage s holds PP − s micro-batches in flight (Korthikanti et al. 2022 §4.2.3: the first stage PP).
        const inFlight = Math.max(1, pp - s);
        let kept: number;
        let rebuilt = 0;
        let how: string;
        const r = t.recompute;
        if (r?.granularity === "full" && r.method === "uniform") {
            const k = Math.max(1, r.numLayers ?? 1);
            kept = Math.ceil(stageN / k) * inputOnly;
            rebuilt = Math.min(k, stageN) * maxLayer;
            how = `full recompute (uniform, ${k}): ${Math.ceil(stageN / k)} chunk inputs per micro-batch + ${Math.min(k, stageN)} layer(s) rebuilt for one micro-batch at a time`;
        } else if (r?.granularity === "full" && r.method === "block") {
            const k = Math.min(stageN, Math.max(0, r.numLayers ?? 0));
            kept = k * inputOnly + (stageN > 0 ? (allLayers * (stageN - k)) / stageN : 0);
            rebuilt = k > 0 ? maxLayer : 0;
            how = `full recompute (block, ${k} of ${stageN} layers)`;
        } else {
            kept = allLayers;
            how = r?.granularity === "selective" ? "selective recompute (flash attention keeps no score matrix, so little is saved)" : "no recompute: every layer's activations kept";
        }
        // Megatron's recompute (megatron/core/transformer/transformer_block.py `_checkpointed_forward`)
        // rebuilds a chunk during the backward of one micro-batch; the other in-flight ones keep only inputs.
        items.push({ label: "activations", bytes: kept * inFlight + rebuilt, formula: `${t.tokensPerGpu} tokens/GPU × ${stageN} layers, ${how}${inFlight > 1 ? `; ${inFlight} micro-batches in flight (1F1B, stage ${s + 1})` : ""}` });
        if (s === pp - 1 && mtpLayers > 0 && t.mtp?.training && a.numLayers > 0) {
            // Each trained MTP layer runs one more decoder layer (the model's last one) on the micro-batch, outside the decoder's recompute.
            const perLayer = activationBytesPerTokenLayer(a, a.numLayers - 1, t) * t.tokensPerGpu;
            items.push({ label: "MTP activations", bytes: mtpLayers * perLayer, formula: `${mtpLayers} MTP layer(s) × ${t.tokensPerGpu} tokens (one more decoder layer each, trained with --enable-mtp-training; their loss's vocabulary tensors not counted)` });
        }
        if (s === pp - 1 && a.vocabSize) {
            const perElement = LOGIT_BYTES + (t.entropyWithGrad ? ENTROPY_LOGIT_BYTES : 0);
            items.push({
                label: "logits",
                bytes: (t.tokensPerGpu * a.vocabSize * perElement) / t.tp,
                formula: `${t.tokensPerGpu} tokens × vocab ${a.vocabSize} ÷ TP ${t.tp} × ${perElement} B (the loss's backward: FP32 log-prob copy + two FP32 logit gradients${t.entropyWithGrad ? " + the entropy's FP32 copy and softmax" : ""})`,
            });
        }
        items.push({ label: "margin", bytes: TRAIN_MARGIN_BYTES, formula: "miles' --train-memory-margin-bytes (CUDA context, NCCL, fragmentation)" });
        const weightsGrads = frozen * 2 + trainable * wgBytes;
        const fit = { ...phase(items, cap), state: { weightsGrads, optimizer: optBytes, cpuOptimizer: cpuOptBytes } };
        startLayer += n;
        // Host RAM of this rank: the CPU optimizer; with --offload-train to CPU the GPU-resident optimizer
        // state is paused with a CPU backup (miles/ray/train/actor_factory.py:60 `TMS_INIT_ENABLE_CPU_BACKUP=1`)
        // while the param and grad buffers are dropped without one (miles/utils/arguments.py:3333-3335
        // `disable_{grad,param}_buffers_cpu_backup`); the weights come back from the pinned copies.
        const pausedToCpu = inp.colocate && inp.offloadTrain && (inp.offloadTrainTarget ?? "cpu") === "cpu";
        return {
            fit,
            host: {
                cpuOptimizer: t.optimizerCpuOffload ? cpuOptBytes : 0,
                optimizerBackup: pausedToCpu && !t.optimizerCpuOffload ? optBytes : 0,
                weightCopies: copies * WEIGHT_BACKUP_BYTES * rankParams,
                copies,
            },
        };
    });
}

/** Training-phase memory of the busiest actor GPU (every pipeline stage is evaluated). */
function trainPhase(stages: StageFit[]): PhaseFit {
    return stages.reduce((w, s) => (s.fit.totalBytes > w.totalBytes ? s.fit : w), stages[0].fit);
}

/**
 * Bytes of the rollout checkpoint's weights, by the rules of miles' converters (radixark/miles v0.1.0):
 * - fp8: tools/convert_hf_to_fp8.py quantizes every linear weight except norms, embeddings, the MoE
 *   router (`mlp.gate.`) and lm_head to 1 byte, with one FP32 scale per 128×128 block (`--strategy block`).
 *   Published FP8 releases (DeepSeek-V3/R1) use the same 128×128 block layout.
 * - int4: tools/convert_hf_to_int4_direct.py's default ignore rules leave lm_head, norms, embeddings,
 *   self_attn, shared experts, dense MLPs and the router in BF16: only routed experts become INT4
 *   (0.5 byte + one BF16 scale per `--group-size` group, symmetric so no zero point). A dense model
 *   therefore stays at BF16 size. `scope: "all-linear"` counts every linear weight as INT4 instead
 *   (what a W4A16 quantizer without those rules would do).
 */
export function rolloutWeightBytes(a: ArchFacts, p: { dense: number; expert: number; total: number }, precision: RolloutPrecision, int4GroupSize = 32, scope: "miles" | "all-linear" = "miles"): number {
    const emb = embeddingParams(a);
    const embParams = emb.input + emb.output;
    if (precision === "bf16") return p.total * 2;
    if (precision === "fp8") {
        const routers = a.moeLayers.filter(Boolean).length * a.hiddenSize * a.numExperts;
        const linear = Math.max(0, p.total - embParams - routers);
        return linear * (1 + 4 / (128 * 128)) + (embParams + routers) * 2;
    }
    const w4 = 0.5 + 2 / int4GroupSize;
    if (scope === "all-linear") {
        const linear = Math.max(0, p.total - embParams);
        return linear * w4 + embParams * 2;
    }
    return p.expert * w4 + p.dense * 2;
}

/**
 * KV-cache bytes per token of one engine GPU (MLA caches the compressed latent, replicated across TP).
 * `layers`: the layers that cache KV (all of them, or a hybrid model's full-attention layers).
 */
export function kvBytesPerToken(a: ArchFacts, gpusPerEngine: number, kvBytes: number, layers = a.numLayers): number {
    if (a.mla) return layers * (a.mla.kvLoraRank + a.mla.qkPosEmbHeadDim) * kvBytes;
    // K and V per layer; with fewer KV heads than TP ranks SGLang replicates heads (one per rank).
    const headsPerGpu = Math.max(1, a.numQueryGroups / gpusPerEngine);
    return layers * 2 * headsPerGpu * a.kvChannels * kvBytes;
}

/**
 * GPU memory SGLang does not see as free when it profiles (CUDA context, NCCL/cuBLAS workspaces of the
 * engine process): `--mem-fraction-static` applies to the memory free *before* the weights load, not to
 * the GPU's size. Derived from radixark/miles v0.1.0 docs/models/qwen/qwen3-8.md: 158,018 KV tokens +
 * 60 GDN slots at 0.5 and 517,999 + 198 at 0.8 on an H200 (65,536 B per token in the 16 full-attention
 * layers, 153.9 MB per GDN slot) differ by 41.76 GiB = 0.3 × 139.2 GiB free, so 141 − 139.2 ≈ 1.8 GiB is
 * not available to the engine (test/memoryFit.test.ts re-derives it). One GPU type, one point.
 */
export const SGLANG_UNAVAILABLE_BYTES = 1.8 * GIB;

/**
 * SGLang's split of the hybrid pool between the linear-attention state and the full-attention KV:
 * `--mamba-full-memory-ratio` default 0.9 (sgl-project/sglang python/sglang/srt/server_args.py), the
 * state gets ratio ÷ (1 + ratio) of what remains (model_runner_kv_cache_mixin.py `handle_max_mamba_cache`).
 */
export const MAMBA_FULL_MEMORY_RATIO = 0.9;

/**
 * Rollout-phase memory of one engine GPU, the way SGLang sizes its pools (sgl-project/sglang
 * python/sglang/srt/model_executor/model_runner_kv_cache_mixin.py `profile_max_num_token`, v0.5.x, the
 * base of the sglang-miles branch miles v0.1.0 builds on, docker/Dockerfile `SGLANG_IMAGE_TAG=v0.5.16`):
 * rest = free after loading − free before loading × (1 − mem_fraction_static), i.e. fraction × free memory
 * − weights; a hybrid model first sets aside the linear-attention state slots, the rest is KV cache.
 */
function rolloutPhase(inp: FitInput, p: ReturnType<typeof effectiveParams>, stages: StageFit[]): PhaseFit & { kvTokens: number; linearStateSlots?: number; kvUnallocatedBytes: number } {
    const a = inp.arch;
    const r = inp.rollout;
    const cap = inp.gpuMemoryGiB * GIB;
    const free = Math.max(0, cap - SGLANG_UNAVAILABLE_BYTES);
    const weights = rolloutWeightBytes(a, p, r.precision, r.int4GroupSize) / r.gpusPerEngine;
    const staticBytes = r.memFractionStatic * free;
    const rest = Math.max(0, staticBytes - weights);
    const h = r.hybrid;
    const kvLayers = h ? h.fullAttentionLayers : a.numLayers;
    const perToken = kvBytesPerToken(a, r.gpusPerEngine, r.kvBytes, kvLayers);
    let stateBytes = 0;
    let slots: number | undefined;
    const items: Item[] = [{ label: "weights", bytes: weights, formula: `${r.precision.toUpperCase()} rollout checkpoint ${fmtGiB(weights * r.gpusPerEngine)} ÷ ${r.gpusPerEngine} GPU(s) per engine` }];
    if (h && h.linearLayers > 0 && h.stateBytesPerLayer > 0) {
        const ratio = h.mambaFullMemoryRatio ?? MAMBA_FULL_MEMORY_RATIO;
        const perSeq = h.linearLayers * h.stateBytesPerLayer;
        slots = Math.floor((rest * ratio) / (1 + ratio) / perSeq);
        stateBytes = slots * perSeq;
        items.push({ label: "linear-attention state", bytes: stateBytes, formula: `${slots} sequences × ${h.linearLayers} linear layers × ${(h.stateBytesPerLayer / 2 ** 20).toFixed(2)} MiB (SGLang mamba-full-memory-ratio ${ratio})` });
    }
    const budget = Math.max(0, rest - stateBytes);
    const budgetTokens = perToken > 0 ? Math.floor(budget / perToken) : 0;
    const capped = r.maxTotalTokens !== undefined && r.maxTotalTokens < budgetTokens;
    const kvTokens = capped ? r.maxTotalTokens! : budgetTokens;
    const kv = capped ? kvTokens * perToken : budget;
    items.push({
        label: "KV cache",
        bytes: kv,
        formula: capped
            ? `--sglang-max-total-tokens ${kvTokens.toLocaleString("en-US")} (of ${budgetTokens.toLocaleString("en-US")} that mem-fraction-static ${r.memFractionStatic} would allow) at ${(perToken / 1024).toFixed(0)} KiB/token`
            : `mem-fraction-static ${r.memFractionStatic} × ${fmtGiB(free)} free − weights${h ? " − linear state" : ""} = ${kvTokens.toLocaleString("en-US")} tokens at ${(perToken / 1024).toFixed(0)} KiB/token${h ? ` (${kvLayers} full-attention layers of ${a.numLayers})` : ""}`,
    });
    if (r.cudaGraphBytes) items.push({ label: "CUDA graphs", bytes: r.cudaGraphBytes, formula: "captured after the KV pool, outside mem-fraction-static" });
    // Colocated without train offload: the trainer's state stays during generation.
    if (inp.colocate && !inp.offloadTrain) {
        const st = trainPhase(stages).state!;
        const resident = st.weightsGrads + (inp.train.optimizerCpuOffload ? 0 : st.optimizer);
        items.push({ label: "actor state (offload.train off)", bytes: resident, formula: "weights, grads and optimizer stay on the GPU while the engines generate" });
    }
    const f = phase(items, cap);
    // Weights beyond the static share leave no KV cache at all.
    if (weights > staticBytes) f.usage = Math.max(f.usage, weights / Math.max(1, staticBytes));
    return { ...f, kvTokens, linearStateSlots: slots, kvUnallocatedBytes: budget - kv };
}

/**
 * Host memory of the busiest GPU node: the ranks it actually hosts. Megatron orders ranks with pipeline
 * parallelism outermost (radixark/miles v0.1.0 docs/examples/on-policy-distillation/qwen3-5-35b-selfdistill.md:
 * "miles rank order ends in `pp`"; Megatron's default `--order tp-cp-ep-dp-pp`), so stage s holds ranks
 * [s·R, (s+1)·R) with R = world ÷ PP and node n ranks [n·g, (n+1)·g).
 */
function hostPhase(inp: FitInput, stages: StageFit[]): PhaseFit {
    const world = Math.max(1, inp.train.world);
    const g = Math.max(1, inp.gpusPerNode);
    const R = Math.max(1, Math.floor(world / stages.length));
    const nodes = Math.ceil(world / g);
    let best = { cpuOptimizer: 0, optimizerBackup: 0, weightCopies: 0, total: -1, node: 0, stages: new Set<number>() };
    // Nodes wholly inside one stage all hold the same; the busiest node is the first node of a stage,
    // the one after it, or the one holding its last rank: at most 3 × PP candidates, not every node
    // (a layout of a billion nodes is judged in microseconds).
    const candidates = new Set<number>([0, nodes - 1]);
    for (let s = 0; s < stages.length; s++) {
        const first = Math.floor((s * R) / g);
        for (const n of [first, first + 1, Math.floor((Math.min(world, (s + 1) * R) - 1) / g)]) if (n >= 0 && n < nodes) candidates.add(n);
    }
    for (const n of [...candidates].sort((a, b) => a - b)) {
        const acc = { cpuOptimizer: 0, optimizerBackup: 0, weightCopies: 0, total: 0, node: n, stages: new Set<number>() };
        const lo = n * g;
        const hi = Math.min(world, lo + g);
        // Stages overlapping this node's rank range, each contributing per-rank × overlap.
        for (let s = Math.min(stages.length - 1, Math.floor(lo / R)); s < stages.length && s * R < hi; s++) {
            const from = Math.max(lo, s * R);
            const to = s === stages.length - 1 ? hi : Math.min(hi, (s + 1) * R);
            const k = Math.max(0, to - from);
            if (k === 0) continue;
            const h = stages[s].host;
            acc.cpuOptimizer += h.cpuOptimizer * k;
            acc.optimizerBackup += h.optimizerBackup * k;
            acc.weightCopies += h.weightCopies * k;
            acc.stages.add(s + 1);
        }
        acc.total = acc.cpuOptimizer + acc.optimizerBackup + acc.weightCopies;
        if (acc.total > best.total) best = acc;
    }
    const where = `node ${best.node + 1} of ${nodes} (${Math.min(g, world)} ranks, pipeline stage${best.stages.size > 1 ? "s" : ""} ${[...best.stages].join(", ")})`;
    const copies = stages[0].host.copies;
    const items: Item[] = [];
    if (best.cpuOptimizer > 0) items.push({ label: "optimizer (CPU offload)", bytes: best.cpuOptimizer, formula: `${CPU_OPTIMIZER_BYTES} B/param ÷ DP × CP of each rank on ${where}` });
    if (best.optimizerBackup > 0) items.push({ label: "optimizer (paused with --offload-train)", bytes: best.optimizerBackup, formula: `the GPU optimizer state (÷ DP × CP) of each rank on ${where}: torch_memory_saver's CPU backup while the engines generate` });
    if (best.weightCopies > 0) items.push({ label: "pinned weight copies", bytes: best.weightCopies, formula: `${copies} BF16 cop${copies === 1 ? "y" : "ies"} (${[inp.colocate || inp.withRef ? (inp.rematerializeParams ? undefined : "actor") : undefined, inp.withRef ? "ref" : undefined, inp.extraWeightCopies ? `${inp.extraWeightCopies} more` : undefined].filter(Boolean).join(", ")}) of each rank's weights on ${where} (miles TensorBackuper)` });
    return phase(items, inp.hostMemoryGiB * GIB);
}

const pct = (x: number) => `${Math.round(x * 100)} %`;

export function memoryFit(inp: FitInput): MemoryFit {
    const p = effectiveParams(inp.arch, inp.publishedTotalB, inp.publishedActiveB);
    const stages = stageFits(inp, p);
    const train = trainPhase(stages);
    const rollout = rolloutPhase(inp, p, stages);
    // Colocated without rollout offload: the engines keep their static share during training (less
    // the KV pool a --sglang-max-total-tokens cap left unallocated).
    if (inp.colocate && !inp.offloadRollout) {
        const share = inp.rollout.memFractionStatic * Math.max(0, inp.gpuMemoryGiB * GIB - SGLANG_UNAVAILABLE_BYTES);
        const capped = rollout.kvUnallocatedBytes > 0;
        const staticBytes = share - rollout.kvUnallocatedBytes;
        train.items.push({
            label: "SGLang static (offload.rollout off)",
            bytes: staticBytes,
            formula: capped
                ? `the engine's weights and its KV pool capped at --sglang-max-total-tokens stay allocated while training`
                : `mem-fraction-static ${inp.rollout.memFractionStatic} of the free GPU memory stays allocated while training`,
        });
        train.totalBytes = train.items.reduce((s, x) => s + x.bytes, 0);
        train.usage = train.totalBytes / train.capacityBytes;
    }
    const accuracy =
        `counts tensors by upstream's rules (Megatron distributed optimizer, miles offload and pinned copies, miles' TP-replicated Gated DeltaNet, the loss's vocabulary copies, SGLang pool sizing); ` +
        `against miles' published figures: KV tokens within ±${pct(ACCURACY.kvTokens)}, GPU peaks within ±${pct(ACCURACY.gpuPeak)} (CUDA contexts, NCCL, the paused engine's allocator cache and fragmentation have no formula: the 3 GiB margin stands for them), ` +
        `host CPU-optimizer state within ±${pct(ACCURACY.host)} — docs/memory-fit.md`;
    return { paramsBasis: p.basis, params: { dense: p.dense, expert: p.expert, total: p.total }, train, rollout: (({ kvUnallocatedBytes: _u, ...r }) => r)(rollout), host: hostPhase(inp, stages), accuracy };
}

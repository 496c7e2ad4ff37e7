/**
 * Per-GPU memory fit of a miles run, estimated before any GPU is paid for: the Megatron actor
 * (weights, gradients, optimizer state, activations, logits) and the SGLang rollout engines
 * (weights at the rollout precision, KV cache), the colocated hand-over between the two, and the
 * host memory that CPU offload needs. Pure arithmetic; every formula names its source.
 *
 * Units: bytes internally; GPU capacity is the catalog's `gpuMemoryGiB` × 2^30 (catalog/instances.ts). How
 * much of it CUDA exposes on a given driver was not measured here, so the 3 GiB margin below covers it too.
 *
 * What it is not: a measurement. Fragmentation, NCCL buffers, CUDA graphs and kernel workspaces vary
 * with versions; the estimate keeps miles' own training margin for them and errs high on activations
 * (every layer input kept, no FP8 activation savings). A layout the estimate rejects can still be
 * forced with `training.resources.memoryFitCheck: warn` once it has been measured on a real cluster.
 */
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
 * Host bytes per parameter of `--optimizer-cpu-offload`: Megatron's HybridDeviceOptimizer keeps a pinned
 * FP32 copy of each parameter and of its gradient on the CPU besides Adam's two FP32 moments (radixark/
 * Megatron-LM @ 37f91617 megatron/core/optimizer/cpu_offloading/hybrid_optimizer.py: `param.detach().clone()
 * .cpu().pin_memory()`, `torch.empty(..., pin_memory=self.pin_cpu_grads, device="cpu")`), sharded over DP.
 */
export const CPU_OPTIMIZER_BYTES = 16;
/**
 * Measured host use over this estimate. THUDM/slime docs/en/models/deepseek-r1.md (read at zyzshishui/slime
 * 22757172) reports 1.4–1.5 TB of host memory per 8×H100 node for DeepSeek-R1 with CPU Adam (TP8 PP4 CP4
 * EP32, 128 GPUs); the components counted here come to 0.93 TB for that layout (test/memoryFit.test.ts).
 * The host check applies this factor so that pinned staging buffers, the Python/CUDA processes and the
 * Ray object store are not assumed away. One published point: verified only on a real cluster.
 */
export const HOST_MEASURED_FACTOR = 1.55;

/** Bytes per element of activations kept for the backward pass (BF16). */
const ACT_BYTES = 2;
/**
 * Bytes per logit element on the last pipeline stage: the BF16 logits plus the FP32 copy the
 * log-softmax / entropy of the policy loss works on (miles computes log-probs and entropy over the full
 * vocabulary slice of each TP rank).
 */
const LOGIT_BYTES = 2 + 4;

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
    /** `--optimizer-cpu-offload` (with `--use-precision-aware-optimizer`): the sharded 12 bytes/param live in host RAM. */
    optimizerCpuOffload: boolean;
}

export interface RolloutLayout {
    /** GPUs per SGLang engine (its tensor-parallel size). */
    gpusPerEngine: number;
    precision: RolloutPrecision;
    /** INT4 group size (the converter's `--group-size`). */
    int4GroupSize: number;
    memFractionStatic: number;
    /** KV cache element size: 2 (BF16) or 1 (`fp8_e4m3`). */
    kvBytes: number;
    /** Longest sequence (prompt + response) an engine must hold. */
    maxSequenceTokens: number;
}

export interface FitInput {
    arch: ArchFacts;
    /** Published totals (billions), used when the architecture cannot be counted (custom layer specs). */
    publishedTotalB?: number;
    publishedActiveB?: number;
    gpuMemoryGiB: number;
    gpusPerNode: number;
    /** Memory of one GPU worker pod (host RAM the offloads can use). */
    hostMemoryGiB: number;
    colocate: boolean;
    /** miles' `--offload-train` (default on when colocated). */
    offloadTrain: boolean;
    /** miles' `--offload-rollout` (default on when colocated). */
    offloadRollout: boolean;
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
    rollout: PhaseFit & { kvTokens: number };
    host: PhaseFit;
}

/** Parameter counts: from the architecture, or the published totals when the layers are not standard. */
export function effectiveParams(arch: ArchFacts, totalB?: number, activeB?: number): { dense: number; expert: number; total: number; basis: string } {
    const c = paramCounts(arch);
    const published = totalB !== undefined ? totalB * 1e9 : undefined;
    const close = published === undefined || Math.abs(c.total / published - 1) <= 0.1;
    if (close && c.total > 0) return { dense: c.dense, expert: c.expert, total: c.total, basis: `counted from the architecture args (${(c.total / 1e9).toFixed(1)}B)` };
    // Published totals: routed experts E of which k are active, so active = dense + expert × k/E.
    const total = published ?? c.total;
    const active = activeB !== undefined ? activeB * 1e9 : total;
    const k = arch.numExperts > 0 ? arch.moeRouterTopk / arch.numExperts : 1;
    const expert = arch.numExperts > 0 && k < 1 ? Math.max(0, Math.min(total, (total - active) / (1 - k))) : 0;
    return { dense: total - expert, expert, total, basis: `published total ${(total / 1e9).toFixed(1)}B${activeB !== undefined ? ` / ${activeB}B active` : ""} (the layer specs are the model's own, so the args are not counted)` };
}

/** Layers of each pipeline stage (uneven first/last stages as Megatron splits them). */
export function stageLayers(numLayers: number, pp: number, first?: number, last?: number): number[] {
    if (pp <= 1) return [numLayers];
    const middle = pp - (first !== undefined ? 1 : 0) - (last !== undefined ? 1 : 0);
    const rest = numLayers - (first ?? 0) - (last ?? 0);
    const each = middle > 0 ? Math.ceil(rest / middle) : 0;
    return Array.from({ length: pp }, (_, i) => (i === 0 && first !== undefined ? first : i === pp - 1 && last !== undefined ? last : each));
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
    if (a.mla) {
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

const fmtGiB = (b: number): string => `${(b / GIB).toFixed(1)} GiB`;

function phase(items: Item[], capacityBytes: number): PhaseFit {
    const totalBytes = items.reduce((s, x) => s + x.bytes, 0);
    return { items, totalBytes, capacityBytes, usage: capacityBytes > 0 ? totalBytes / capacityBytes : Infinity };
}

/** Parameters held by the rank of pipeline stage `s` (first stage also the input embedding, last the output layer). */
function stageParams(a: ArchFacts, layers: number[], s: number, scale: { dense: number; expert: number }): { dense: number; expert: number } {
    const startLayer = layers.slice(0, s).reduce((x, y) => x + y, 0);
    let dense = 0;
    let expert = 0;
    for (let i = startLayer; i < Math.min(a.numLayers, startLayer + layers[s]); i++) {
        const l = layerParams(a, i);
        dense += l.dense;
        expert += l.expert;
    }
    const emb = embeddingParams(a);
    if (s === 0) dense += emb.input;
    // Tied embeddings with PP > 1 keep a copy of the embedding on the last stage for the output layer.
    if (s === layers.length - 1) dense += emb.output > 0 ? emb.output : layers.length > 1 ? emb.input : 0;
    return { dense: dense * scale.dense, expert: expert * scale.expert };
}

/** Training-phase memory of the busiest actor GPU. */
function trainPhase(inp: FitInput, p: ReturnType<typeof effectiveParams>): PhaseFit {
    const a = inp.arch;
    const t = inp.train;
    const cap = inp.gpuMemoryGiB * GIB;
    const counted = paramCounts(a);
    // Scale the architecture's per-layer split to the effective totals (1 when counted from the args).
    const scale = { dense: counted.dense > 0 ? p.dense / counted.dense : 1, expert: counted.expert > 0 ? p.expert / counted.expert : 1 };
    const layers = stageLayers(a.numLayers, t.pp, t.firstStageLayers, t.lastStageLayers);
    const dp = Math.max(1, Math.floor(t.world / (t.tp * t.pp * t.cp)));
    const edp = Math.max(1, Math.floor(t.world / (t.ep * t.etp * t.pp)));
    let worst: PhaseFit | undefined;
    for (const s of new Set([0, layers.length - 1])) {
        const sp = stageParams(a, layers, s, scale);
        const dense = sp.dense / t.tp;
        const expert = sp.expert / (t.ep * t.etp);
        const rankParams = dense + expert;
        const items: Item[] = [];
        items.push({ label: "weights + grads", bytes: rankParams * WEIGHT_GRAD_BYTES, formula: `${(rankParams / 1e9).toFixed(2)}B params on this rank (stage ${s + 1}/${t.pp}: dense ÷ TP ${t.tp}, experts ÷ EP ${t.ep} × ETP ${t.etp}) × ${WEIGHT_GRAD_BYTES} B (BF16 weight + FP32 grad)` });
        const optBytes = (dense * OPTIMIZER_BYTES) / dp + (expert * OPTIMIZER_BYTES) / edp;
        const cpuOptBytes = (dense * CPU_OPTIMIZER_BYTES) / dp + (expert * CPU_OPTIMIZER_BYTES) / edp;
        items.push({
            label: "optimizer state",
            bytes: t.optimizerCpuOffload ? 0 : optBytes,
            formula: t.optimizerCpuOffload
                ? `in host RAM (optimizer CPU offload): ${fmtGiB(cpuOptBytes)} per GPU (${CPU_OPTIMIZER_BYTES} B/param ÷ DP ${dp})`
                : `${OPTIMIZER_BYTES} B/param (FP32 main + Adam m, v) ÷ DP ${dp}${expert > 0 ? ` (experts ÷ expert-DP ${edp})` : ""} — distributed optimizer`,
        });
        const n = layers[s];
        const startLayer = layers.slice(0, s).reduce((x, y) => x + y, 0);
        const perLayer = Array.from({ length: n }, (_, j) => activationBytesPerTokenLayer(a, Math.min(a.numLayers - 1, startLayer + j), t) * t.tokensPerGpu);
        const maxLayer = perLayer.length > 0 ? Math.max(...perLayer) : 0;
        const inputOnly = (t.tokensPerGpu * a.hiddenSize * ACT_BYTES) / (t.sequenceParallel && t.tp > 1 ? t.tp : 1);
        let stored: number;
        let how: string;
        const r = t.recompute;
        if (r?.granularity === "full" && r.method === "uniform") {
            const k = Math.max(1, r.numLayers ?? 1);
            stored = Math.ceil(n / k) * inputOnly + k * maxLayer;
            how = `full recompute (uniform, ${k}): ${Math.ceil(n / k)} chunk inputs + ${k} layer(s) rebuilt`;
        } else if (r?.granularity === "full" && r.method === "block") {
            const k = Math.min(n, Math.max(0, r.numLayers ?? 0));
            stored = k * inputOnly + perLayer.slice(k).reduce((x, y) => x + y, 0) + (k > 0 ? maxLayer : 0);
            how = `full recompute (block, ${k} of ${n} layers)`;
        } else {
            stored = perLayer.reduce((x, y) => x + y, 0);
            how = r?.granularity === "selective" ? "selective recompute (flash attention keeps no score matrix, so little is saved)" : "no recompute: every layer's activations kept";
        }
        // 1F1B: the first stage holds PP micro-batches in flight (Korthikanti et al. 2022 §4.2.3).
        const inFlight = s === 0 ? t.pp : 1;
        items.push({ label: "activations", bytes: stored * inFlight, formula: `${t.tokensPerGpu} tokens/GPU × ${n} layers, ${how}${inFlight > 1 ? ` × ${inFlight} micro-batches in flight (1F1B)` : ""}` });
        if (s === layers.length - 1 && a.vocabSize) {
            items.push({ label: "logits", bytes: (t.tokensPerGpu * a.vocabSize * LOGIT_BYTES) / t.tp, formula: `${t.tokensPerGpu} tokens × vocab ${a.vocabSize} ÷ TP ${t.tp} × ${LOGIT_BYTES} B (BF16 logits + FP32 log-softmax)` });
        }
        items.push({ label: "margin", bytes: TRAIN_MARGIN_BYTES, formula: "miles' --train-memory-margin-bytes (CUDA context, NCCL, fragmentation)" });
        const f = { ...phase(items, cap), state: { weightsGrads: rankParams * WEIGHT_GRAD_BYTES, optimizer: optBytes, cpuOptimizer: cpuOptBytes } };
        if (!worst || f.totalBytes > worst.totalBytes) worst = f;
    }
    return worst!;
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

/** KV-cache bytes per token of one engine GPU (MLA caches the compressed latent, replicated across TP). */
export function kvBytesPerToken(a: ArchFacts, gpusPerEngine: number, kvBytes: number): number {
    if (a.mla) return a.numLayers * (a.mla.kvLoraRank + a.mla.qkPosEmbHeadDim) * kvBytes;
    // K and V per layer; with fewer KV heads than TP ranks SGLang replicates heads (one per rank).
    const headsPerGpu = Math.max(1, a.numQueryGroups / gpusPerEngine);
    return a.numLayers * 2 * headsPerGpu * a.kvChannels * kvBytes;
}

/**
 * Rollout-phase memory of one engine GPU. SGLang reserves `mem_fraction_static` × GPU memory for the
 * weights and the KV-cache pool together (python/sglang/srt/server_args.py `--mem-fraction-static`:
 * "The fraction of the memory used for static allocation (model weights and KV cache memory pool)");
 * the KV pool is what the weights leave of it.
 */
function rolloutPhase(inp: FitInput, p: ReturnType<typeof effectiveParams>): PhaseFit & { kvTokens: number } {
    const a = inp.arch;
    const r = inp.rollout;
    const cap = inp.gpuMemoryGiB * GIB;
    const weights = rolloutWeightBytes(a, p, r.precision, r.int4GroupSize) / r.gpusPerEngine;
    const staticBytes = r.memFractionStatic * cap;
    const kv = Math.max(0, staticBytes - weights);
    const perToken = kvBytesPerToken(a, r.gpusPerEngine, r.kvBytes);
    const items: Item[] = [
        { label: "weights", bytes: weights, formula: `${r.precision.toUpperCase()} rollout checkpoint ${fmtGiB(weights * r.gpusPerEngine)} ÷ ${r.gpusPerEngine} GPU(s) per engine` },
        { label: "KV cache", bytes: kv, formula: `mem-fraction-static ${r.memFractionStatic} × ${inp.gpuMemoryGiB} GiB − weights = ${Math.floor(kv / Math.max(1, perToken)).toLocaleString("en-US")} tokens at ${(perToken / 1024).toFixed(0)} KiB/token` },
    ];
    // Colocated without rollout offload... the trainer's state stays during generation unless offload-train.
    if (inp.colocate && !inp.offloadTrain) {
        const st = trainPhase(inp, p).state!;
        const resident = st.weightsGrads + (inp.train.optimizerCpuOffload ? 0 : st.optimizer);
        items.push({ label: "actor state (offload.train off)", bytes: resident, formula: "weights, grads and optimizer stay on the GPU while the engines generate" });
    }
    const f = phase(items, cap);
    // Weights beyond the static share leave no KV cache at all.
    if (weights > staticBytes) f.usage = Math.max(f.usage, weights / staticBytes);
    return { ...f, kvTokens: perToken > 0 ? Math.floor(kv / perToken) : 0 };
}

/** Host memory of one GPU node: optimizer CPU offload and miles' colocated offload of the actor. */
function hostPhase(inp: FitInput, train: PhaseFit): PhaseFit {
    const st = train.state ?? { weightsGrads: 0, optimizer: 0, cpuOptimizer: 0 };
    const items: Item[] = [];
    const g = inp.gpusPerNode;
    if (inp.train.optimizerCpuOffload) {
        items.push({ label: "optimizer (CPU offload)", bytes: st.cpuOptimizer * g, formula: `${fmtGiB(st.cpuOptimizer)} per GPU × ${g} GPUs` });
    }
    if (inp.colocate && inp.offloadTrain) {
        const opt = inp.train.optimizerCpuOffload ? 0 : st.optimizer;
        items.push({ label: "actor offload while generating", bytes: (st.weightsGrads + opt) * g, formula: `(${fmtGiB(st.weightsGrads)} weights + grads${opt > 0 ? ` + ${fmtGiB(opt)} optimizer` : ""}) × ${g} GPUs (miles --offload-train to CPU)` });
    }
    const counted = items.reduce((x, y) => x + y.bytes, 0);
    if (counted > 0) items.push({ label: "staging, processes, object store", bytes: counted * (HOST_MEASURED_FACTOR - 1), formula: `× ${HOST_MEASURED_FACTOR} of the above, from slime's DeepSeek-R1 measurement (1.4–1.5 TB/node)` });
    return phase(items, inp.hostMemoryGiB * GIB);
}

export function memoryFit(inp: FitInput): MemoryFit {
    const p = effectiveParams(inp.arch, inp.publishedTotalB, inp.publishedActiveB);
    const train = trainPhase(inp, p);
    // Colocated without rollout offload: the engines keep their static share during training.
    if (inp.colocate && !inp.offloadRollout) {
        train.items.push({ label: "SGLang static (offload.rollout off)", bytes: inp.rollout.memFractionStatic * inp.gpuMemoryGiB * GIB, formula: `mem-fraction-static ${inp.rollout.memFractionStatic} × ${inp.gpuMemoryGiB} GiB stays allocated while training` });
        train.totalBytes = train.items.reduce((s, x) => s + x.bytes, 0);
        train.usage = train.totalBytes / train.capacityBytes;
    }
    return { paramsBasis: p.basis, params: { dense: p.dense, expert: p.expert, total: p.total }, train, rollout: rolloutPhase(inp, p), host: hostPhase(inp, train) };
}

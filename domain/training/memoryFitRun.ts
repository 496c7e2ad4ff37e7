/**
 * The memory-fit estimate (memoryFit.ts) of a resolved run: its GPU, layout, token budget, rollout
 * precision and offload switches, and the problems it implies — an error when an estimate exceeds the
 * GPU's (or the node's host) memory, naming the numbers and the knobs that would fix it; a warning
 * within 10%. `training.resources.memoryFitCheck: warn` turns the errors into warnings for a layout
 * measured to fit on a real cluster.
 */
import { fullAttentionLayers, hybridAttentionOf, linearStateBytesPerLayer } from "../../catalog/hybridAttention";
import { instanceFacts } from "../../catalog/instances";
import { GIB, memoryFit, type FitInput, type MemoryFit, type PhaseFit } from "./memoryFit";
import type { ResolvedTraining } from "./resolve";

/** Share of a capacity above which the plan warns (the "within 10%"). */
export const MEMORY_WARN_USAGE = 0.9;

/** Tokens of one micro-batch on one GPU: miles packs up to --max-tokens-per-gpu, a longer sample gets its own (split by CP). */
export function tokensPerGpu(r: ResolvedTraining): { tokens: number; basis: string } {
    const t = r.training;
    const { tokens: seq, basis: seqBasis } = r.effective.seqLength;
    const perGpuSeq = Math.ceil(seq / r.cp);
    if (t.algorithm.dynamicBatch.enabled) {
        const budget = t.algorithm.dynamicBatch.maxTokensPerGpu;
        return perGpuSeq > budget
            ? { tokens: perGpuSeq, basis: `one ${seqBasis}-token sample ÷ CP ${r.cp} (longer than maxTokensPerGpu ${budget}, so it forms its own micro-batch)` }
            : { tokens: budget, basis: `maxTokensPerGpu ${budget}` };
    }
    return { tokens: t.algorithm.microBatchSize * perGpuSeq, basis: `microBatchSize ${t.algorithm.microBatchSize} × ${seqBasis} ÷ CP ${r.cp}` };
}

/**
 * Bytes per KV-cache element of SGLang's `--kv-cache-dtype` (choices in shared/miles/sglang-server-flags.tsv:22:
 * auto, fp8_e5m2, fp8_e4m3, mxfp8, bf16, bfloat16, nvfp4, fp4_*): the element width each name states — fp8
 * 1 byte, fp4 half a byte (scales not counted) — and `auto`/`bf16` 2, taking `auto` as the model's BF16 dtype
 * (an assumption: the FP8-weight presets are not known to store an FP8 cache under `auto`).
 */
export function kvCacheBytes(dtype: string): number {
    if (dtype.startsWith("fp8") || dtype === "mxfp8") return 1;
    if (dtype.startsWith("fp4") || dtype === "nvfp4") return 0.5;
    return 2;
}

/**
 * Module names of miles' `--target-modules` that are attention projections (HF and Megatron spellings,
 * radixark/miles v0.1.0 miles/backends/megatron_utils/lora_utils.py:23-47 maps `q_proj,k_proj,v_proj` to
 * `linear_qkv` and `o_proj` to `linear_proj`). Anything else (`all-linear`, the MLP's `gate_proj`,
 * `up_proj`, `down_proj`, `linear_fc1`, `linear_fc2`) adapts the MLP too.
 */
const LORA_ATTENTION_MODULES = new Set(["q_proj", "k_proj", "v_proj", "o_proj", "linear_qkv", "linear_q", "linear_k", "linear_v", "linear_proj"]);

/** The LoRA the actor trains (effective.lora), as the fit counts it; undefined for full-parameter training. */
export function loraOf(r: ResolvedTraining): { rank: number; targets: "attention" | "all-linear" } | undefined {
    const l = r.effective.lora;
    if (l.rank <= 0) return undefined;
    const mods = (l.targetModules ?? "all-linear").split(",").map((m) => m.trim()).filter(Boolean);
    return { rank: l.rank, targets: mods.length > 0 && mods.every((m) => LORA_ATTENTION_MODULES.has(m)) ? "attention" : "all-linear" };
}

/**
 * Memory SGLang sets aside for CUDA graphs of an engine GPU: `reserved_mem += cuda_graph_max_bs * 2` MB,
 * plus `cuda_graph_max_bs * dp_size * 3` MB with DP attention (sgl-project/sglang python/sglang/srt/
 * server_args.py `_handle_gpu_memory_settings`, v0.5.x). Only counted where the run states the graph size
 * (`rollout.sglang.cudaGraphMaxBs`/`cudaGraphBs` or their flags): SGLang's own default depends on the GPU
 * and TP and is not modelled. undefined when the engine runs without CUDA graphs or the size is unset.
 */
export function cudaGraphReserve(r: ResolvedTraining): { bytes: number; maxBs: number } | undefined {
    const s = r.effective.sglang;
    if (r.effective.extra.has("--sglang-disable-cuda-graph")) return undefined;
    const maxBs = s.cudaGraphMaxBs ?? (s.cudaGraphBs && s.cudaGraphBs.length > 0 ? Math.max(...s.cudaGraphBs) : undefined);
    if (maxBs === undefined) return undefined;
    const mb = maxBs * 2 + (s.dpAttention ? maxBs * s.dpSize * 3 : 0);
    return { bytes: mb * 2 ** 20, maxBs };
}

/**
 * The model is built from miles' Qwen3.5 / Qwen3-Next layer specs, whose Gated DeltaNet is a plain
 * `nn.Linear` module replicated on every TP rank (radixark/miles v0.1.0 miles_plugins/models/hf_attention.py:194-202).
 */
export function usesMilesHybridSpec(archArgs: ReadonlyArray<string>): boolean {
    const i = archArgs.indexOf("--spec");
    return i >= 0 && /^miles_plugins\.models\.qwen3_(5|next)$/.test(archArgs[i + 1] ?? "");
}

export interface RunMemoryFit extends MemoryFit {
    gpu: string;
    tokensBasis: string;
}

/** The estimate for a run; undefined when the GPU or the architecture is unknown. */
export function runMemoryFit(r: ResolvedTraining): RunMemoryFit | undefined {
    const g = r.group;
    if (!g?.instanceType || r.model.arch.numLayers <= 0 || r.model.arch.hiddenSize <= 0) return undefined;
    const facts = instanceFacts(g.instanceType);
    const t = r.training;
    const p = t.parallelism;
    const tok = tokensPerGpu(r);
    const colocate = t.layout.colocate;
    const hybrid = hybridAttentionOf(r.model.name);
    const full = hybrid ? fullAttentionLayers(hybrid, r.model.arch.numLayers) : 0;
    const input: FitInput = {
        arch: r.model.arch,
        publishedTotalB: r.model.totalParamsB,
        publishedActiveB: r.model.activeParamsB,
        gpuMemoryGiB: facts.gpuMemoryGiB,
        gpusPerNode: r.gpusPerNode,
        hostMemoryGiB: r.worker.memoryGiB,
        colocate,
        offloadTrain: r.effective.offloadTrain,
        offloadRollout: r.effective.offloadRollout,
        rematerializeParams: r.effective.rematerializeParams,
        // miles/ray/placement_group.py:150: a reference model is loaded when `kl_coef != 0 or use_kl_loss`.
        withRef: t.algorithm.kl.useKlLoss || t.algorithm.kl.klCoef !== 0,
        train: {
            tp: r.tp,
            pp: r.pp,
            cp: r.cp,
            ep: r.ep,
            etp: r.etp,
            world: r.actorGpus,
            sequenceParallel: r.effective.sequenceParallel,
            firstStageLayers: p.decoderFirstPipelineNumLayers,
            lastStageLayers: p.decoderLastPipelineNumLayers,
            recompute: r.effective.recompute,
            tokensPerGpu: tok.tokens,
            optimizerCpuOffload: t.offload.optimizerCpu,
            gradsInFp32: r.effective.gradsInFp32,
            lora: loraOf(r),
            // losses.py:113,122 (radixark/miles v0.1.0): the entropy is differentiated when its coefficient is not 0.
            entropyWithGrad: t.algorithm.entropyCoef !== 0,
            // miles' own hybrid specs (`--spec miles_plugins.models.qwen3_5 …` / `qwen3_next`) keep the GDN layers whole on every TP rank.
            replicatedLinearAttention: hybrid && usesMilesHybridSpec(r.model.archArgs) ? hybrid : undefined,
            mtp: r.model.mtpLayers > 0 ? { layers: r.model.mtpLayers, training: t.features.mtp.training } : undefined,
        },
        rollout: {
            gpusPerEngine: t.layout.gpusPerEngine,
            precision: r.effective.rolloutPrecision,
            int4GroupSize: t.features.int4Qat.groupSize,
            memFractionStatic: t.rollout.memFractionStatic,
            kvBytes: kvCacheBytes(r.effective.sglang.kvCacheDtype),
            cudaGraphBytes: cudaGraphReserve(r)?.bytes,
            maxSequenceTokens: r.effective.seqLength.tokens,
            maxTotalTokens: r.effective.sglang.maxTotalTokens,
            hybrid: hybrid
                ? { fullAttentionLayers: full, linearLayers: r.model.arch.numLayers - full, stateBytesPerLayer: linearStateBytesPerLayer(hybrid, t.layout.gpusPerEngine) }
                : undefined,
        },
    };
    return { ...memoryFit(input), gpu: `${facts.gpuName} (${facts.gpuMemoryGiB} GiB)`, tokensBasis: tok.basis };
}

const gib = (b: number): string => `${(b / GIB).toFixed(1)} GiB`;

/** "weights + grads 394.2 GiB + optimizer state 98.6 GiB + …" */
export function breakdown(f: PhaseFit): string {
    return f.items
        .filter((i) => i.bytes > 0)
        .map((i) => `${i.label} ${gib(i.bytes)}`)
        .join(" + ");
}

type Push = (path: string, message: string) => void;

/** Errors when an estimate exceeds its capacity (warnings with memoryFitCheck: warn), warnings within 10%. */
export function memoryFitRules(r: ResolvedTraining, err: Push, warn: Push): void {
    const f = runMemoryFit(r);
    if (!f) return;
    const t = r.training;
    const fail: Push = t.resources.memoryFitCheck === "warn" ? warn : err;
    const knobsTrain = [
        r.model.numExperts > 0 ? "more EP" : undefined,
        "more TP or PP (parallelism.tp / pp)",
        r.effective.recompute?.granularity !== "full" ? 'recomputation (parallelism.recompute: {granularity: full, method: uniform, numLayers: 1})' : undefined,
        !t.offload.optimizerCpu ? "optimizer CPU offload (offload.optimizerCpu: true)" : undefined,
        t.algorithm.dynamicBatch.enabled ? "fewer tokens per GPU (algorithm.dynamicBatch.maxTokensPerGpu)" : "a smaller microBatchSize",
        // With the optimizer in host RAM a larger DP no longer shrinks the GPU side (only more EP/TP/PP does).
        !t.offload.optimizerCpu ? "more actor nodes (a larger DP × CP shards the optimizer)" : undefined,
    ].filter((k): k is string => k !== undefined);
    const pct = (u: number) => `${Math.round(u * 100)}%`;
    const tr = f.train;
    if (tr.usage > 1) {
        fail("training.parallelism", `the actor needs ≈ ${gib(tr.totalBytes)} per GPU but a ${f.gpu} has ${gib(tr.capacityBytes)} (${breakdown(tr)}); fix with ${knobsTrain.join(", ")}`);
    } else if (tr.usage > MEMORY_WARN_USAGE) {
        warn("training.parallelism", `the actor needs ≈ ${gib(tr.totalBytes)} of ${gib(tr.capacityBytes)} per GPU (${pct(tr.usage)}, within 10%: ${breakdown(tr)}); an OOM minutes into the run is likely — consider ${knobsTrain.slice(0, 3).join(", ")}`);
    }
    const ro = f.rollout;
    const weights = ro.items.find((i) => i.label === "weights")?.bytes ?? 0;
    const staticBytes = t.rollout.memFractionStatic * ro.capacityBytes;
    const rolloutKnobs = `more GPUs per engine (layout.gpusPerEngine, now ${t.layout.gpusPerEngine})${r.effective.rolloutPrecision !== "bf16" ? "" : ", an FP8 rollout (features.fp8Rollout)"}, or a larger rollout.memFractionStatic`;
    if (weights > staticBytes) {
        fail("training.layout.gpusPerEngine", `each SGLang engine GPU must hold ${gib(weights)} of weights but mem-fraction-static ${t.rollout.memFractionStatic} × ${gib(ro.capacityBytes)} = ${gib(staticBytes)} leaves no KV cache; fix with ${rolloutKnobs}`);
    } else if (ro.kvTokens < t.rollout.maxResponseLen) {
        warn("training.rollout.memFractionStatic", `the KV cache of an engine holds ≈ ${ro.kvTokens.toLocaleString("en-US")} tokens, less than one ${t.rollout.maxResponseLen}-token response; generation will be slow or fail — ${rolloutKnobs}`);
    }
    if (ro.usage > 1 && weights <= staticBytes) {
        fail("training.offload.train", `while the engines generate, a GPU needs ≈ ${gib(ro.totalBytes)} (${breakdown(ro)}) of ${gib(ro.capacityBytes)}; leave offload.train on (miles' default when colocated) or lower rollout.memFractionStatic`);
    }
    const head = r.head;
    if (head.from === "config" && head.memoryGiB < head.needGiB) {
        warn("training.resources.headMemoryGiB", `is ${head.memoryGiB} GiB but the Ray head holds ${head.basis}: set it to ${head.needGiB} or leave it unset (derived from the run), with a cluster.systemNodeGroup.instanceType that fits it, or lower rolloutBatchSize`);
    }
    const h = f.host;
    if (h.usage > 1) {
        fail("training.resources.workerMemoryGiB", `host memory of a GPU node: ≈ ${gib(h.totalBytes)} needed (${breakdown(h)}) but the worker pod has ${gib(h.capacityBytes)}; fix with more actor nodes (the CPU optimizer and the paused optimizer are sharded over DP × CP and expert-DP), more TP/PP/EP${t.layout.colocate ? "" : ", no reference model (kl.useKlLoss off: one pinned weight copy fewer)"}, or a larger resources.workerMemoryGiB`);
    } else if (h.usage > MEMORY_WARN_USAGE) {
        warn("training.resources.workerMemoryGiB", `host memory of a GPU node: ≈ ${gib(h.totalBytes)} of ${gib(h.capacityBytes)} (${pct(h.usage)}, within 10%: ${breakdown(h)})`);
    }
}

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
        // miles/utils/arguments.py: with --colocate, offload_train and offload_rollout default to True.
        offloadTrain: t.offload.train ?? colocate,
        offloadRollout: t.offload.rollout ?? colocate,
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
        },
        rollout: {
            gpusPerEngine: t.layout.gpusPerEngine,
            precision: r.effective.rolloutPrecision,
            int4GroupSize: t.features.int4Qat.groupSize,
            memFractionStatic: t.rollout.memFractionStatic,
            kvBytes: t.features.fp8KvCache ? 1 : 2,
            maxSequenceTokens: r.effective.seqLength.tokens,
            hybrid: hybrid
                ? { fullAttentionLayers: full, linearLayers: r.model.arch.numLayers - full, stateBytesPerLayer: linearStateBytesPerLayer(hybrid, t.layout.gpusPerEngine) }
                : undefined,
        },
    };
    return { ...memoryFit(input), gpu: `${facts.gpuName} (${facts.gpuMemoryGiB} GiB)`, tokensBasis: tok.basis };
}

const gib = (b: number): string => `${(b / GIB).toFixed(1)} GiB`;

/** The Ray head's memory without R3: the config default for the driver, RolloutManager and router (config/training.ts `headMemoryGiB`). */
export const HEAD_BASE_GIB = 8;

/**
 * Memory the Ray head needs for what it holds. miles runs the RolloutManager on the head
 * (`--pin-rollout-manager-to-head`, domain/training/argv.ts); with R3 every sample of a rollout batch
 * carries its routed experts, an int32 array of tokens × MoE layers × top-k (radixark/miles v0.1.0
 * miles/rollout/session/samples/codec.py:38 `"rollout_routed_experts": ValueSpec("tensor", np.int32)`,
 * miles/ray/rollout/train_data_conversion.py:22). Counted for a whole batch at the longest sequence,
 * on top of HEAD_BASE_GIB. undefined without R3 (the base suffices).
 */
export function headMemoryNeed(r: ResolvedTraining): { gib: number; r3Bytes: number; basis: string } | undefined {
    const t = r.training;
    if (!t.features.routingReplay || r.model.numExperts === 0) return undefined;
    const a = r.model.arch;
    const moeLayers = a.moeLayers.filter(Boolean).length;
    const samples = t.algorithm.rolloutBatchSize * t.algorithm.nSamplesPerPrompt;
    const tokens = r.effective.seqLength.tokens;
    const r3Bytes = samples * tokens * moeLayers * a.moeRouterTopk * 4;
    return {
        gib: HEAD_BASE_GIB + Math.ceil(r3Bytes / GIB),
        r3Bytes,
        basis: `${samples} samples × ${tokens.toLocaleString("en-US")} tokens × ${moeLayers} MoE layers × top-${a.moeRouterTopk} × 4 B (int32) = ${gib(r3Bytes)} of routed-expert arrays (R3) on the head, + ${HEAD_BASE_GIB} GiB for the driver, RolloutManager and router`,
    };
}

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
    const rolloutKnobs = `more GPUs per engine (layout.gpusPerEngine, now ${t.layout.gpusPerEngine})${t.features.fp8Rollout || t.features.int4Qat.enabled ? "" : ", an FP8 rollout (features.fp8Rollout)"}, or a larger rollout.memFractionStatic`;
    if (weights > staticBytes) {
        fail("training.layout.gpusPerEngine", `each SGLang engine GPU must hold ${gib(weights)} of weights but mem-fraction-static ${t.rollout.memFractionStatic} × ${gib(ro.capacityBytes)} = ${gib(staticBytes)} leaves no KV cache; fix with ${rolloutKnobs}`);
    } else if (ro.kvTokens < t.rollout.maxResponseLen) {
        warn("training.rollout.memFractionStatic", `the KV cache of an engine holds ≈ ${ro.kvTokens.toLocaleString("en-US")} tokens, less than one ${t.rollout.maxResponseLen}-token response; generation will be slow or fail — ${rolloutKnobs}`);
    }
    if (ro.usage > 1 && weights <= staticBytes) {
        fail("training.offload.train", `while the engines generate, a GPU needs ≈ ${gib(ro.totalBytes)} (${breakdown(ro)}) of ${gib(ro.capacityBytes)}; leave offload.train on (miles' default when colocated) or lower rollout.memFractionStatic`);
    }
    const head = headMemoryNeed(r);
    if (head && t.resources.headMemoryGiB < head.gib) {
        warn("training.resources.headMemoryGiB", `is ${t.resources.headMemoryGiB} GiB but the Ray head holds ${head.basis}: set it to ${head.gib} (and a cluster.systemNodeGroup.instanceType that fits it), or lower rolloutBatchSize`);
    }
    const h = f.host;
    if (h.usage > 1) {
        fail("training.resources.workerMemoryGiB", `host memory of a GPU node: ≈ ${gib(h.totalBytes)} needed (${breakdown(h)}) but the worker pod has ${gib(h.capacityBytes)}; fix with more actor nodes (the CPU optimizer and the paused optimizer are sharded over DP × CP and expert-DP), more TP/PP/EP${t.layout.colocate ? "" : ", no reference model (kl.useKlLoss off: one pinned weight copy fewer)"}, or a larger resources.workerMemoryGiB`);
    } else if (h.usage > MEMORY_WARN_USAGE) {
        warn("training.resources.workerMemoryGiB", `host memory of a GPU node: ≈ ${gib(h.totalBytes)} of ${gib(h.capacityBytes)} (${pct(h.usage)}, within 10%: ${breakdown(h)})`);
    }
}

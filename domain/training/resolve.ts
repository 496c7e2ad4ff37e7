/**
 * The training config resolved into the facts everything else reads: the model's architecture
 * (preset or custom), the paths on the shared volume, the GPU node group, the GPU layout and the
 * derived sizes (world size, data-parallel size, engines, batch sizes, worker pod size). Pure;
 * total even for an invalid config (the rules in rules.ts read these numbers to explain what is
 * wrong). run.ts adds the command line and is the one entry point: `resolveRun`.
 */
import type { TrainingConfig } from "../../config";
import type { GpuNodeGroupInfo } from "../gpuNodes";
import { instanceFacts } from "../../catalog/instances";
import { sharedPath } from "../../catalog/sharedPaths";
import { architectureArgv, modelPreset } from "../../catalog/models";
import { architectureFacts, argNumber, type ArchFacts } from "../../catalog/modelArch";
import { chooseImage, imageDisplayName, type ImageChoice, type Platform } from "./image";
import { extraNumber, parseExtraArgs, type ExtraFlag } from "./extraArgs";
import type { RolloutPrecision } from "./memoryFit";
import { headSizing, type HeadSizing } from "./headSizing";

/** The architecture the run trains. */
export interface ResolvedModel {
    /** Preset name, or `custom`. */
    name: string;
    /** Model family of the preset (catalog/models.data.ts), e.g. `gpt-oss`, `gemma-4`; undefined for custom models. */
    family?: string;
    /** Megatron architecture argv (spliced before the generated flags). */
    archArgs: string[];
    numLayers: number;
    /** 0 for dense models. */
    numExperts: number;
    /** `--mtp-num-layers` the run uses (the config's, else the preset's own). */
    mtpLayers: number;
    /** MTP heads in the released checkpoint, when known. */
    ckptMtpLayers?: number;
    totalParamsB?: number;
    activeParamsB?: number;
    hfRepo?: string;
    /** The preset comes from slime and references modules the miles image lacks. */
    needsAdapting: boolean;
    /** Heads, query groups, hidden sizes, experts… read from the architecture args (catalog/modelArch.ts). */
    arch: ArchFacts;
    /** Preset facts from catalog/models.ext.tsv: published checkpoint dtype, gated repo, refusal reason. */
    ckptDtype?: "bf16" | "fp8" | "int4" | "mxfp4";
    gated?: boolean;
    refused?: string;
}

/** Where the run reads and writes on the shared volume (absolute paths inside the pods). */
export interface ResolvedPaths {
    /** The BF16 (or, with hfCheckpointIsFp8, the downloaded FP8) HF checkpoint directory. */
    hfDownload?: string;
    /** BF16 HF directory the torch_dist conversion reads (a `-bf16` cast of an FP8 download). */
    hfBf16?: string;
    /** What `--hf-checkpoint` points at: the checkpoint the SGLang engines load. */
    rolloutCheckpoint?: string;
    /** `--ref-load`; null when the config disables it. */
    refLoad: string | null;
    /** `--save` = `--load`. */
    checkpointDir: string;
    /**
     * `--save-trigger-sentinel`: the file whose presence makes miles save at the end of the current
     * step and then remove it (radixark/miles v0.1.0 train.py:121-127). The end-of-block and
     * pre-replacement Jobs create it.
     */
    saveSentinel: string;
    /**
     * Where the fabric gate's pod 0 writes its verdict (JSON: gate, identity hash, bus bandwidth,
     * threshold, pass/fail) for the run's entrypoint to check (domain/fabric/gateVerdict.ts).
     */
    gateVerdict: string;
    /** The file the convert Job's node 0 writes last, holding the conversion's hash (prepJobs.ts convertScript). */
    convertDone: string;
    promptData?: string;
    /** Where the download job puts `data.hfDataset`. */
    datasetDir?: string;
    tensorboardDir?: string;
    /** `--save-hf` template (`<dir>/{rollout_id}`) when checkpoints.exportHf is on. */
    hfExport?: string;
}

export interface ResolvedTraining {
    /** The validated training section the run was resolved from. */
    training: TrainingConfig;
    runName: string;
    namespace: string;
    /**
     * The image for the plan and the run record only: for the EFA build its ECR repository name
     * without the registry host, which no node can pull. Containers use `runImage` (pod.ts).
     */
    imageName: string;
    /** `--use-prometheus`: `training.prometheus.enabled`, else on with the monitoring stack. */
    prometheus: boolean;
    imageChoice: ImageChoice;
    model: ResolvedModel;
    paths: ResolvedPaths;
    /** The GPU node group the run uses (the first of `groups`); undefined when the config names none that exists. */
    group?: GpuNodeGroupInfo;
    /**
     * The GPU node groups the run spans and the worker pods (nodes) it takes from each, filled in the
     * order of `training.nodeGroups` (one group: `training.nodeGroup`). Groups the config names that
     * do not exist are left out (the rules report them).
     */
    groups: Array<{ group: GpuNodeGroupInfo; nodes: number }>;
    allGroups: GpuNodeGroupInfo[];
    gpusPerNode: number;
    actorNodes: number;
    actorGpusPerNode: number;
    /** Actor world size = actorNodes × actorGpusPerNode. */
    actorGpus: number;
    /** GPUs of the SGLang engines (= actorGpus when colocated). */
    rolloutGpus: number;
    /** Bundles of miles' placement group: max(actor, rollout) colocated, actor + rollout otherwise. */
    gpusNeeded: number;
    /** GPU nodes (worker pods) the run occupies. */
    nodesNeeded: number;
    /** SGLang engines = rollout GPUs ÷ GPUs per engine. */
    engines: number;
    tp: number;
    pp: number;
    cp: number;
    ep: number;
    etp: number;
    samplesPerRollout: number;
    globalBatchSize: number;
    numStepsPerRollout: number;
    /** CPU, memory and /dev/shm of one GPU worker pod. */
    worker: WorkerSizing;
    /** Memory of the Ray head pod: resources.headMemoryGiB, else what the run puts on the head (headSizing.ts). */
    head: HeadSizing;
    /** What Megatron, miles and SGLang will run with, read once from the fields and, where they leave it, from extraArgs. */
    effective: EffectiveRun;
}

/**
 * The settings train.py will actually run with, where the config states them in more than one way
 * (a field, or a flag in `training.extraArgs`) or they follow from several fields. The rules, the
 * memory fit, the preparation Jobs and the plan read these, never the fields again.
 */
export interface EffectiveRun {
    /** `training.extraArgs` read as flags (domain/training/extraArgs.ts). */
    extra: Map<string, ExtraFlag>;
    /** Data-parallel size = actor world ÷ (TP × PP × CP) (fractional for an invalid layout). */
    dp: number;
    /** Expert data-parallel size = actor world ÷ (ETP × EP × PP) (Megatron's expert parallel groups, parallel_state.py). */
    expertDp: number;
    /** `--sequence-parallel`: parallelism.sequenceParallel or the flag in extraArgs; Megatron turns it off with TP 1. */
    sequenceParallel: boolean;
    /** Activation recomputation: parallelism.recompute, else the `--recompute-*` flags of extraArgs. */
    recompute?: { granularity: string; method?: string; numLayers?: number };
    /** Where the recompute settings were read from, for problem paths. */
    recomputeFrom: "config" | "extraArgs" | "none";
    /** Problem path of a recompute setting: the config field, or the extraArgs flag. */
    recomputeAt: (field: "method" | "numLayers") => string;
    /** Longest sequence (prompt + response, or maxContextLen) in tokens, and how it was derived. */
    seqLength: { tokens: number; basis: string };
    /** Precision of the weights the SGLang engines load. */
    rolloutPrecision: RolloutPrecision;
    /** Megatron's attention kernel and input layout (`--attention-backend`, `--qkv-format`), with where each came from. */
    attention: { backend: string; backendFrom: KnobSource; qkvFormat: "thd" | "bshd"; qkvFrom: KnobSource };
    /** MoE token dispatch of the trainer: the field, else extraArgs, else the preset's architecture args, else Megatron's allgather. */
    moe: { dispatcher: string; dispatcherFrom: KnobSource; deepep: boolean };
    /** `--accumulate-allreduce-grads-in-fp32`: FP32 gradient buffers (4 bytes per parameter) instead of BF16 (2). */
    gradsInFp32: boolean;
    /** `--log-probs-chunk-size` (undefined: no chunking). */
    logProbsChunkSize?: number;
    /** LoRA: rank 0 is full-parameter training. */
    lora: { rank: number; alpha: number; targetModules?: string };
    /** SGLang engine settings that size or shape an engine (fields, else extraArgs; undefined: SGLang's default). */
    sglang: {
        kvCacheDtype: string;
        epSize?: number;
        dpAttention: boolean;
        dpSize: number;
        cudaGraphMaxBs?: number;
        cudaGraphBs?: number[];
        chunkedPrefillSize?: number;
        maxRunningRequests?: number;
        /** `--sglang-max-total-tokens`: the KV pool's cap (undefined: what mem-fraction-static leaves). */
        maxTotalTokens?: number;
    };
    /** `--rematerialize-param-from-master-weight`: no pinned host copy of the actor's weights while generating. */
    rematerializeParams: boolean;
    /** `--offload-train` / `--offload-rollout`: the field, else miles' default — on with `--colocate` (miles/utils/arguments.py, offload handling). */
    offloadTrain: boolean;
    offloadRollout: boolean;
    /** `--prefill-num-servers`: engines that only prefill (0: no prefill/decode disaggregation). */
    prefillNumServers: number;
    /** The engines load the published FP8 download itself (no converted FP8 copy). */
    rolloutLoadsPublishedFp8: boolean;
}

/** Where an effective setting was read from. */
export type KnobSource = "config" | "extraArgs" | "model" | "default";

/**
 * What a model's attention needs in Megatron, when miles' recipe for it pins it: gpt-oss' sink attention
 * exists only in TE's fused kernel for BSHD/SBHD (radixark/miles v0.1.0 scripts/run_gpt_oss_20b.py:9-11,
 * 119-123: `--qkv-format bshd --attention-backend fused`); Gemma-4's global head_dim 512 exceeds the fused
 * and flash kernels (scripts/run_gemma_4_31b.py:144-145 and run_gemma_4_26b_a4b.py: `--attention-backend
 * unfused --qkv-format bshd`; the same script's SGLang comment: "head_dim=512 exceeds FlashAttention's 256 cap").
 */
export const MODEL_ATTENTION: Readonly<Record<string, { backend: string; qkvFormat: "bshd"; source: string }>> = {
    "gpt-oss": { backend: "fused", qkvFormat: "bshd", source: "miles v0.1.0 scripts/run_gpt_oss_20b.py (sink attention: TE fused, BSHD only)" },
    "gemma-4": { backend: "unfused", qkvFormat: "bshd", source: "miles v0.1.0 scripts/run_gemma_4_31b.py (512-wide global heads)" },
};

/** The model family whose attention needs pin the backend (undefined for custom models and the rest). */
export function attentionNeeds(m: ResolvedModel): (typeof MODEL_ATTENTION)[string] | undefined {
    return m.family ? MODEL_ATTENTION[m.family] : undefined;
}

/** The value of a flag in the architecture args (e.g. the preset's `--moe-token-dispatcher-type`). */
function archValue(m: ResolvedModel, flag: string): string | undefined {
    const i = m.archArgs.indexOf(flag);
    return i >= 0 ? m.archArgs[i + 1] : undefined;
}

/** The trainer- and engine-side knobs of EffectiveRun: each field, else its flag in extraArgs, else the model's need, else upstream's default. */
function effectiveKnobs(t: TrainingConfig, model: ResolvedModel, extra: Map<string, ExtraFlag>) {
    const p = t.parallelism;
    const first = (flag: string) => extra.get(flag)?.values[0];
    const need = attentionNeeds(model);
    const pick = <T extends string>(field: T | undefined, flag: string, modelValue: T | undefined, dflt: T): [T, KnobSource] => {
        if (field !== undefined) return [field, "config"];
        const x = first(flag);
        if (x !== undefined) return [x as T, "extraArgs"];
        if (modelValue !== undefined) return [modelValue, "model"];
        return [dflt, "default"];
    };
    // Megatron's defaults: --attention-backend auto, --moe-token-dispatcher-type allgather (megatron-flags.tsv); miles' --qkv-format thd (flags.tsv).
    const [backend, backendFrom] = pick(p.attentionBackend, "--attention-backend", need?.backend, "auto");
    const [qkvFormat, qkvFrom] = pick<"thd" | "bshd">(p.qkvFormat, "--qkv-format", need?.qkvFormat, "thd");
    const [dispatcher, dispatcherFrom] = pick(p.moe.tokenDispatcherType, "--moe-token-dispatcher-type", archValue(model, "--moe-token-dispatcher-type"), "allgather");
    const s = t.rollout.sglang;
    const num = (field: number | undefined, flag: string) => field ?? extraNumber(extra, flag);
    const kvFromField = s.kvCacheDtype ?? (t.features.fp8KvCache ? "fp8_e4m3" : undefined);
    const dpSize = s.dpAttention?.dpSize ?? extraNumber(extra, "--sglang-dp-size") ?? 1;
    const lora = t.features.lora;
    return {
        attention: { backend, backendFrom, qkvFormat, qkvFrom },
        moe: { dispatcher, dispatcherFrom, deepep: p.moe.deepep || extra.has("--moe-enable-deepep") },
        gradsInFp32: t.algorithm.accumulateAllreduceGradsInFp32 || extra.has("--accumulate-allreduce-grads-in-fp32"),
        logProbsChunkSize: num(t.algorithm.logProbsChunkSize, "--log-probs-chunk-size"),
        lora: { rank: lora.rank > 0 ? lora.rank : (extraNumber(extra, "--lora-rank") ?? 0), alpha: lora.rank > 0 ? lora.alpha : (extraNumber(extra, "--lora-alpha") ?? lora.alpha), targetModules: lora.targetModules ?? first("--target-modules") },
        sglang: {
            kvCacheDtype: kvFromField ?? first("--sglang-kv-cache-dtype") ?? "auto",
            epSize: num(s.epSize, "--sglang-ep-size"),
            dpAttention: s.dpAttention !== undefined || extra.has("--sglang-enable-dp-attention"),
            dpSize,
            cudaGraphMaxBs: num(s.cudaGraphMaxBs, "--sglang-cuda-graph-max-bs"),
            cudaGraphBs: s.cudaGraphBs ?? extra.get("--sglang-cuda-graph-bs")?.values.map(Number),
            chunkedPrefillSize: num(s.chunkedPrefillSize, "--sglang-chunked-prefill-size"),
            maxRunningRequests: num(s.maxRunningRequests, "--sglang-max-running-requests"),
            maxTotalTokens: num(s.maxTotalTokens, "--sglang-max-total-tokens"),
        },
        rematerializeParams: t.offload.rematerializeParams || extra.has("--rematerialize-param-from-master-weight"),
        offloadTrain: t.offload.train ?? t.layout.colocate,
        offloadRollout: t.offload.rollout ?? t.layout.colocate,
        prefillNumServers: t.layout.prefillNumServers ?? extraNumber(extra, "--prefill-num-servers") ?? 0,
    };
}

/** The recompute flags of Megatron (megatron/training/arguments.py) that extraArgs may set instead of parallelism.recompute. */
const RECOMPUTE_FLAGS = ["--recompute-granularity", "--recompute-method", "--recompute-num-layers", "--recompute-activations"];

function effectiveRun(t: TrainingConfig, model: ResolvedModel, l: { actorGpus: number; tp: number; pp: number; cp: number; ep: number; etp: number }, paths: ResolvedPaths): EffectiveRun {
    const extra = parseExtraArgs(t.extraArgs);
    const p = t.parallelism;
    let recompute: EffectiveRun["recompute"] = p.recompute;
    let recomputeFrom: EffectiveRun["recomputeFrom"] = recompute ? "config" : "none";
    if (!recompute && RECOMPUTE_FLAGS.some((f) => extra.has(f))) {
        recomputeFrom = "extraArgs";
        // --recompute-activations is Megatron's alias of selective granularity (arguments.py).
        const g = extra.get("--recompute-granularity")?.values[0] ?? (extra.has("--recompute-activations") ? "selective" : undefined);
        recompute = g === undefined ? undefined : { granularity: g, method: extra.get("--recompute-method")?.values[0], numLayers: extraNumber(extra, "--recompute-num-layers") };
    }
    const at = extra.get("--recompute-granularity") ?? extra.get("--recompute-activations");
    const recomputeAt = (field: "method" | "numLayers") => (recomputeFrom === "extraArgs" ? `training.extraArgs[${at?.index ?? 0}]` : `training.parallelism.recompute.${field}`);
    const ro = t.rollout;
    const seq = ro.maxContextLen ?? (ro.maxPromptLen ?? 0) + ro.maxResponseLen;
    const seqBasis = ro.maxContextLen !== undefined ? `maxContextLen ${seq}` : ro.maxPromptLen !== undefined ? `prompt ${ro.maxPromptLen} + response ${ro.maxResponseLen}` : `response ${ro.maxResponseLen} (+ prompts of unknown length: set rollout.maxPromptLen)`;
    const f = t.features;
    const rolloutLoadsPublishedFp8 = t.model.hfCheckpointIsFp8 && paths.rolloutCheckpoint !== undefined && paths.rolloutCheckpoint === paths.hfDownload;
    return {
        extra,
        dp: l.actorGpus / (l.tp * l.pp * l.cp),
        expertDp: l.actorGpus / (l.etp * l.ep * l.pp),
        sequenceParallel: p.sequenceParallel || extra.has("--sequence-parallel"),
        recompute,
        recomputeFrom,
        recomputeAt,
        seqLength: { tokens: seq, basis: seqBasis },
        rolloutPrecision: f.fp8Rollout ? "fp8" : f.int4Qat.enabled ? "int4" : rolloutLoadsPublishedFp8 ? "fp8" : "bf16",
        rolloutLoadsPublishedFp8,
        ...effectiveKnobs(t, model, extra),
    };
}

/** What a run is resolved against besides its own config. */
export interface RunContext {
    /** Stack name (the default run name is `miles-<stack>`). */
    stack: string;
    /** The GPU node groups of the cluster (from the cluster handle, or from the config offline). */
    gpuNodeGroups: GpuNodeGroupInfo[];
    /**
     * Whether the stack runs the monitoring stack (`addons.monitoring`): miles' Prometheus endpoint
     * then defaults to on.
     */
    monitoring: boolean;
    /** An EKS cluster this stack creates, or one the user brings. */
    platform: Platform;
}

/** A DNS-1123 name from the stack name, as default run name. */
export function defaultRunName(stack: string): string {
    const s = `miles-${stack}`
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/-+/g, "-")
        .slice(0, 32)
        .replace(/-+$/, "");
    return s;
}

export function resolveModel(t: TrainingConfig): ResolvedModel {
    if (t.model.custom) {
        const args = [...t.model.custom.args];
        const own = argNumber(args, "--mtp-num-layers") ?? 0;
        return {
            name: "custom",
            archArgs: args,
            numLayers: argNumber(args, "--num-layers") ?? 0,
            numExperts: argNumber(args, "--num-experts") ?? 0,
            mtpLayers: t.features.mtp.numLayers ?? own,
            totalParamsB: t.model.custom.totalParamsB,
            hfRepo: t.model.hfRepo ?? t.model.custom.hfRepo,
            needsAdapting: false,
            arch: architectureFacts(args),
        };
    }
    const p = modelPreset(t.model.preset);
    if (!p) return { name: t.model.preset, archArgs: [], numLayers: 0, numExperts: 0, mtpLayers: t.features.mtp.numLayers ?? 0, needsAdapting: false, hfRepo: t.model.hfRepo, arch: architectureFacts([]) };
    const archArgs = architectureArgv(p);
    return {
        name: p.preset,
        family: p.family,
        archArgs,
        numLayers: p.numLayers,
        numExperts: p.numExperts,
        mtpLayers: t.features.mtp.numLayers ?? p.mtpLayers,
        ckptMtpLayers: p.ckptMtpLayers,
        totalParamsB: p.totalParamsB,
        activeParamsB: p.activeParamsB,
        hfRepo: t.model.hfRepo ?? p.hfRepo,
        needsAdapting: /slime_plugins|--use-gated-attention/.test(p.megatronArgs),
        arch: architectureFacts(archArgs),
        ckptDtype: p.ckptDtype,
        gated: p.gated,
        refused: p.refused,
    };
}

/** The architecture argv without `--mtp-num-layers` (the generated flags own that one). */
export function archArgsWithoutMtp(m: ResolvedModel): string[] {
    const out: string[] = [];
    for (let i = 0; i < m.archArgs.length; i++) {
        if (m.archArgs[i] === "--mtp-num-layers") {
            i++;
            continue;
        }
        out.push(m.archArgs[i]);
    }
    return out;
}

function resolvePaths(t: TrainingConfig, model: ResolvedModel, runName: string): ResolvedPaths {
    const repoName = model.hfRepo?.split("/")[1];
    const hfDownload = t.model.hfCheckpoint ?? (repoName ? sharedPath("models", repoName) : undefined);
    const hfBf16 = hfDownload && t.model.hfCheckpointIsFp8 ? `${hfDownload}-bf16` : hfDownload;
    const bridge = t.model.megatronToHfMode === "bridge";
    const refLoad = t.model.refLoad === null ? null : (t.model.refLoad ?? (hfBf16 ? (bridge ? hfBf16 : `${hfBf16}_torch_dist`) : null));
    const variant = t.features.fp8Rollout ? "-FP8" : t.features.int4Qat.enabled ? "-INT4" : "";
    // FP8 rollout of a published FP8 release (DeepSeek-V3/R1 style): the engines load the download itself, as
    // THUDM/slime docs/en/models/deepseek-r1.md does (`--hf-checkpoint $BASE_DIR/DeepSeek-R1/`, the FP8 original).
    const publishedFp8 = t.features.fp8Rollout && t.model.hfCheckpointIsFp8 ? hfDownload : undefined;
    const rolloutCheckpoint = t.model.rolloutCheckpoint ?? publishedFp8 ?? (hfBf16 ? `${hfBf16}${variant}` : undefined);
    const datasetName = t.data.hfDataset?.split("/")[1];
    const datasetDir = datasetName ? sharedPath("data", datasetName) : undefined;
    const promptData = t.data.promptData ?? (datasetName ? sharedPath("data", datasetName, `${datasetName}.jsonl`) : undefined);
    const checkpointDir = t.checkpoints.dir ?? sharedPath("checkpoints", runName);
    const tensorboardDir = t.tensorboard.enabled ? (t.tensorboard.dir ?? `${checkpointDir}/tensorboard`) : undefined;
    const hfExport = t.checkpoints.exportHf.enabled ? `${t.checkpoints.exportHf.dir ?? `${checkpointDir}/hf`}/{rollout_id}` : undefined;
    const saveSentinel = sharedPath("control", runName, "save-now");
    const gateVerdict = sharedPath("control", runName, "fabric-gate.json");
    const convertDone = sharedPath("control", runName, "convert.done");
    return { hfDownload, hfBf16, rolloutCheckpoint, refLoad, checkpointDir, saveSentinel, gateVerdict, convertDone, promptData, datasetDir, tensorboardDir, hfExport };
}

/** Samples per rollout, global batch and optimizer steps per rollout, derived the way miles derives them. */
export function batchSizes(t: TrainingConfig): { samplesPerRollout: number; globalBatchSize: number; numStepsPerRollout: number } {
    const a = t.algorithm;
    const samplesPerRollout = a.rolloutBatchSize * a.nSamplesPerPrompt;
    if (a.globalBatchSize !== undefined) {
        return { samplesPerRollout, globalBatchSize: a.globalBatchSize, numStepsPerRollout: a.numStepsPerRollout ?? samplesPerRollout / a.globalBatchSize };
    }
    const steps = a.numStepsPerRollout ?? 1;
    return { samplesPerRollout, globalBatchSize: samplesPerRollout / steps, numStepsPerRollout: steps };
}

/** Resolves the layout and paths of a run (see ResolvedTraining); `resolveRun` in run.ts adds the command. */
export function resolveTraining(t: TrainingConfig, ctx: RunContext): ResolvedTraining {
    const runName = t.runName ?? defaultRunName(ctx.stack);
    const model = resolveModel(t);
    const allGroups = [...ctx.gpuNodeGroups];
    const named = t.nodeGroups ?? (t.nodeGroup === undefined ? (allGroups[0] ? [allGroups[0].name] : []) : [t.nodeGroup]);
    const runGroups = named.map((n) => allGroups.find((g) => g.name === n)).filter((g): g is GpuNodeGroupInfo => g !== undefined);
    const group = t.nodeGroups ? runGroups[0] : t.nodeGroup === undefined ? allGroups[0] : allGroups.find((g) => g.name === t.nodeGroup);
    const gpusPerNode = group?.gpusPerNode ?? t.layout.gpusPerNode ?? 8;
    const actorNodes = t.layout.actorNodes;
    const actorGpusPerNode = t.layout.actorGpusPerNode ?? gpusPerNode;
    const actorGpus = actorNodes * actorGpusPerNode;
    const rolloutGpus = t.layout.colocate ? actorGpus : (t.layout.rolloutGpus ?? 0);
    // A dedicated eval fleet (--eval-num-gpus) takes its own bundles of the placement group (miles-launch.md §6).
    const gpusNeeded = (t.layout.colocate ? Math.max(actorGpus, rolloutGpus) : actorGpus + rolloutGpus) + t.eval.numGpus;
    const p = t.parallelism;
    const etp = p.etp ?? p.tp;
    const paths = resolvePaths(t, model, runName);
    const effective = effectiveRun(t, model, { actorGpus, tp: p.tp, pp: p.pp, cp: p.cp, ep: p.ep, etp }, paths);
    const imageChoice = chooseImage(t, { stack: ctx.stack, platform: ctx.platform, efaPerNode: group?.efaPerNode ?? 0, nodes: Math.ceil(gpusNeeded / gpusPerNode) });
    return {
        training: t,
        runName,
        namespace: t.namespace,
        imageName: imageDisplayName(imageChoice),
        imageChoice,
        prometheus: t.prometheus.enabled ?? ctx.monitoring,
        model,
        paths,
        group,
        groups: fillGroups(runGroups, Math.ceil(gpusNeeded / gpusPerNode)),
        allGroups,
        gpusPerNode,
        actorNodes,
        actorGpusPerNode,
        actorGpus,
        rolloutGpus,
        gpusNeeded,
        nodesNeeded: Math.ceil(gpusNeeded / gpusPerNode),
        engines: rolloutGpus / t.layout.gpusPerEngine,
        tp: p.tp,
        pp: p.pp,
        cp: p.cp,
        ep: p.ep,
        etp,
        ...batchSizes(t),
        worker: workerSizing(t, group),
        head: headSizing(t, model.arch, model.numExperts, effective.seqLength.tokens),
        effective,
    };
}

/**
 * The worker pods a run takes from each of its groups: every node of a group before the next one
 * (the last group gets what is left; one group gets them all, even more than it has, which the
 * rules report).
 */
export function fillGroups(groups: ReadonlyArray<GpuNodeGroupInfo>, nodes: number): Array<{ group: GpuNodeGroupInfo; nodes: number }> {
    let left = nodes;
    return groups.map((g, i) => {
        const take = i === groups.length - 1 ? left : Math.min(g.nodes, left);
        left -= take;
        return { group: g, nodes: take };
    });
}

/** CPU cores and memory of one GPU worker pod: near the node's allocatable, with headroom. */
export interface WorkerSizing {
    cpu: number;
    memoryGiB: number;
    shmGiB: number;
    /** Ray object store, kept inside /dev/shm. */
    objectStoreGiB: number;
    hugepages2MiMi: number;
}

/**
 * Headroom left on each GPU node for the kubelet/system reservations and the daemonsets (CNI,
 * kube-proxy, device plugins, node monitoring, FSx CSI, DCGM exporter): 8 vCPUs and 12% of memory.
 * On p5.48xlarge (192 vCPU, 2048 GiB): 184 CPUs and 1802 GiB per worker pod. EKS reserves about
 * 0.6 vCPU and 2-3 GiB for the kubelet on this size; the daemonsets request well under 2 vCPU /
 * 4 GiB together, and the rest is margin for the kernel, the Lustre client and EFA/NVIDIA drivers.
 */
export const WORKER_CPU_HEADROOM = 8;
export const WORKER_MEMORY_FRACTION = 0.88;
export function workerSizing(t: TrainingConfig, group: GpuNodeGroupInfo | undefined): WorkerSizing {
    const facts = group?.instanceType ? instanceFacts(group.instanceType) : undefined;
    const cpu = t.resources.workerCpu ?? (facts ? facts.vcpus - WORKER_CPU_HEADROOM : 0);
    const memoryGiB = t.resources.workerMemoryGiB ?? (facts ? Math.floor(facts.memoryGiB * WORKER_MEMORY_FRACTION) : 0);
    const shmGiB = t.resources.shmGiB;
    return { cpu, memoryGiB, shmGiB, objectStoreGiB: Math.floor(shmGiB / 2), hugepages2MiMi: t.network.efa && (group?.efaPerNode ?? 0) > 0 ? t.network.hugepages2MiMi : 0 };
}

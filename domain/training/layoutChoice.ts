/**
 * What the layout search (layoutSearch.ts) returns and what a resolved run with `parallelism: auto`
 * carries: a layout (nodes, colocation or split, parallelism, recompute, offload, token budget, engine
 * size), its estimate and ranking keys, and the stack-file YAML that reproduces it. Types and
 * rendering only, so the resolved run (run.ts), the rules and the plan can read a choice without
 * importing the search.
 */
import type { TrainingConfig } from "../../config";

/** The knobs the search sets; everything else of the run stays as the config has it. */
export interface Layout {
    /** GPU nodes the run occupies (actor nodes, plus rollout nodes when disaggregated). */
    nodes: number;
    colocate: boolean;
    actorNodes: number;
    /** GPUs of the SGLang engines (the actor GPUs when colocated). */
    rolloutGpus: number;
    gpusPerEngine: number;
    tp: number;
    pp: number;
    cp: number;
    ep: number;
    /** Undefined for a dense model (Megatron's default, = TP, applies and does not matter). */
    etp?: number;
    sequenceParallel: boolean;
    decoderFirstPipelineNumLayers?: number;
    decoderLastPipelineNumLayers?: number;
    /** Full uniform recomputation of every layer, or none. */
    recompute?: { granularity: "full"; method: "uniform"; numLayers: number };
    optimizerCpu: boolean;
    /** `--max-tokens-per-gpu` (dynamic batching). */
    maxTokensPerGpu: number;
}

/** A layout that passed every rule of the plan with headroom, with what ranks it. */
export interface RankedLayout {
    layout: Layout;
    /** The run's training config with the layout applied: what the stack resolves with `parallelism: auto`. */
    training: TrainingConfig;
    /** Estimated share of GPU memory (training phase and rollout phase) and of the worker pod's host memory. */
    usage: { train: number; rollout: number; host: number };
    /** Tokens an engine's KV cache holds. */
    kvTokens: number;
    /** Data-parallel size of the actor. */
    dp: number;
    /** On-demand price of the nodes (catalog/instances.ts), USD per hour. */
    usdPerHour: number;
    /** Throughput proxy: a penalty, lower is better (layoutSearch.ts `throughputPenalty`, docs/memory-fit.md). */
    penalty: number;
}

/** What a run with `parallelism: auto` was resolved with. */
export interface AutoLayout {
    /** The best layout; undefined when none passed (the rules then report `reason`). */
    choice?: RankedLayout;
    /** Why no layout was found: the limit searched and the most frequent reason candidates failed. */
    reason?: string;
    /** Layouts estimated and layouts judged by every rule. */
    searched: { fitChecks: number; ruleChecks: number };
}

/** "TP 4 × PP 4 (last stage 13) × CP 4, EP 16, ETP 1, full recompute, optimizer CPU offload, 2048 tokens/GPU". */
export function describeLayout(l: Layout): string {
    const stages = [l.decoderFirstPipelineNumLayers !== undefined ? `first stage ${l.decoderFirstPipelineNumLayers}` : "", l.decoderLastPipelineNumLayers !== undefined ? `last stage ${l.decoderLastPipelineNumLayers}` : ""].filter(Boolean).join(", ");
    const parts = [
        `TP ${l.tp} × PP ${l.pp}${stages ? ` (${stages} layers)` : ""} × CP ${l.cp}`,
        l.ep > 1 || l.etp !== undefined ? `EP ${l.ep}, ETP ${l.etp ?? l.tp}` : "",
        l.sequenceParallel ? "sequence parallel" : "",
        l.recompute ? `full recompute (uniform, ${l.recompute.numLayers})` : "no recompute",
        l.optimizerCpu ? "optimizer CPU offload" : "",
        `${l.maxTokensPerGpu} tokens/GPU`,
    ].filter(Boolean);
    const where = l.colocate ? `${l.nodes} node(s), colocated` : `${l.nodes} node(s): ${l.actorNodes} actor + ${l.rolloutGpus} rollout GPUs`;
    return `${where}; ${parts.join(", ")}; engines of ${l.gpusPerEngine} GPU(s)`;
}

/**
 * The stack-file fragment that sets the layout (the `miles-cluster:training` keys it owns), indented
 * for pasting under `miles-cluster:training:`.
 */
export function layoutYaml(l: Layout, indent = "    "): string {
    const lines: string[] = ["layout:", `  actorNodes: ${l.actorNodes}`, `  colocate: ${l.colocate}`];
    if (!l.colocate) lines.push(`  rolloutGpus: ${l.rolloutGpus}`);
    lines.push(`  gpusPerEngine: ${l.gpusPerEngine}`, "parallelism:", `  tp: ${l.tp}`, `  pp: ${l.pp}`, `  cp: ${l.cp}`, `  ep: ${l.ep}`);
    if (l.etp !== undefined) lines.push(`  etp: ${l.etp}`);
    lines.push(`  sequenceParallel: ${l.sequenceParallel}`);
    if (l.decoderFirstPipelineNumLayers !== undefined) lines.push(`  decoderFirstPipelineNumLayers: ${l.decoderFirstPipelineNumLayers}`);
    if (l.decoderLastPipelineNumLayers !== undefined) lines.push(`  decoderLastPipelineNumLayers: ${l.decoderLastPipelineNumLayers}`);
    if (l.recompute) lines.push("  recompute:", `    granularity: ${l.recompute.granularity}`, `    method: ${l.recompute.method}`, `    numLayers: ${l.recompute.numLayers}`);
    lines.push("offload:", `  optimizerCpu: ${l.optimizerCpu}`, "algorithm:", "  dynamicBatch:", `    maxTokensPerGpu: ${l.maxTokensPerGpu}`);
    return lines.map((x) => indent + x).join("\n");
}

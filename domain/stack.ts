/**
 * The one resolution of a whole stack: what every run is resolved against (its platform, whether the
 * stack runs the monitoring stack, the GPU node groups of its cluster) and each run resolved once
 * against it. Validation's rules, the memory fit, the program's components and `plan` all read this
 * object; none of them resolves a run again (test/resolvedStack.test.ts holds them to it).
 */
import type { MilesConfig, RunEntry, TrainingConfig } from "../config";
import { gpuNodeGroupsFromConfig, type GpuNodeGroupInfo } from "./gpuNodes";
import { isBringYourOwnCluster, monitoringEnabled } from "./addons";
import { resolveRun, type ResolvedRun } from "./training/run";
import { resolveTraining, type RunContext } from "./training/resolve";
import { searchLayouts } from "./training/layoutSearch";
import type { Platform } from "./training/image";
import type { RunFacts } from "./runStack";
import { resolveStorage, runStorageNeeds, type ResolvedStorage } from "./sizing";

/**
 * What a run stack (`cluster.clusterStack`) knows of its cluster stack: the cluster's facts it reads
 * through a StackReference (domain/runStack.ts ClusterFacts).
 */
export interface ClusterSide {
    /** The cluster stack's name. */
    stack: string;
    gpuNodeGroups: GpuNodeGroupInfo[];
    platform: Platform;
    monitoring: boolean;
    /** The runs the cluster stack holds (they share its queue and volume). */
    runs: RunFacts[];
}

/** One run of the stack, resolved once. */
export interface StackRun {
    /** The run as the config lists it (`training`, or `training.runs.<name>`). */
    entry: RunEntry;
    run: ResolvedRun;
}

export interface ResolvedStack {
    config: MilesConfig;
    /** What each run was resolved against. */
    context: RunContext;
    /** Every run of the config, disabled ones too (their checkpoints count for storage), in config order. */
    all: StackRun[];
    /** The enabled runs: the ones that get objects. */
    runs: StackRun[];
    /** A run stack: its cluster stack (name and runs), whose queue and volume its runs share. */
    clusterStack?: { stack: string; runs: RunFacts[] };
    /** The shared volume: the FSx capacity (set, or sized from every run's need) and that need. */
    storage: ResolvedStorage;
}

/** What the runs of a stack are resolved against: the cluster it creates, or (a run stack) its cluster stack's. */
export function stackContext(cfg: MilesConfig, cluster?: ClusterSide): RunContext {
    if (cluster) return { stack: cfg.stack, gpuNodeGroups: [...cluster.gpuNodeGroups], platform: cluster.platform, monitoring: cluster.monitoring };
    return { stack: cfg.stack, gpuNodeGroups: gpuNodeGroupsFromConfig(cfg), platform: isBringYourOwnCluster(cfg) ? "existing" : "eks", monitoring: monitoringEnabled(cfg) };
}

/**
 * A run of the stack: `resolveRun`, except with `parallelism: auto`, where the layout search runs once
 * over the run's node groups as configured (colocation as `layout.colocate` says) and the run is
 * resolved with the best layout applied; without one, with the config as written, and the rules
 * report the search's reason.
 */
export function resolveStackRun(training: TrainingConfig, context: RunContext): ResolvedRun {
    if (!training.parallelism.auto) return resolveRun(training, context);
    const maxNodes = resolveTraining(training, context).groups.reduce((n, x) => n + x.group.nodes, 0);
    const found = searchLayouts(training, context, { maxNodes, colocate: training.layout.colocate, resizeGroup: false, top: 1 });
    const { ranked: _ranked, ...auto } = found;
    return { ...resolveRun(found.choice?.training ?? training, context), auto };
}

/** Resolves every run of a validated (or, for the rules, parsed) config once. */
export function resolveStack(cfg: MilesConfig, cluster?: ClusterSide): ResolvedStack {
    const context = stackContext(cfg, cluster);
    const all = cfg.runs.map((entry) => ({ entry, run: resolveStackRun(entry.training, context) }));
    // A run stack creates no storage: its runs use the cluster stack's volume (validation/runStack.ts sizes them there).
    // (validation's rules may resolve before the storage section parsed: then there is nothing to size.)
    const needs = runStorageNeeds(all);
    const storage = cfg.storage ? resolveStorage(cfg.storage, needs, { createsStorage: !cluster && !cfg.cluster?.clusterStack }) : resolveStorage(undefined, needs, { createsStorage: false });
    return { config: cfg, context, all, runs: all.filter((x) => x.entry.training.enabled), storage, ...(cluster ? { clusterStack: { stack: cluster.stack, runs: cluster.runs } } : {}) };
}

/** The `training` run of a single-run stack config, resolved as resolveStack resolves it (tests, examples). */
export function runOf(cfg: MilesConfig): ResolvedRun {
    return resolveStackRun(cfg.training, stackContext(cfg));
}

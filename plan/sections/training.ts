import type { SectionProducer, SectionResult } from "../types";
import type { ResolvedRun } from "../../domain/training/run";
import type { ResolvedStack } from "../../domain/stack";
import { admissions, KUEUE_CHART, queueQuota } from "../../domain/kueue";
import { gpusByGroup } from "../../domain/runStack";
import type { MilesConfig } from "../../config";
import { trainingWarnings, type WarningKind } from "../../domain/training/rules";
import { layoutWarnings } from "../../domain/training/layoutWarnings";
import { breakdown, runMemoryFit } from "../../domain/training/memoryFitRun";
import { GIB, type PhaseFit } from "../../domain/training/memoryFit";
import { describeLayout } from "../../domain/training/layoutChoice";
import { describeGate, fabricGatePlan, fabricWarnings } from "../../domain/fabric/gate";
import { lifecyclePlan } from "./lifecycle";
import { interconnectDomain } from "../../domain/cluster";
import { clusterWideAddonEnabled } from "../../domain/addons";

/**
 * The training run: the full entrypoint, GPU layout, parallelism and DP, SGLang engines, batch
 * sizes, paths, pod sizing, preparation Jobs and warnings (idle GPUs, ignored settings).
 */
export const trainingSection: SectionProducer = (stack) => {
    const cfg = stack.config;
    const queue = queueSummary(stack);
    if (cfg.training.runs !== undefined) return namedRuns(stack, queue);
    const run = stack.runs[0]?.run;
    if (!run) {
        // No run at all (no training section, or a disabled one naming no model) vs a disabled run whose checkpoints stay.
        const none = stack.all.length === 0;
        const text = none
            ? "no run: the stack names no model to train (no miles-cluster:training key, or `enabled: false` without a model); `pulumi up` creates the cluster only"
            : "disabled (training.enabled: false): no RayJob is created; the run's checkpoints stay on the shared volume";
        return { data: { enabled: false, run: none ? null : "disabled", queue: queue.data }, lines: [["training", text], ...queue.lines] };
    }
    const single = runSection(run, cfg, { storageCapacityGiB: stack.storage.capacityGiB });
    return { data: { ...single.data, queue: queue.data }, lines: [...single.lines, ...queue.lines], warnings: single.warnings };
};

/** A stack with `training.runs`: each run's lines under its name, the queue, and one idle-GPU warning for all of them. */
function namedRuns(stack: ResolvedStack, queue: { data: unknown; lines: Array<[string, string]>; warnings: string[] }): SectionResult {
    const cfg = stack.config;
    const runs = stack.runs.map((x) => x.run);
    const lines: Array<[string, string]> = [];
    const data: Array<Record<string, unknown>> = [];
    const warnings: string[] = [];
    for (const r of runs) {
        // Per-run "idle GPUs" warnings say nothing when several runs share the groups; the queue says it for all of them.
        const one = runSection(r, cfg, { except: ["idle-gpus"], storageCapacityGiB: stack.storage.capacityGiB });
        lines.push(...one.lines.map(([k, v]): [string, string] => [`${r.runName} · ${k}`, v]));
        data.push(one.data);
        warnings.push(...(one.warnings ?? []).map((w) => `${r.runName}: ${w}`));
    }
    if (runs.length === 0) lines.push(["training", "every run is disabled (enabled: false)"]);
    return { data: { enabled: runs.length > 0, runs: data, queue: queue.data }, lines: [...lines, ...queue.lines], warnings: [...warnings, ...queue.warnings] };
}

/**
 * The queue: its objects, the quota per node group, and which runs start at once on an empty queue
 * (Kueue's order: priority, then age) and which wait.
 */
export function queueSummary(stack: ResolvedStack): { data: unknown; lines: Array<[string, string]>; warnings: string[] } {
    const cfg = stack.config;
    const groups = stack.context.gpuNodeGroups;
    const k = cfg.addons.kueue;
    const runs = stack.runs.map((x) => x.run);
    // A run stack shares its cluster stack's queue: the cluster stack's runs are older, so they come first at equal priority.
    const theirs = (stack.clusterStack?.runs ?? []).map((r) => ({ name: `${r.name} (${stack.clusterStack!.stack})`, priority: r.priority as ResolvedRun["training"]["priority"], gpusByGroup: r.gpusByGroup }));
    if (!clusterWideAddonEnabled(cfg, "kueue")) {
        const why = k.enabled === false ? "addons.kueue.enabled: false" : "Kueue is opt-in on a bring-your-own cluster: set addons.kueue.enabled: true to queue the runs";
        const lines: Array<[string, string]> = [["queue", `none (${why}): each RayJob starts when created; runs that do not fit together half-start and wait on each other's GPUs`]];
        return { data: null, lines, warnings: runs.length > 1 ? ["addons.kueue.enabled: false with several runs: without a queue they compete for GPUs and can deadlock half-started"] : [] };
    }
    const quota = queueQuota(k, groups);
    const adm = admissions([...theirs, ...runs.map((r) => ({ name: r.runName, priority: r.training.priority, gpusByGroup: gpusByGroup(r) }))], quota, k.queueingStrategy);
    const quotaText = quota.map((q) => `${q.group} ${q.gpus} GPUs${q.efa > 0 ? ` + ${q.efa} EFA` : ""} (flavor ${q.flavor})`).join(", ") || "no GPU node group";
    const lines: Array<[string, string]> = [
        ["queue", `LocalQueue ${cfg.training.namespace}/${k.localQueue} → ClusterQueue ${k.clusterQueue} (${k.queueingStrategy}, preemption ${k.preemption}); Kueue ${KUEUE_CHART.version}; each RayJob created suspended, admitted whole`],
        ["quota", quotaText],
    ];
    if (adm.length > 0) {
        lines.push(["at once", adm.filter((a) => a.startsAtOnce).map((a) => `${a.run} (${a.priority}, ${a.gpus} GPUs)`).join(", ") || "none"]);
        const waiting = adm.filter((a) => !a.startsAtOnce);
        if (waiting.length > 0) lines.push(["waiting", `${waiting.map((a) => `${a.run} (${a.priority}, ${a.gpus} GPUs)`).join(", ")}: admitted when GPUs free up`]);
    }
    if (k.preemption === "LowerPriority") {
        const wait = Math.max(...runs.map((r) => r.training.lifecycle.saveTimeoutMinutes), 0);
        lines.push([
            "preemption",
            `a waiting higher-priority run evicts lower-priority running runs, which save first: Kueue suspends the RayJob, KubeRay deletes its pods, and each pod's preStop makes the run save (its --save-trigger-sentinel) before it stops — up to lifecycle.saveTimeoutMinutes (${wait} min here), the GPUs stay held meanwhile and the higher-priority run is admitted once they are free; the evicted run is requeued and resumes from that checkpoint (a run that cannot save in time resumes from its last periodic save)`,
        ]);
    }
    const warnings: string[] = [];
    const started = adm.filter((a) => a.startsAtOnce).reduce((s, a) => s + a.gpus, 0);
    const total = quota.reduce((s, q) => s + q.gpus, 0);
    // A run stack does not pay for the cluster stack's GPUs: its cluster stack's plan says what idles.
    if (!stack.clusterStack && runs.length > 1 && started < total) warnings.push(`queue ${k.clusterQueue}: the runs that start at once use ${started} of ${total} GPUs; ${total - started} GPUs paid and idle until a run fits them`);
    return { data: { clusterQueue: k.clusterQueue, localQueue: k.localQueue, queueingStrategy: k.queueingStrategy, preemption: k.preemption, quota, admissions: adm }, lines, warnings };
}

/** The lines, data and warnings of one run. */
function runSection(r: ResolvedRun, cfg: MilesConfig, opts: { except?: WarningKind[]; storageCapacityGiB?: number } = {}): SectionResult {
    const t = r.training;
    const cmd = r.command;
    const size = r.worker;
    const g = r.group;
    const engineGpus = t.layout.gpusPerEngine;
    const layout = t.layout.colocate
        ? `colocated: actor ${r.actorNodes} × ${r.actorGpusPerNode} = ${r.actorGpus} GPUs, shared with the SGLang engines`
        : `disaggregated: actor ${r.actorNodes} × ${r.actorGpusPerNode} = ${r.actorGpus} GPUs + rollout ${r.rolloutGpus} GPUs = ${r.gpusNeeded}`;
    const efa = t.network.efa ? (g?.efaPerNode ?? 0) : 0;
    const gate = fabricGatePlan(r);
    const lines: Array<[string, string]> = [
        ["run", `RayJob ${r.runName} in namespace ${r.namespace}, ${t.entry}`],
        ["image", r.imageChoice.describe],
        ["fabric gate", describeGate(gate, clusterWideAddonEnabled(cfg, "kueue"))],
        ["model", `${r.model.name}${r.model.totalParamsB ? ` (${r.model.totalParamsB}B params${r.model.numExperts > 0 ? `, ${r.model.numExperts} experts` : ""})` : ""}, ${r.model.numLayers} layers${r.model.mtpLayers > 0 ? `, ${r.model.mtpLayers} MTP layer(s)` : ""}`],
        [
            "gpu layout",
            r.groups.length > 1
                ? `${layout}; node groups ${r.groups.map((x) => `${x.group.name}: ${x.nodes} of ${x.group.nodes}`).join(" + ")} node(s) × ${r.gpusPerNode} GPUs (one Ray worker group each)`
                : `${layout}; node group ${g?.name ?? "?"}: ${r.nodesNeeded} of ${g?.nodes ?? "?"} node(s) × ${r.gpusPerNode} GPUs`,
        ],
        ...autoLines(r),
        ["parallelism", `TP ${r.tp} × PP ${r.pp} × CP ${r.cp} → DP ${r.effective.dp}; EP ${r.ep}, ETP ${r.etp}${r.effective.sequenceParallel ? ", sequence parallel" : ""}`],
        ["engines", `${r.engines} engine${r.engines === 1 ? "" : "s"} × ${engineGpus} GPU${engineGpus === 1 ? "" : "s"} (SGLang TP ${engineGpus})`],
        ["batch", `${t.algorithm.rolloutBatchSize} prompts × ${t.algorithm.nSamplesPerPrompt} samples = ${r.samplesPerRollout} per rollout = global batch ${r.globalBatchSize} × ${r.numStepsPerRollout} step(s); ${t.algorithm.numRollout} rollouts, ${t.algorithm.advantageEstimator}`],
        ["checkpoints", `--load = --save ${r.paths.checkpointDir} every ${t.checkpoints.saveInterval} rollouts${t.checkpoints.retainInterval ? `, keep every ${t.checkpoints.retainInterval}` : ""}; ref ${r.paths.refLoad ?? "none"}; rollout weights ${r.paths.rolloutCheckpoint ?? "?"}`],
        ["worker pod", `${r.nodesNeeded} × (${r.gpusPerNode} GPUs, ${efa > 0 ? `${efa} EFA` : g?.rdma ? `${g.rdma.perNode} ${g.rdma.resourceName}` : "0 EFA"}, ${size.cpu} CPU, ${size.memoryGiB} GiB, /dev/shm ${size.shmGiB} GiB)`],
        ["head pod", `CPU only, ${headPlacement(cfg, t)}: ${t.resources.headCpu} CPU, ${r.head.memoryGiB} GiB (${r.head.from === "config" ? `resources.headMemoryGiB; the run needs ${r.head.needGiB} GiB: ` : "from the run: "}${r.head.basis})`],
        ["prep jobs", `${t.modelPrep.download ? "download" : "no download"}, ${t.modelPrep.convert ? "convert to torch_dist" : "no conversion"}; pulumi up waits up to ${t.modelPrep.timeoutMinutes} min for each`],
        ...memoryLines(r),
        ["entrypoint", cmd.entrypoint],
        ["env", cmd.env.map((e) => `${e.name}=${e.value}`).concat(cmd.secretEnv.map((s) => `${s.name}=<secret ${s.secretKey}>`)).join(" ")],
    ];
    const data = {
        enabled: true,
        runName: r.runName,
        namespace: r.namespace,
        image: r.imageName,
        imageSource: r.imageChoice.source,
        imageDigest: r.imageChoice.digest,
        fabricGate: gate,
        entry: t.entry,
        model: r.model.name,
        nodeGroup: g?.name,
        ...(r.groups.length > 1 ? { nodeGroups: r.groups.map((x) => ({ name: x.group.name, workerPods: x.nodes })) } : {}),
        gpusPerNode: r.gpusPerNode,
        actorNodes: r.actorNodes,
        actorGpusPerNode: r.actorGpusPerNode,
        actorGpus: r.actorGpus,
        rolloutGpus: r.rolloutGpus,
        colocate: t.layout.colocate,
        gpusNeeded: r.gpusNeeded,
        workerPods: r.nodesNeeded,
        tp: r.tp,
        pp: r.pp,
        cp: r.cp,
        ep: r.ep,
        etp: r.etp,
        dp: r.effective.dp,
        engines: r.engines,
        gpusPerEngine: engineGpus,
        globalBatchSize: r.globalBatchSize,
        paths: r.paths,
        entrypoint: cmd.entrypoint,
        argv: [cmd.script, ...cmd.argv],
        env: Object.fromEntries(cmd.env.map((e) => [e.name, e.value])),
        memory: memoryData(r),
        ...(r.auto ? { auto: { chosen: r.auto.choice?.layout, searched: r.auto.searched } } : {}),
    };
    const lc = lifecyclePlan(cfg, r, new Date(), opts.storageCapacityGiB);
    lines.push(...lc.lines);
    return { data: { ...data, priority: t.priority, lifecycle: lc.data }, lines: [...lines, ["priority", t.priority]], warnings: [...trainingWarnings(r, opts), ...layoutWarnings(r), ...fabricWarnings(r), ...spanWarnings(cfg, r), ...lc.warnings] };
}

/** Where the CPU-only Ray head lands: an explicit selector wins; otherwise any untainted node. */
function headPlacement(cfg: MilesConfig, t: ResolvedRun["training"]): string {
    const sel = Object.entries(t.resources.headNodeSelector).map(([k, v]) => `${k}=${v}`);
    if (sel.length > 0) return `on nodes with ${sel.join(", ")}`;
    return cfg.cluster.existing ? "on any untainted node of the cluster (set resources.headNodeSelector to pin it)" : "on the untainted system nodes";
}

const gib = (b: number): string => `${(b / GIB).toFixed(1)} GiB`;
const usage = (f: PhaseFit): string => `${gib(f.totalBytes)} of ${gib(f.capacityBytes)} (${Math.round(f.usage * 100)}%)`;

/** `parallelism: auto`: the layout the search chose (the run above is resolved with it), and how much it searched. */
function autoLines(r: ResolvedRun): Array<[string, string]> {
    const c = r.auto?.choice;
    if (!r.auto || !c) return [];
    const pct = (u: number) => `${Math.round(u * 100)}%`;
    return [
        [
            "parallelism: auto",
            `chose ${describeLayout(c.layout)} — GPU ${pct(c.usage.train)} training / ${pct(c.usage.rollout)} rollout, host ${pct(c.usage.host)}; ${r.auto.searched.fitChecks} layouts estimated, ${r.auto.searched.ruleChecks} judged by every rule (miles-cluster size prints the runners-up)`,
        ],
    ];
}

/** The per-GPU memory estimate (domain/training/memoryFit.ts): actor, rollout engine and host, with their parts. */
function memoryLines(r: ResolvedRun): Array<[string, string]> {
    const f = runMemoryFit(r);
    if (!f) return [["memory", "not estimated (unknown instance type or architecture)"]];
    return [
        ["memory/GPU train", `${usage(f.train)} on ${f.gpu}: ${breakdown(f.train)}; ${f.tokensBasis} tokens per micro-batch; params ${f.paramsBasis}`],
        ["memory/GPU rollout", `${usage(f.rollout)}: ${breakdown(f.rollout)}; ≈ ${f.rollout.kvTokens.toLocaleString("en-US")} KV tokens per engine GPU`],
        ["memory/host", f.host.items.length > 0 ? `${usage(f.host)} per node: ${breakdown(f.host)}` : `nothing offloaded to host RAM (${gib(f.host.capacityBytes)} per worker pod)`],
        ["memory/accuracy", f.accuracy],
    ];
}

function memoryData(r: ResolvedRun): Record<string, unknown> | undefined {
    const f = runMemoryFit(r);
    if (!f) return undefined;
    const phase = (p: PhaseFit) => ({ totalGiB: +(p.totalBytes / GIB).toFixed(2), capacityGiB: +(p.capacityBytes / GIB).toFixed(2), usage: +p.usage.toFixed(3), items: p.items.map((i) => ({ label: i.label, GiB: +(i.bytes / GIB).toFixed(2), formula: i.formula })) });
    return { gpu: f.gpu, params: f.paramsBasis, tokens: f.tokensBasis, train: phase(f.train), rollout: { ...phase(f.rollout), kvTokens: f.rollout.kvTokens }, host: phase(f.host), accuracy: f.accuracy };
}

/**
 * A run over node groups in different placement domains (placement groups, Capacity Blocks): EFA
 * reaches across them (every GPU group is in the GPU zone's one subnet and the EFA security group,
 * components/gpuCluster.ts), but AWS promises low latency and full bandwidth only inside one domain.
 */
export function spanWarnings(cfg: MilesConfig, r: ResolvedRun): string[] {
    if (r.groups.length <= 1) return [];
    const byName = new Map(cfg.cluster.gpuNodeGroups.map((g) => [g.name, g]));
    const domains = r.groups.map((x) => ({ name: x.group.name, d: byName.has(x.group.name) ? interconnectDomain(byName.get(x.group.name)!) : undefined }));
    if (new Set(domains.map((x) => x.d?.id ?? x.name)).size <= 1) return [];
    return [
        `training.nodeGroups: the run spans ${domains.map((x) => `${x.name} (${x.d?.describe ?? "placement unknown"})`).join(", ")}: AWS keeps latency low and bandwidth high only inside one cluster placement group or one Capacity Block (EC2 API reference: CreatePlacementGroup, CapacityBlock), so NCCL traffic between the groups may be slower than inside each; the fabric gate measures the all-reduce across all ${r.nodesNeeded} nodes before the run starts`,
    ];
}

import type { SectionProducer } from "../types";
import type { MilesConfig } from "../../config";
import { trainingWarnings } from "../../domain/training/rules";
import { runOf } from "../../domain/training/run";
import { breakdown, runMemoryFit } from "../../domain/training/memoryFitRun";
import { GIB, type PhaseFit } from "../../domain/training/memoryFit";
import { describeGate, fabricGatePlan, fabricWarnings } from "../../domain/fabric/gate";

/**
 * The training run: the full entrypoint, GPU layout, parallelism and DP, SGLang engines, batch
 * sizes, paths, pod sizing, preparation Jobs and warnings (idle GPUs, ignored settings).
 */
export const trainingSection: SectionProducer = (cfg) => {
    const t = cfg.training;
    if (!t.enabled) return { data: { enabled: false }, lines: [["training", "disabled (training.enabled: false)"]] };
    const r = runOf(cfg);
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
        ["fabric gate", describeGate(gate)],
        ["model", `${r.model.name}${r.model.totalParamsB ? ` (${r.model.totalParamsB}B params${r.model.numExperts > 0 ? `, ${r.model.numExperts} experts` : ""})` : ""}, ${r.model.numLayers} layers${r.model.mtpLayers > 0 ? `, ${r.model.mtpLayers} MTP layer(s)` : ""}`],
        ["gpu layout", `${layout}; node group ${g?.name ?? "?"}: ${r.nodesNeeded} of ${g?.nodes ?? "?"} node(s) × ${r.gpusPerNode} GPUs`],
        ["parallelism", `TP ${r.tp} × PP ${r.pp} × CP ${r.cp} → DP ${r.dp}; EP ${r.ep}, ETP ${r.etp}${t.parallelism.sequenceParallel ? ", sequence parallel" : ""}`],
        ["engines", `${r.engines} engine${r.engines === 1 ? "" : "s"} × ${engineGpus} GPU${engineGpus === 1 ? "" : "s"} (SGLang TP ${engineGpus})`],
        ["batch", `${t.algorithm.rolloutBatchSize} prompts × ${t.algorithm.nSamplesPerPrompt} samples = ${r.samplesPerRollout} per rollout = global batch ${r.globalBatchSize} × ${r.numStepsPerRollout} step(s); ${t.algorithm.numRollout} rollouts, ${t.algorithm.advantageEstimator}`],
        ["checkpoints", `--load = --save ${r.paths.checkpointDir} every ${t.checkpoints.saveInterval} rollouts${t.checkpoints.retainInterval ? `, keep every ${t.checkpoints.retainInterval}` : ""}; ref ${r.paths.refLoad ?? "none"}; rollout weights ${r.paths.rolloutCheckpoint ?? "?"}`],
        ["worker pod", `${r.nodesNeeded} × (${r.gpusPerNode} GPUs, ${efa > 0 ? `${efa} EFA` : g?.rdma ? `${g.rdma.perNode} ${g.rdma.resourceName}` : "0 EFA"}, ${size.cpu} CPU, ${size.memoryGiB} GiB, /dev/shm ${size.shmGiB} GiB)`],
        ["head pod", `CPU only, ${headPlacement(cfg)}: ${t.resources.headCpu} CPU, ${t.resources.headMemoryGiB} GiB (driver, RolloutManager, router)`],
        ["prep jobs", `${t.modelPrep.download ? "download" : "no download"}, ${t.modelPrep.convert ? "convert to torch_dist" : "no conversion"}; pulumi up waits up to ${t.modelPrep.timeoutMinutes} min for each`],
        ...memoryLines(r),
        ["entrypoint", cmd.entrypoint],
        ["env", cmd.env.map((e) => `${e.name}=${e.value}`).concat(cmd.secretEnv.map((s) => `${s.name}=<secret ${s.secretKey}>`)).join(" ")],
    ];
    const data = {
        enabled: true,
        runName: r.runName,
        namespace: r.namespace,
        image: r.image,
        imageSource: r.imageChoice.source,
        imageDigest: r.imageChoice.digest,
        fabricGate: gate,
        entry: t.entry,
        model: r.model.name,
        nodeGroup: g?.name,
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
        dp: r.dp,
        engines: r.engines,
        gpusPerEngine: engineGpus,
        globalBatchSize: r.globalBatchSize,
        paths: r.paths,
        entrypoint: cmd.entrypoint,
        argv: [cmd.script, ...cmd.argv],
        env: Object.fromEntries(cmd.env.map((e) => [e.name, e.value])),
        memory: memoryData(r),
    };
    return { data, lines, warnings: [...trainingWarnings(r), ...fabricWarnings(r)] };
};

/** Where the CPU-only Ray head lands: an explicit selector wins; otherwise any untainted node. */
function headPlacement(cfg: MilesConfig): string {
    const sel = Object.entries(cfg.training.resources.headNodeSelector).map(([k, v]) => `${k}=${v}`);
    if (sel.length > 0) return `on nodes with ${sel.join(", ")}`;
    return cfg.cluster.existing ? "on any untainted node of the cluster (set resources.headNodeSelector to pin it)" : "on the untainted system nodes";
}

const gib = (b: number): string => `${(b / GIB).toFixed(1)} GiB`;
const usage = (f: PhaseFit): string => `${gib(f.totalBytes)} of ${gib(f.capacityBytes)} (${Math.round(f.usage * 100)}%)`;

/** The per-GPU memory estimate (domain/training/memoryFit.ts): actor, rollout engine and host, with their parts. */
function memoryLines(r: ReturnType<typeof runOf>): Array<[string, string]> {
    const f = runMemoryFit(r);
    if (!f) return [["memory", "not estimated (unknown instance type or architecture)"]];
    return [
        ["memory/GPU train", `${usage(f.train)} on ${f.gpu}: ${breakdown(f.train)}; ${f.tokensBasis} tokens per micro-batch; params ${f.paramsBasis}`],
        ["memory/GPU rollout", `${usage(f.rollout)}: ${breakdown(f.rollout)}; ≈ ${f.rollout.kvTokens.toLocaleString("en-US")} KV tokens per engine GPU`],
        ["memory/host", f.host.items.length > 0 ? `${usage(f.host)} per node: ${breakdown(f.host)}` : `nothing offloaded to host RAM (${gib(f.host.capacityBytes)} per worker pod)`],
    ];
}

function memoryData(r: ReturnType<typeof runOf>): Record<string, unknown> | undefined {
    const f = runMemoryFit(r);
    if (!f) return undefined;
    const phase = (p: PhaseFit) => ({ totalGiB: +(p.totalBytes / GIB).toFixed(2), capacityGiB: +(p.capacityBytes / GIB).toFixed(2), usage: +p.usage.toFixed(3), items: p.items.map((i) => ({ label: i.label, GiB: +(i.bytes / GIB).toFixed(2), formula: i.formula })) });
    return { gpu: f.gpu, params: f.paramsBasis, tokens: f.tokensBasis, train: phase(f.train), rollout: { ...phase(f.rollout), kvTokens: f.rollout.kvTokens }, host: phase(f.host) };
}

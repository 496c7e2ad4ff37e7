/**
 * Settings that plan but are probably not what the user meant (issue 21): a model-parallel group
 * larger than a node, whose per-layer collectives then leave NVLink for EFA, and data files outside
 * the shared volume, which no pod of the run has. Warnings: the run starts either way.
 */
import { SHARED_MOUNT_PATH } from "../../catalog/sharedPaths";
import type { ResolvedRun } from "./run";

/**
 * Megatron numbers ranks with tensor parallelism innermost, then context, expert, data and pipeline
 * (NVIDIA/Megatron-LM megatron/core/parallel_state.py, `initialize_model_parallel(order="tp-cp-ep-dp-pp")`;
 * the expert layers' groups use ETP in place of TP), and miles places ranks node by node. So a TP
 * group of more than a node's GPUs, a TP×CP group, or an ETP×EP group, spans nodes: inside a p5/p5en
 * node the collectives run over NVLink (NVSwitch, 900 GB/s per GPU), between nodes over EFA
 * (3,200 Gbps = 400 GB/s per node) — shared/reference/gpu-cluster-anchors.md, instance table.
 */
function parallelGroupWarnings(r: ResolvedRun): string[] {
    const n = r.gpusPerNode;
    if (!(n > 0) || r.actorGpus <= n) return [];
    const out: string[] = [];
    const across = "its all-reduces and all-gathers (every layer, forward and backward) leave NVLink (900 GB/s per GPU) for EFA between nodes (400 GB/s per node)";
    if (r.tp > n) {
        out.push(`training.parallelism.tp: TP ${r.tp} is larger than a node's ${n} GPUs, so each tensor-parallel group spans ${Math.ceil(r.tp / n)} nodes and ${across}; keep TP within a node (≤ ${n}) and scale with PP, CP or DP`);
    } else if (r.tp * r.cp > n) {
        out.push(`training.parallelism.cp: TP ${r.tp} × CP ${r.cp} = ${r.tp * r.cp} is larger than a node's ${n} GPUs, so the context-parallel ring spans nodes and its attention exchanges run over EFA instead of NVLink; fine for very long sequences, otherwise keep TP × CP ≤ ${n}`);
    }
    if (r.ep > 1 && r.etp * r.ep > n) {
        out.push(`training.parallelism.ep: ETP ${r.etp} × EP ${r.ep} = ${r.etp * r.ep} is larger than a node's ${n} GPUs, so the expert all-to-all of every MoE layer crosses nodes over EFA instead of NVLink; expected for the largest MoEs, otherwise keep ETP × EP ≤ ${n}`);
    }
    return out;
}

/** Data paths the pods read: only the shared volume (SHARED_MOUNT_PATH) is mounted in every pod of the run. */
function dataPathWarnings(r: ResolvedRun): string[] {
    const onShared = (p: string) => p === SHARED_MOUNT_PATH || p.startsWith(`${SHARED_MOUNT_PATH}/`);
    const out: string[] = [];
    const prompt = r.training.data.promptData;
    if (prompt !== undefined && !onShared(prompt)) {
        out.push(`training.data.promptData: ${prompt} is outside the shared volume (${SHARED_MOUNT_PATH}), the only file system every pod of the run mounts; train.py on the head will not find it unless the image contains it — put the file under ${SHARED_MOUNT_PATH}/data`);
    }
    r.training.eval.datasets.forEach((d, i) => {
        if (!onShared(d.path)) out.push(`training.eval.datasets[${i}].path: ${d.path} is outside the shared volume (${SHARED_MOUNT_PATH}), the only file system every pod of the run mounts; put the file under ${SHARED_MOUNT_PATH}/data`);
    });
    return out;
}

/** The layout and data-path warnings of a run, as `path: message` lines (plan summary). */
export function layoutWarnings(r: ResolvedRun): string[] {
    if (!r.training.enabled) return [];
    return [...parallelGroupWarnings(r), ...dataPathWarnings(r)];
}

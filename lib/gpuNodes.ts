/**
 * Labels and taints every GPU node group carries. The node groups set them, the device-plugin
 * add-ons tolerate and select on them, and the training pods select and tolerate them: one
 * definition keeps the three from drifting apart (the classic "DaemonSet with 0 desired pods").
 */
export type AmiFamily = "al2023" | "bottlerocket";

export interface Taint {
    key: string;
    value: string;
    /** Kubernetes effect name. */
    effect: "NoSchedule" | "NoExecute" | "PreferNoSchedule";
}

/** The taint that keeps non-GPU workloads off GPU nodes. */
export const GPU_TAINT: Taint = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" };

export const LABEL_NODE_GROUP = "miles-cluster.io/node-group";
export const LABEL_AMI_FAMILY = "miles-cluster.io/ami-family";
export const LABEL_GPU_PRESENT = "nvidia.com/gpu.present";
export const LABEL_EFA_PRESENT = "vpc.amazonaws.com/efa.present";

export interface GpuNodeGroupIdentity {
    name: string;
    amiFamily: AmiFamily;
    efa: boolean;
}

/** Labels a GPU node group puts on its nodes. */
export function gpuNodeLabels(g: GpuNodeGroupIdentity): Record<string, string> {
    const labels: Record<string, string> = {
        [LABEL_GPU_PRESENT]: "true",
        [LABEL_NODE_GROUP]: g.name,
        [LABEL_AMI_FAMILY]: g.amiFamily,
    };
    if (g.efa) labels[LABEL_EFA_PRESENT] = "true";
    return labels;
}

/** Taints a GPU node group puts on its nodes. */
export function gpuNodeTaints(_g: GpuNodeGroupIdentity): Taint[] {
    return [GPU_TAINT];
}

import type { MilesConfig } from "../config";
import type { GpuNodeGroupInfo } from "../components/contracts";
import { instanceFacts } from "./instances";

/** The subset of a group's labels that selects exactly its nodes. */
export function gpuNodeSelector(name: string): Record<string, string> {
    return { [LABEL_NODE_GROUP]: name };
}

/**
 * The GPU node groups of a stack, as facts known before deployment. Validation (does the training
 * job fit?), the add-ons (will the device plugins land on every GPU node?) and the training pods
 * (which nodes, how many GPUs and EFA devices) all read this one function.
 */
export function gpuNodeGroupsFromConfig(cfg: MilesConfig): GpuNodeGroupInfo[] {
    const existing = cfg.cluster.existing;
    if (existing) {
        // Bring-your-own cluster: the nodes are selected by the user's labels and carry the user's
        // taint (or none); we do not set them, so `labels` is just what we know they carry.
        const n = existing.gpuNodes;
        return [
            {
                name: n.name,
                instanceType: n.instanceType,
                nodes: n.nodes,
                gpusPerNode: n.gpusPerNode,
                efaPerNode: n.efaPerNode,
                labels: { ...n.selector },
                selector: { ...n.selector },
                taints: n.taint ? [{ key: n.taint.key, value: n.taint.value, effect: n.taint.effect }] : [],
            },
        ];
    }
    return cfg.cluster.gpuNodeGroups.map((g) => {
        const facts = instanceFacts(g.instanceType);
        const identity = { name: g.name, amiFamily: g.amiFamily, efa: true };
        return {
            name: g.name,
            instanceType: g.instanceType,
            nodes: g.nodes,
            gpusPerNode: facts.gpus,
            efaPerNode: facts.networkCards,
            amiFamily: g.amiFamily,
            labels: gpuNodeLabels(identity),
            selector: gpuNodeSelector(g.name),
            taints: gpuNodeTaints(identity),
        };
    });
}

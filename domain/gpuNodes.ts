/**
 * The GPU node groups of a stack as facts known before deployment: what validation (does the run
 * fit?), the add-ons (will the device plugins land on every GPU node?) and the training pods (which
 * nodes, how many GPUs and EFA devices) all read.
 */
import type { MilesConfig } from "../config";
import type { GpuInstanceType } from "../catalog/instances";
import { instanceFacts } from "../catalog/instances";
import { efaDevicesPerNode } from "../catalog/efaLayout";
import { gpuNodeLabels, gpuNodeSelector, gpuNodeTaints, type AmiFamily, type Taint } from "../catalog/nodeLabels";

/** Facts about one group of GPU nodes, known before deployment (from config), used for scheduling. */
export interface GpuNodeGroupInfo {
    name: string;
    /** Undefined on a bring-your-own cluster whose nodes are not EC2 P5-family instances. */
    instanceType?: GpuInstanceType;
    nodes: number;
    gpusPerNode: number;
    /** EFA devices each node exposes as `vpc.amazonaws.com/efa` (0 = no EFA). */
    efaPerNode: number;
    /** RDMA (InfiniBand/RoCE) resource each worker pod requests on a bring-your-own cluster. */
    rdma?: { resourceName: string; perNode: number; hca?: string };
    amiFamily?: AmiFamily;
    /** Labels the nodes carry; a pod's nodeSelector for this group is a subset of these. */
    labels: Record<string, string>;
    /** The subset of `labels` that selects exactly this group's nodes. */
    selector: Record<string, string>;
    taints: Taint[];
    /**
     * Set when the group runs on an EC2 Capacity Block: its reservation, the window the config states
     * (for `plan`; a deployment reads the reservation's own) and how early the run saves before it ends.
     */
    capacityBlock?: { reservationId: string; window?: { start: string; end: string }; saveLeadMinutes: number };
    /**
     * Set when the group runs on spot capacity: EC2 may reclaim its nodes with a two-minute notice, so
     * the node watcher of a run on it also reacts to the interruption handler's taints (domain/lifecycle/nodeWatch.ts).
     */
    spot?: true;
}

/**
 * The GPU node groups of a stack, as facts known before deployment. Validation (does the training
 * job fit?), the add-ons (will the device plugins land on every GPU node?) and the training pods
 * (which nodes, how many GPUs and EFA devices) all read this one function.
 */
export function gpuNodeGroupsFromConfig(cfg: { cluster: Pick<MilesConfig["cluster"], "existing" | "gpuNodeGroups"> }): GpuNodeGroupInfo[] {
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
                ...(n.rdma ? { rdma: { ...n.rdma } } : {}),
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
            efaPerNode: efaDevicesPerNode(g.instanceType),
            amiFamily: g.amiFamily,
            labels: gpuNodeLabels(identity),
            selector: gpuNodeSelector(g.name),
            taints: gpuNodeTaints(identity),
            capacityBlock:
                g.capacity.type === "capacity-block"
                    ? { reservationId: g.capacity.reservationId, window: g.capacity.window ? { ...g.capacity.window } : undefined, saveLeadMinutes: g.capacity.saveLeadMinutes }
                    : undefined,
            ...(g.capacity.type === "spot" ? { spot: true as const } : {}),
        };
    });
}

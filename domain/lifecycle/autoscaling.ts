/**
 * Which GPU groups scale between 0 and their size with the Cluster Autoscaler, and what it needs to
 * scale them from zero.
 *
 * Why the Cluster Autoscaler on the managed node groups and not Karpenter: the GPU groups are EKS
 * managed node groups with a custom launch template (EFA on every network card, node repair), and
 * Capacity Blocks rely on EKS's own scheduled scale-down of a managed node group. The Cluster
 * Autoscaler scales exactly those groups (it only changes the ASG's desired size within min/max),
 * needs one chart and one IAM role, and leaves reserved groups alone. Karpenter would replace the
 * node groups by its own EC2NodeClass/NodePool provisioning (a second path for EFA, reservations and
 * AMIs) and needs an interruption queue; it is the better tool for many instance types, not for a
 * few fixed P5 groups.
 */
import type { GpuNodeGroupConfig } from "../../config/cluster";
import { instanceFacts } from "../../catalog/instances";
import { efaDevicesPerNode, efaHugepages2MiQuantity } from "../../catalog/efaLayout";
import { LABEL_NODE_GROUP, gpuNodeLabels, gpuNodeTaints } from "../../catalog/nodeLabels";
import { SYSTEM_NODE_GROUP_NAME } from "../../config/cluster";
import { CA_AUTOSCALE_TAG, CA_NODE_TEMPLATE_TAG, caDiscoveryTags } from "../../catalog/autoscaler";
import { IMAGES } from "../../catalog/versions";

/** On-demand and spot groups autoscale unless `scaling: fixed`; reserved capacity is paid anyway and stays fixed. */
export function autoscales(g: GpuNodeGroupConfig): boolean {
    return (g.capacity.type === "on-demand" || g.capacity.type === "spot") && g.scaling === "auto";
}

/** min 0, max `nodes`: the Cluster Autoscaler sets the desired size (created at 0). */
export function autoScalingOf(nodes: number): { minSize: number; desiredSize: number; maxSize: number } {
    return { minSize: 0, desiredSize: 0, maxSize: Math.max(nodes, 1) };
}

/**
 * Tags the group's Auto Scaling group must carry (EKS does not copy node group tags to it): the
 * discovery tag, and the node template the Cluster Autoscaler builds a node from when the group is
 * at 0 — its GPUs, EFA devices, huge pages, labels and taints (cluster-autoscaler/cloudprovider/aws/README.md,
 * "Auto-Discovery Setup": `k8s.io/cluster-autoscaler/node-template/resources|label|taint/...`).
 */
export function autoscalingAsgTags(g: GpuNodeGroupConfig): Record<string, string> {
    const identity = { name: g.name, amiFamily: g.amiFamily, efa: true };
    const tags: Record<string, string> = { [CA_AUTOSCALE_TAG]: "true" };
    tags[`${CA_NODE_TEMPLATE_TAG}/resources/nvidia.com/gpu`] = String(instanceFacts(g.instanceType).gpus);
    const efa = efaDevicesPerNode(g.instanceType);
    if (efa > 0) {
        tags[`${CA_NODE_TEMPLATE_TAG}/resources/vpc.amazonaws.com/efa`] = String(efa);
        // The worker and fabric-gate pods request huge pages: a template node without them (the CA
        // reads extended resources only from these tags, aws_manager.go extractAllocatableResourcesFromAsg)
        // never fits them, so the group would never scale up from 0.
        tags[`${CA_NODE_TEMPLATE_TAG}/resources/hugepages-2Mi`] = efaHugepages2MiQuantity();
    }
    for (const [k, v] of Object.entries(gpuNodeLabels(identity))) tags[`${CA_NODE_TEMPLATE_TAG}/label/${k}`] = v;
    for (const t of gpuNodeTaints(identity)) tags[`${CA_NODE_TEMPLATE_TAG}/taint/${t.key}`] = `${t.value}:${t.effect}`;
    return tags;
}

/**
 * `extraArgs` entries naming startup taints. The chart turns each key's part before `_` into a flag
 * (templates/deployment.yaml at cluster-autoscaler-chart-9.59.0, lines 136-142) and `--startup-taint`
 * takes one taint per occurrence (config/flags/flags.go MultiStringFlag.Set appends, no comma split).
 */
export function startupTaintArgs(keys: readonly string[]): Record<string, string> {
    return Object.fromEntries(keys.map((k, i) => [i === 0 ? "startup-taint" : `startup-taint_${i}`, k]));
}

/**
 * Helm values of the cluster-autoscaler chart (9.59.0 values.yaml). `startupTaints`: taints the GPU
 * nodes carry only while they start (the FSx CSI one): declared, the autoscaler waits for such a node
 * to lose them instead of judging it ready and scaling up again for the pod it does not admit yet
 * (FAQ.md "Startup taints" at cluster-autoscaler-1.35.2).
 */
export function clusterAutoscalerValues(clusterName: string, region: string, serviceAccountName: string, startupTaints: readonly string[] = []): Record<string, unknown> {
    return {
        cloudProvider: "aws",
        awsRegion: region,
        // The patch release pinned in catalog/versions.ts, over the chart's appVersion.
        image: { repository: IMAGES.clusterAutoscaler.repository, tag: IMAGES.clusterAutoscaler.tag },
        autoDiscovery: { clusterName, tags: caDiscoveryTags(clusterName) },
        rbac: { serviceAccount: { create: true, name: serviceAccountName } },
        extraArgs: {
            // Pick the group that wastes least; never scale a group that only holds a GPU pod's DaemonSets.
            expander: "least-waste",
            "scale-down-unneeded-time": "10m",
            "skip-nodes-with-system-pods": false,
            ...startupTaintArgs(startupTaints),
        },
        // Runs on the untainted system nodes (it must not scale away the node it runs on).
        nodeSelector: { [LABEL_NODE_GROUP]: SYSTEM_NODE_GROUP_NAME },
        podDisruptionBudget: { maxUnavailable: 1 },
        resources: { requests: { cpu: "100m", memory: "300Mi" }, limits: { memory: "600Mi" } },
        securityContext: { runAsNonRoot: true, runAsUser: 65534, fsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
        containerSecurityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
    };
}

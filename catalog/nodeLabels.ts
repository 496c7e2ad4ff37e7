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

/** The subset of a group's labels that selects exactly its nodes. */
export function gpuNodeSelector(name: string): Record<string, string> {
    return { [LABEL_NODE_GROUP]: name };
}


/**
 * Startup taint the FSx for Lustre CSI node plugin removes once it can mount on the node
 * (../shared/reference/gpu-cluster-anchors.md §2.5). Without it a training pod can land on a fresh
 * node before the plugin's socket exists and fail its mount (aws-fsx-csi-driver #366). It is a
 * startup taint, not part of `GpuNodeGroupInfo.taints`: nothing should tolerate it. Set only when
 * the stack's storage is FSx for Lustre (otherwise nobody would remove it).
 */
export const FSX_STARTUP_TAINT: Taint = { key: "fsx.csi.aws.com/agent-not-ready", value: "", effect: "NoExecute" };

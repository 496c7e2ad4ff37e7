/**
 * Node health facts (issue 22).
 *
 * The EKS node monitoring agent (add-on eks-node-monitoring-agent, installed by
 * components/eksManagedAddons.ts) sets one NodeCondition per category of problem it finds in the
 * node's logs; `status: "False"` means unhealthy, and with auto repair (the GPU node groups'
 * nodeRepairConfig, components/gpuNodeGroup.ts) EKS reboots or replaces the node.
 * Sources: https://docs.aws.amazon.com/eks/latest/userguide/node-health.html and
 * https://docs.aws.amazon.com/eks/latest/userguide/node-health-nma.html ("AcceleratedHardware node
 * health issues": DCGMDiagnosticFailure, DCGMError … are Conditions on AcceleratedHardwareReady;
 * DCGMFieldError[Code], DCGMHealthCode[Code] are Events, no repair), and the agent's README
 * (github.com/aws/eks-node-monitoring-agent: KernelReady, NetworkingReady, StorageReady,
 * AcceleratedHardwareReady; ContainerRuntimeReady for the container runtime category).
 */
export const NODE_MONITORING_CONDITIONS = ["AcceleratedHardwareReady", "NetworkingReady", "KernelReady", "StorageReady", "ContainerRuntimeReady"] as const;
export type NodeMonitoringCondition = (typeof NODE_MONITORING_CONDITIONS)[number];

/**
 * Level of `dcgmi diag -r` our node check runs: 2 ("medium", a few minutes: deployment, PCIe,
 * memory and the short hardware tests), not 3/4 (stress tests of 30 min to hours), so a node that
 * joins is checked in minutes. DCGM user guide, "Run Levels"
 * (https://docs.nvidia.com/datacenter/dcgm/latest/user-guide/dcgm-diagnostics.html).
 */
export const DCGM_DIAG_LEVEL = 2;

/** Result words `dcgmi diag` prints (DCGM dcgmi/Diag.cpp, DcgmiResult display: Pass, Skip, Warn, Fail, Not Run). */
export const DCGM_RESULTS = ["Pass", "Skip", "Warn", "Fail", "Not Run"] as const;
export type DcgmResult = (typeof DCGM_RESULTS)[number];

/**
 * EKS automatic node repair: how long a node monitoring agent condition stays False before EKS acts,
 * and what it does (managed node groups). https://docs.aws.amazon.com/eks/latest/userguide/node-repair.html,
 * table "Node Condition / Repair after / Repair action(s)": AcceleratedHardwareReady 10m, Replace or
 * Reboot depending on the reason (NVIDIA XID table in node-health-nma.md); ContainerRuntimeReady,
 * KernelReady, NetworkingReady, StorageReady 30m, Replace.
 */
export const NODE_REPAIR_AFTER_MINUTES: Readonly<Record<NodeMonitoringCondition, number>> = {
    AcceleratedHardwareReady: 10,
    NetworkingReady: 30,
    KernelReady: 30,
    StorageReady: 30,
    ContainerRuntimeReady: 30,
};

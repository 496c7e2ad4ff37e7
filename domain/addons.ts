/**
 * Decisions about the cluster add-ons: which are installed, and the Helm values of the GPU node
 * agents (device plugins, DCGM exporter, node monitoring agent). Pure and exported: the tests and the
 * plan summary feed the values the program really passes to Helm through the chart models of
 * domain/chartPlacement.ts.
 */
import type { MilesConfig } from "../config";
import { NODE_AGENT_HOSTENGINE_PORT } from "../catalog/observability";
import { FSX_STARTUP_TAINT, GPU_TAINT, LABEL_AMI_FAMILY, LABEL_EFA_PRESENT, LABEL_GPU_PRESENT } from "../catalog/nodeLabels";
import type { GpuNodeGroupInfo } from "./gpuNodes";
import { HEALTH_PENDING_TAINT, UNHEALTHY_TAINT } from "./health/nodeHealth";
import { matchesTerm, nodeLabelsOf, tolerationsForTaints, type NodeSelectorRequirement, type NodeSelectorTerm, type Toleration } from "./scheduling";

/** True when the stack targets a cluster miles-cluster does not create (`cluster.existing`). */
/**
 * What the add-on decisions read of the cluster: only whether it is brought by the user. A stack
 * passes its config; a component knows it from its cluster handle (no AWS facts = not ours).
 */
export interface ClusterMode {
    cluster: { existing?: unknown };
}

export function isBringYourOwnCluster(cfg: ClusterMode): boolean {
    return cfg.cluster.existing !== undefined;
}

/** Whether the EFA device plugin is installed: the explicit switch, else on for our EKS cluster, off for bring-your-own. */
export function efaDevicePluginEnabled(cfg: ClusterMode & Pick<MilesConfig, "addons">): boolean {
    return cfg.addons.efaDevicePlugin.enabled ?? !isBringYourOwnCluster(cfg);
}

/**
 * Add-ons that act on the whole cluster — the NVIDIA device plugin and the DCGM exporter (a pod on
 * every GPU node), the KubeRay operator (cluster-scoped CRDs, a cluster-wide watch) and Kueue
 * (cluster-scoped CRDs, mutating webhooks on every Job and RayJob): their switch, else on for our EKS
 * cluster and off on a bring-your-own cluster, which others share (issue 21: never own what we did
 * not create).
 */
export type ClusterWideAddon = "nvidiaDevicePlugin" | "dcgmExporter" | "kuberay" | "kueue";

export function clusterWideAddonEnabled(cfg: ClusterMode & { addons: Pick<MilesConfig["addons"], ClusterWideAddon> }, addon: ClusterWideAddon): boolean {
    return cfg.addons[addon].enabled ?? !isBringYourOwnCluster(cfg);
}

/** Whether kube-prometheus-stack and the miles-cluster monitors, rules and dashboards are installed: the switch, else on for our EKS cluster. */
export function monitoringEnabled(cfg: ClusterMode & Pick<MilesConfig, "addons">): boolean {
    return cfg.addons.monitoring.enabled ?? !isBringYourOwnCluster(cfg);
}

/** Whether the training pods ship their Ray logs to CloudWatch Logs: the switch, else on for our EKS cluster (the pods need its IAM role). */
export function logShippingEnabled(cfg: ClusterMode & Pick<MilesConfig, "addons">): boolean {
    return cfg.addons.logs.enabled ?? !isBringYourOwnCluster(cfg);
}

/** Node agents live with the other node agents (kube-proxy, aws-node): they run at system-node-critical priority. */
export const NODE_AGENT_NAMESPACE = "kube-system";

/** Keeps the NVIDIA plugin off Bottlerocket nodes, which run their own (a second one would double-advertise GPUs). */
export const NOT_BOTTLEROCKET: NodeSelectorRequirement = { key: LABEL_AMI_FAMILY, operator: "NotIn", values: ["bottlerocket"] };

/**
 * Required node-affinity terms (OR'ed) that cover every given GPU group: one term on
 * `nvidia.com/gpu.present=true` (every node group miles-cluster creates carries it, and so will
 * any group added later), plus, for a group without that label (a bring-your-own cluster's group,
 * selected by its configured label), a term on that group's own selector. `extra` is AND'ed into
 * every term.
 */
export function gpuNodeTerms(groups: ReadonlyArray<GpuNodeGroupInfo>, extra: NodeSelectorRequirement[] = []): NodeSelectorTerm[] {
    const base: NodeSelectorTerm = { matchExpressions: [{ key: LABEL_GPU_PRESENT, operator: "In", values: ["true"] }, ...extra] };
    const terms: NodeSelectorTerm[] = [base];
    for (const g of groups) {
        const labels = nodeLabelsOf(g);
        if (terms.some((t) => matchesTerm(t, labels))) continue;
        const own = Object.entries(g.selector).map(([key, value]): NodeSelectorRequirement => ({ key, operator: "In", values: [value] }));
        terms.push({ matchExpressions: [...own, ...extra] });
    }
    return terms;
}

/** Tolerations for the taints of these groups (our GPU taint when there are no groups yet). */
export function gpuTolerations(groups: ReadonlyArray<GpuNodeGroupInfo>): Toleration[] {
    const taints = groups.flatMap((g) => g.taints);
    return tolerationsForTaints(taints.length > 0 ? taints : [GPU_TAINT]);
}

const CRITICAL_ADDONS_ONLY: Toleration = { key: "CriticalAddonsOnly", operator: "Exists" };

/**
 * Helm values of the NVIDIA device plugin: AL2023 GPU nodes only (Bottlerocket excluded by the
 * ami-family label), our GPU taint tolerated, GFD and NFD off. NFD stays off on purpose: its worker
 * tolerates only `nvidia.com/gpu=present` (Equal) and would never run on our `nvidia.com/gpu=true`
 * nodes (k8s-device-plugin #1934); we don't need its labels because our node groups set
 * `nvidia.com/gpu.present=true` themselves. `affinity` and `tolerations` replace the chart's
 * defaults (Helm replaces lists), so what is written here is exactly what the DaemonSet gets.
 */
export function nvidiaDevicePluginValues(groups: ReadonlyArray<GpuNodeGroupInfo>): Record<string, unknown> {
    return {
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: gpuNodeTerms(groups, [NOT_BOTTLEROCKET]) } } },
        tolerations: [CRITICAL_ADDONS_ONLY, ...gpuTolerations(groups)],
        gfd: { enabled: false },
        nfd: { enabled: false },
    };
}

/**
 * Helm values of the EFA device plugin. Its template builds the required affinity from
 * `supportedInstanceLabels` (one `key In values` term per key, plus `compute-type NotIn [auto]`),
 * so instead of the chart's instance-type allowlist (stale allowlists gave DESIRED 0 on p5e/p5en,
 * aws-do-eks #56) we point it at the EFA label our node groups carry. For bring-your-own groups
 * without that label, the groups' own selector label is used when they share one key.
 */
export function efaDevicePluginValues(groups: ReadonlyArray<GpuNodeGroupInfo>, imageRepository?: string): Record<string, unknown> {
    const efaGroups = groups.filter((g) => g.efaPerNode > 0);
    const values: Record<string, unknown> = {
        supportedInstanceLabels: efaSelectorLabel(efaGroups),
        tolerations: gpuTolerations(efaGroups),
    };
    if (imageRepository) values.image = { repository: imageRepository };
    return values;
}

/**
 * One label key every EFA group carries, and the values it takes: our EFA label when every group
 * has it (or there are no EFA groups yet), else a selector key all groups share. If there is none,
 * the EFA label is kept and the plan's coverage check reports the groups it misses.
 */
export function efaSelectorLabel(efaGroups: ReadonlyArray<GpuNodeGroupInfo>): { keys: string[]; values: string[] } {
    const ours = { keys: [LABEL_EFA_PRESENT], values: ["true"] };
    if (efaGroups.every((g) => g.labels[LABEL_EFA_PRESENT] === "true")) return ours;
    for (const key of new Set(efaGroups.flatMap((g) => Object.keys(g.selector)))) {
        if (efaGroups.every((g) => key in g.labels)) return { keys: [key], values: [...new Set(efaGroups.map((g) => g.labels[key]))] };
    }
    return ours;
}


export interface DcgmExporterOptions {
    /** The chart's own ServiceMonitor (`addons.dcgmExporter.serviceMonitor`; off when miles-cluster's monitoring creates one). */
    serviceMonitor: boolean;
    /**
     * Connect to the node monitoring agent's DCGM host engine instead of starting an embedded one.
     * Two engines on one GPU cannot both serve profiling (DCP) metrics: NVIDIA/dcgm-exporter #7
     * ("the profiling module uses hardware subsystems that cannot be shared between multiple
     * processes"), #61 (embedded mode fails to load modules when another nv-hostengine runs) and
     * aws/eks-node-monitoring-agent #256. The agent's dcgm-server runs `nv-hostengine -b ALL` on
     * hostPort 5555 of every NVIDIA node (catalog/observability.ts NODE_AGENT_HOSTENGINE_PORT), so
     * the exporter joins that one engine with `-r <node IP>:5555`.
     */
    nodeAgentHostEngine: boolean;
}

/** The exporter's options for a config: the agent's engine on our EKS cluster (it always runs eks-node-monitoring-agent). */
export function dcgmExporterOptions(cfg: ClusterMode & Pick<MilesConfig, "addons">): DcgmExporterOptions {
    return { serviceMonitor: cfg.addons.dcgmExporter.serviceMonitor, nodeAgentHostEngine: !isBringYourOwnCluster(cfg) };
}

/** The chart's default `arguments` (dcgm-exporter deployment/values.yaml at 4.5.3-4.8.2): the default counters, profiling ones included. */
export const DCGM_DEFAULT_ARGUMENTS = ["-f", "/etc/dcgm-exporter/default-counters.csv"];

/** Helm values: every GPU group (Bottlerocket included), GPU taint tolerated, ServiceMonitor per the switch, one DCGM engine per node. */
export function dcgmExporterValues(groups: ReadonlyArray<GpuNodeGroupInfo>, opts: DcgmExporterOptions): Record<string, unknown> {
    const values: Record<string, unknown> = {
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: gpuNodeTerms(groups) } } },
        tolerations: gpuTolerations(groups),
        serviceMonitor: { enabled: opts.serviceMonitor },
    };
    if (opts.nodeAgentHostEngine) {
        // Kubernetes expands $(NODE_IP) in args from the container's env (extraEnv is rendered into it).
        values.arguments = [...DCGM_DEFAULT_ARGUMENTS, "-r", `$(NODE_IP):${NODE_AGENT_HOSTENGINE_PORT}`];
        values.extraEnv = [{ name: "NODE_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } }];
    }
    return values;
}

/**
 * Configuration of the eks-node-monitoring-agent add-on (Helm values of its chart): the agent
 * itself tolerates every taint, and its dcgm-server DaemonSet, which by default tolerates none
 * (aws/containers-roadmap #2567), tolerates the GPU taint so GPU health (XIDs, DCGM diagnostics)
 * is actually watched on our tainted GPU nodes, including those the node check holds back.
 */
export function nodeMonitoringAgentValues(): Record<string, unknown> {
    return {
        nodeAgent: { tolerations: [{ operator: "Exists" }] },
        // Also the node check's taints and the FSx startup taint: the check runs `dcgmi diag` in this engine
        // (domain/health/nodeCheck.ts), so it must be there while a node still has its startup taints.
        dcgmAgent: { tolerations: tolerationsForTaints([GPU_TAINT, HEALTH_PENDING_TAINT, UNHEALTHY_TAINT, FSX_STARTUP_TAINT]) },
    };
}

/**
 * The contract between a cluster stack and the run stacks that add runs to it: one plain, versioned
 * stack output (`milesCluster`) with everything a run needs besides the kubeconfig (a separate,
 * secret output): the training namespace, its storage claim and service account, the queue, the
 * GPU node groups, the cluster stack's own runs (so names and checkpoint directories stay
 * unique across stacks), and its run NetworkPolicy settings (so a run stack's runs are admitted
 * through the namespace's default-deny exactly as the cluster stack's own runs are). Plain data known before deployment, so `plan` of a run stack can derive
 * it offline by planning the cluster stack's file.
 */
import type { GpuNodeGroupInfo } from "./gpuNodes";
import type { QueueHandle } from "./kueue";
import type { ResolvedRun } from "./training/run";
import type { Platform } from "./training/image";
import type { RunNetworkPolicy } from "./security/networkPolicy";

export const CLUSTER_FACTS_OUTPUT = "milesCluster";
/**
 * 2: adds the cluster's `platform` and `monitoring` (a run stack's runs are resolved against them,
 * domain/stack.ts) and `networkPolicy`. A version 1 output cannot say whether the namespace denies by
 * default, so a run stack refuses it (its runs would be created unreachable) until the cluster stack
 * is updated, which only re-exports its outputs.
 * 3: adds `nodeWatchServiceAccount`, the account the cluster's add-ons create for every run's node
 * watcher (components/nodeWatchAccess.ts). A run stack against an older cluster stack would start its
 * watchers under an account that does not exist (the Deployment never rolls out, `pulumi up` waits on
 * it): it is refused until the cluster stack is updated.
 */
export const CLUSTER_FACTS_VERSION = 3;

export interface RunFacts {
    name: string;
    checkpointDir: string;
    gpus: number;
    priority: string;
    /** GPUs per node group the run's workers take. */
    gpusByGroup: Record<string, number>;
}

export interface ClusterFacts {
    version: number;
    /** The cluster stack's name. */
    stack: string;
    namespace: string;
    claimName: string;
    serviceAccount: string;
    /** The service account the runs' node watchers use (created by the cluster stack's add-ons). */
    nodeWatchServiceAccount: string;
    /** The Kueue queue; null when the cluster stack has none (runs then start as soon as they are created). */
    queue: QueueHandle | null;
    gpuNodeGroups: GpuNodeGroupInfo[];
    /** An EKS cluster the cluster stack created, or one it was given (`cluster.existing`). */
    platform: Platform;
    /** Whether the cluster stack runs the monitoring stack (its runs' Prometheus endpoint then defaults to on). */
    monitoring: boolean;
    /** The runs the cluster stack itself holds. */
    runs: RunFacts[];
    /** The cluster stack's run NetworkPolicy settings (domain/security/networkPolicy.ts runNetworkPolicy); null when it creates no NetworkPolicies. */
    networkPolicy: RunNetworkPolicy | null;
}

/** GPUs per node group a run's workers take (one worker pod per node, all of a node's GPUs). */
export function gpusByGroup(r: Pick<ResolvedRun, "group" | "groups" | "nodesNeeded" | "gpusPerNode">): Record<string, number> {
    if (r.groups.length > 1) return Object.fromEntries(r.groups.map((x) => [x.group.name, x.nodes * r.gpusPerNode]));
    return r.group ? { [r.group.name]: r.nodesNeeded * r.gpusPerNode } : {};
}

export function runFacts(r: ResolvedRun): RunFacts {
    return { name: r.runName, checkpointDir: r.paths.checkpointDir, gpus: r.nodesNeeded * r.gpusPerNode, priority: r.training.priority, gpusByGroup: gpusByGroup(r) };
}

/** What a problem with a cluster stack's output says, or undefined when it is usable. */
export function clusterFactsProblem(v: unknown): string | undefined {
    if (v === undefined || v === null) return `has no "${CLUSTER_FACTS_OUTPUT}" output: deploy it with this version of miles-cluster first`;
    if (typeof v !== "object") return `output "${CLUSTER_FACTS_OUTPUT}" is not an object`;
    const f = v as Partial<ClusterFacts>;
    if (f.version !== CLUSTER_FACTS_VERSION) return `output "${CLUSTER_FACTS_OUTPUT}" has version ${String(f.version)}, this miles-cluster reads version ${CLUSTER_FACTS_VERSION}: update the cluster stack first`;
    if (typeof f.namespace !== "string" || typeof f.claimName !== "string" || typeof f.serviceAccount !== "string" || typeof f.nodeWatchServiceAccount !== "string" || !Array.isArray(f.gpuNodeGroups) || !Array.isArray(f.runs) || (f.platform !== "eks" && f.platform !== "existing") || typeof f.monitoring !== "boolean") {
        return `output "${CLUSTER_FACTS_OUTPUT}" lacks namespace, claimName, serviceAccount, nodeWatchServiceAccount, gpuNodeGroups, platform, monitoring or runs`;
    }
    const np = f.networkPolicy as unknown;
    if (np !== null) {
        const n = np as Partial<RunNetworkPolicy> | undefined;
        const ok =
            typeof n === "object" &&
            Array.isArray(n.metricsNamespaces) &&
            n.metricsNamespaces.every((x) => typeof x === "string") &&
            (n.operatorNamespace === undefined || typeof n.operatorNamespace === "string");
        if (!ok) return `output "${CLUSTER_FACTS_OUTPUT}" has no valid networkPolicy (null, or metricsNamespaces: string[] and an optional operatorNamespace string)`;
    }
    return undefined;
}

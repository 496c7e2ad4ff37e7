/**
 * The two device plugins GPU pods need: NVIDIA's (advertises `nvidia.com/gpu`) and AWS's EFA
 * plugin (advertises `vpc.amazonaws.com/efa`). Both are DaemonSets that must tolerate the GPU taint
 * and select labels our GPU nodes really carry — otherwise DESIRED is 0 and training pods stay
 * Pending ("Insufficient nvidia.com/gpu") or silently fall back to TCP sockets (no EFA).
 *
 * The values builders are pure and exported: the tests and the plan summary feed the values the
 * program really passes to Helm through the chart models in `lib/scheduling.ts`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { GpuNodeGroupInfo } from "./contracts";
import { CHARTS, type ChartPin } from "../lib/versions";
import { GPU_TAINT, LABEL_AMI_FAMILY, LABEL_EFA_PRESENT, LABEL_GPU_PRESENT } from "../lib/gpuNodes";
import { matchesTerm, nodeLabelsOf, tolerationsFor, type NodeSelectorRequirement, type NodeSelectorTerm, type Toleration } from "../lib/scheduling";

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
    return tolerationsFor(taints.length > 0 ? taints : [GPU_TAINT]);
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

/** How a Helm release of ours waits and rolls back; explained in docs/addons.md. */
export interface ReleasePolicy {
    /** Roll back (first install: uninstall) when the release does not become ready in time. */
    atomic: boolean;
    /** Seconds Helm waits for the DaemonSet/Deployment to be ready. */
    timeout: number;
}

/** Device plugins: roll back on failure (a half-upgraded plugin on GPU nodes is worse than the previous one). */
export const DEVICE_PLUGIN_POLICY: ReleasePolicy = { atomic: true, timeout: 600 };

export interface HelmAddonArgs {
    pin: ChartPin;
    /** Release name (also the prefix of the chart's object names). */
    releaseName: string;
    namespace: string;
    values: Record<string, unknown>;
    policy: ReleasePolicy;
    provider: k8s.Provider;
    dependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
    /** Leave the chart's CRDs alone (they are managed elsewhere). */
    skipCrds?: boolean;
    /** Don't wait for readiness at all (monitoring must never block a deploy). */
    skipAwait?: boolean;
}

/** A pinned third-party chart as a Helm release, with the settings every add-on shares. */
export function helmAddon(name: string, args: HelmAddonArgs, parent: pulumi.Resource): k8s.helm.v3.Release {
    return new k8s.helm.v3.Release(
        name,
        {
            name: args.releaseName,
            chart: args.pin.chart,
            version: args.pin.version,
            repositoryOpts: { repo: args.pin.repo },
            namespace: args.namespace,
            // Namespaces are created as their own resources (ours) or exist already (kube-system).
            createNamespace: false,
            values: args.values,
            atomic: args.skipAwait ? false : args.policy.atomic,
            cleanupOnFail: true,
            timeout: args.policy.timeout,
            skipAwait: args.skipAwait ?? false,
            skipCrds: args.skipCrds ?? false,
            maxHistory: 10,
        },
        { parent, provider: args.provider, dependsOn: args.dependsOn },
    );
}

export interface DevicePluginArgs {
    /** GPU node groups the plugin must cover (from the cluster handle). */
    gpuNodeGroups: GpuNodeGroupInfo[];
    provider: k8s.Provider;
    /** What must exist before the DaemonSet can become ready (node groups, VPC CNI). */
    dependsOn?: pulumi.Resource[];
}

/** NVIDIA's device plugin on every AL2023 GPU node. */
export class NvidiaDevicePlugin extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: DevicePluginArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:addons:NvidiaDevicePlugin", name, {}, opts);
        this.release = helmAddon(
            name,
            {
                pin: CHARTS.nvidiaDevicePlugin,
                releaseName: "nvidia-device-plugin",
                namespace: NODE_AGENT_NAMESPACE,
                values: nvidiaDevicePluginValues(args.gpuNodeGroups),
                policy: DEVICE_PLUGIN_POLICY,
                provider: args.provider,
                dependsOn: args.dependsOn,
            },
            this,
        );
        this.registerOutputs({ release: this.release.name });
    }
}

export interface EfaDevicePluginArgs extends DevicePluginArgs {
    /** @default the chart's image (EKS ECR, us-west-2) */
    imageRepository?: string;
}

/** AWS's EFA device plugin on every GPU node with EFA interfaces. */
export class EfaDevicePlugin extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: EfaDevicePluginArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:addons:EfaDevicePlugin", name, {}, opts);
        this.release = helmAddon(
            name,
            {
                pin: CHARTS.efaDevicePlugin,
                releaseName: "aws-efa-k8s-device-plugin",
                namespace: NODE_AGENT_NAMESPACE,
                values: efaDevicePluginValues(args.gpuNodeGroups, args.imageRepository),
                policy: DEVICE_PLUGIN_POLICY,
                provider: args.provider,
                dependsOn: args.dependsOn,
            },
            this,
        );
        this.registerOutputs({ release: this.release.name });
    }
}

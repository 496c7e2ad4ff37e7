import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { extraAvailabilityZones } from "../domain/cluster";
import { type ExistingClusterConfig } from "../config/cluster";
import type { MilesConfig } from "../config";
import { ClusterAutoscaler } from "./clusterAutoscaler";
import { autoscales, autoscalingAsgTags } from "../domain/lifecycle/autoscaling";
import { gpuNodeGroupsFromConfig } from "../domain/gpuNodes";
import type { ClusterHandle } from "./contracts";
import type { GpuNodeGroupInfo } from "../domain/gpuNodes";
import { ClusterNetwork } from "./clusterNetwork";
import { EksControlPlane } from "./eksControlPlane";
import { EksClusterAddons, EksNodeAddons } from "./eksManagedAddons";
import { resolveMonitoring } from "../domain/monitoring/resolve";
import { SystemNodeGroup } from "./systemNodeGroup";
import { FSX_STARTUP_TAINT } from "../catalog/nodeLabels";
import { GpuNodeGroup } from "./gpuNodeGroup";
import { clusterNameOf } from "../domain/cluster";
import { stackTags } from "../domain/labels";

export interface GpuClusterArgs {
    /**
     * The validated stack config; reads `cluster`, `region`, `stack` and `storage.type` (GPU nodes
     * get the FSx CSI startup taint only when the storage is FSx for Lustre).
     * @example loadConfig()
     */
    config: MilesConfig;
}


/**
 * The Kubernetes cluster of a stack, and the provider every later component uses.
 *
 * - **EKS** (default): VPC and security groups → EKS control plane (KMS-encrypted secrets, access
 *   entries, control plane logs) → node add-ons (VPC CNI, kube-proxy, Pod Identity agent) → a
 *   system node group and one EFA-wired node group per `cluster.gpuNodeGroups` entry → cluster
 *   add-ons (CoreDNS, FSx CSI driver, node monitoring agent) → a `k8s.Provider` whose kubeconfig
 *   runs `aws eks get-token`.
 * - **Bring your own** (`cluster.existing`): no AWS resource at all, only a `k8s.Provider` built
 *   from the configured kubeconfig (a secret) and/or context; the GPU nodes are described by
 *   `cluster.existing.gpuNodes`.
 *
 * @example
 * ```ts
 * const cluster = new GpuCluster("cluster", { config: cfg });
 * new k8s.core.v1.Namespace("ns", {}, { provider: cluster.provider, dependsOn: cluster.aws?.ready });
 * ```
 */
export class GpuCluster extends pulumi.ComponentResource implements ClusterHandle {
    readonly provider: k8s.Provider;
    readonly aws?: ClusterHandle["aws"];
    readonly gpuNodeGroups: GpuNodeGroupInfo[];
    readonly capacityBlockWindows?: ClusterHandle["capacityBlockWindows"];
    /** EKS only: cluster name, API endpoint, kubeconfig (secret), node group names. */
    readonly eks?: {
        clusterName: pulumi.Output<string>;
        endpoint: pulumi.Output<string>;
        kubeconfig: pulumi.Output<string>;
        gpuNodeGroupNames: pulumi.Output<string[]>;
        systemNodeGroupName: pulumi.Output<string>;
    };

    constructor(name: string, args: GpuClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:cluster:GpuCluster", name, {}, opts);
        const cfg = args.config;
        this.gpuNodeGroups = gpuNodeGroupsFromConfig(cfg);
        if (cfg.cluster.existing) {
            this.provider = this.existingClusterProvider(name, cfg.cluster.existing);
        } else {
            const eks = this.createEks(name, cfg);
            this.provider = eks.provider;
            this.aws = eks.aws;
            this.eks = eks.outputs;
            this.capacityBlockWindows = eks.capacityBlockWindows;
        }
        this.registerOutputs({ clusterName: this.eks?.clusterName, endpoint: this.eks?.endpoint });
    }

    private existingClusterProvider(name: string, existing: ExistingClusterConfig): k8s.Provider {
        return new k8s.Provider(
            `${name}-k8s`,
            { kubeconfig: existing.kubeconfig === undefined ? undefined : pulumi.secret(existing.kubeconfig), context: existing.context },
            { parent: this },
        );
    }

    private createEks(name: string, cfg: MilesConfig) {
        const c = cfg.cluster;
        // clusterChecks guarantees both outside bring-your-own mode.
        const region = cfg.region!;
        const gpuAz = c.availabilityZone!;
        const clusterName = clusterNameOf(cfg);
        const tags = stackTags(cfg.stack, { cluster: clusterName });
        const o = { parent: this };

        const network = new ClusterNetwork(
            `${name}-network`,
            {
                network: c.network,
                region,
                gpuAvailabilityZone: gpuAz,
                extraAvailabilityZones: c.network.type === "create" ? extraAvailabilityZones(gpuAz, c.network.availabilityZones) : [],
                clusterName,
                tags,
            },
            o,
        );
        const controlPlane = new EksControlPlane(
            `${name}-eks`,
            {
                clusterName,
                kubernetesVersion: c.kubernetesVersion,
                region,
                subnetIds: network.privateSubnetIds,
                clusterSecurityGroupId: network.clusterSecurityGroupId,
                publicAccessCidrs: c.endpoint.publicAccessCidrs,
                logTypes: c.controlPlaneLogs,
                logRetentionDays: c.controlPlaneLogRetentionDays,
                adminPrincipalArns: c.adminRoleArns,
                tags,
            },
            o,
        );
        const nodeAddons = new EksNodeAddons(`${name}-node-addons`, { clusterName: controlPlane.clusterName, tags }, o);
        const nodeDeps = [...nodeAddons.addons, ...controlPlane.nodeRoleReady];
        const nodeSecurityGroups = [controlPlane.eksSecurityGroupId, network.nodeSecurityGroupId];

        const system = new SystemNodeGroup(
            `${name}-system`,
            { config: c.systemNodeGroup, clusterName: controlPlane.clusterName, nodeRoleArn: controlPlane.nodeRole.arn, subnetIds: network.privateSubnetIds, securityGroupIds: nodeSecurityGroups, tags, dependsOn: nodeDeps },
            o,
        );
        const startupTaints = cfg.storage.type === "fsx-lustre" ? [FSX_STARTUP_TAINT] : [];
        const gpuGroups = c.gpuNodeGroups.map(
            (g) =>
                new GpuNodeGroup(
                    `${name}-gpu-${g.name}`,
                    {
                        group: g,
                        clusterName: controlPlane.clusterName,
                        nodeRoleArn: controlPlane.nodeRole.arn,
                        subnetId: network.gpuSubnetId,
                        securityGroupIds: [...nodeSecurityGroups, network.efaSecurityGroupId],
                        startupTaints,
                        tags,
                        dependsOn: nodeDeps,
                    },
                    o,
                ),
        );
        const autoscaled = c.gpuNodeGroups.flatMap((g, i) => (autoscales(g) ? [{ name: g.name, asgName: gpuGroups[i].asgName, tags: autoscalingAsgTags(g) }] : []));
        const clusterAddons = new EksClusterAddons(
            `${name}-addons`,
            { clusterName: controlPlane.clusterName, tags, dependsOn: [system.nodeGroup], ebsCsi: resolveMonitoring(cfg)?.createsStorageClass ?? false },
            o,
        );

        const provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: controlPlane.kubeconfig }, o);
        if (autoscaled.length > 0) {
            new ClusterAutoscaler(
                `${name}-autoscaler`,
                { clusterName: controlPlane.clusterName, discoveryClusterName: clusterNameOf(cfg), region: cfg.region ?? "", groups: autoscaled, provider, dependsOn: [system.nodeGroup, ...nodeAddons.addons, ...clusterAddons.addons], tags },
                o,
            );
        }
        const capacityBlockWindows = Object.fromEntries(c.gpuNodeGroups.flatMap((g, i) => (gpuGroups[i].blockWindow ? [[g.name, gpuGroups[i].blockWindow!] as const] : [])));
        return {
            provider,
            capacityBlockWindows,
            aws: {
                clusterName: controlPlane.clusterName,
                network,
                ready: [system.nodeGroup, ...gpuGroups.map((g) => g.nodeGroup), ...nodeAddons.addons, ...clusterAddons.addons] as pulumi.Resource[],
            },
            outputs: {
                clusterName: controlPlane.clusterName,
                endpoint: controlPlane.endpoint,
                kubeconfig: controlPlane.kubeconfig,
                gpuNodeGroupNames: pulumi.all(gpuGroups.map((g) => g.nodeGroupName)),
                systemNodeGroupName: system.nodeGroupName,
            },
        };
    }
}

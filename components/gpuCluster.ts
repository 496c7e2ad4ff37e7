import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { type ExistingClusterConfig } from "../config/cluster";
import type { ClusterConfig } from "../config";
import { gpuNodeGroupsFromConfig } from "../domain/gpuNodes";
import type { ClusterHandle } from "./contracts";
import type { GpuNodeGroupInfo } from "../domain/gpuNodes";
import { ClusterNetwork, type ClusterNetworkArgs } from "./clusterNetwork";
import { ClusterAutoscaler, type ClusterAutoscalerArgs } from "./clusterAutoscaler";
import { SpotInterruptionQueue, type SpotInterruptionQueueArgs } from "./spotInterruptionQueue";
import { NodeTerminationHandler, type NodeTerminationHandlerArgs } from "./nodeTerminationHandler";
import { spotGroupsOf } from "../domain/lifecycle/spot";
import { capacityPlanOf } from "../domain/capacity";
import { EksControlPlane, type EksControlPlaneArgs } from "./eksControlPlane";
import { EksClusterAddons, EksNodeAddons, type EksClusterAddonsArgs, type EksNodeAddonsArgs } from "./eksManagedAddons";
import { SystemNodeGroup, type SystemNodeGroupArgs } from "./systemNodeGroup";
import { transform, type Transform } from "./transform";
import { FSX_STARTUP_TAINT } from "../catalog/nodeLabels";
import { HEALTH_PENDING_TAINT } from "../domain/health/nodeHealth";
import { GpuNodeGroup, type GpuNodeGroupArgs } from "./gpuNodeGroup";
import { clusterNameOf } from "../domain/cluster";
import { configuredRegion, currentStack } from "./defaults";
import { stackTags } from "../domain/labels";

export interface GpuClusterArgs {
    /**
     * The cluster section (`miles-cluster:cluster`, validated, defaults applied): EKS version,
     * network, endpoint, system and GPU node groups, or `existing` for a bring-your-own cluster.
     * @example ClusterSchema.parse({ availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 2 }] })
     */
    cluster: ClusterConfig;
    /**
     * AWS region of the EKS cluster (unused for a bring-your-own cluster).
     * @default the stack's `aws:region` config
     * @example "us-east-1"
     */
    region?: string;
    /**
     * Stack name: tags every AWS resource and names the cluster `miles-<stack>` when `cluster.name` is unset.
     * @default pulumi.getStack()
     * @example "prod"
     */
    stack?: string;
    /**
     * Give GPU nodes the FSx CSI startup taint ({@link FSX_STARTUP_TAINT}), so no pod lands on a node
     * before its Lustre client can mount the file system. Turn it off when the shared storage is not
     * FSx for Lustre (a miles-cluster stack sets it to `storage.type === "fsx-lustre"`).
     * @default true
     * @example false
     */
    fsxStartupTaint?: boolean;
    /**
     * Give GPU nodes the health-pending startup taint ({@link HEALTH_PENDING_TAINT}): no run pod lands
     * on a node before the node check (ClusterAddons' NodeHealthCheck DaemonSet) ran `dcgmi diag` and
     * the EFA count on it and lifted the taint. Turn off only when that DaemonSet is not deployed:
     * nothing else removes the taint.
     * @default true
     * @example false
     */
    healthStartupTaint?: boolean;
    /**
     * Install the EBS CSI driver EKS add-on (with its Pod Identity role): the dynamic provisioner the
     * monitoring stack's volumes need (ClusterAddons creates their gp3 StorageClass on a cluster of
     * ours); EKS ships none. A miles-cluster stack sets it when its monitoring creates that class.
     * @default false
     * @example true
     */
    ebsCsiDriver?: boolean;
    /**
     * Changes to the args of the underlying resources, per child component (`gpuNodeGroup`: every
     * GPU node group; a function transform gets the resource name, e.g. `cluster-gpu-h100-ng`, to
     * tell them apart). `provider`: the Kubernetes provider of either mode.
     * @default none
     * @example { gpuNodeGroup: { nodeGroup: { labels: { team: "rl" } } }, controlPlane: { logGroup: { retentionInDays: 90 } } }
     */
    transform?: {
        network?: ClusterNetworkArgs["transform"];
        controlPlane?: EksControlPlaneArgs["transform"];
        nodeAddons?: EksNodeAddonsArgs["transform"];
        systemNodeGroup?: SystemNodeGroupArgs["transform"];
        gpuNodeGroup?: GpuNodeGroupArgs["transform"];
        clusterAddons?: EksClusterAddonsArgs["transform"];
        clusterAutoscaler?: ClusterAutoscalerArgs["transform"];
        spotInterruptionQueue?: SpotInterruptionQueueArgs["transform"];
        nodeTerminationHandler?: NodeTerminationHandlerArgs["transform"];
        provider?: Transform<k8s.ProviderArgs>;
    };
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
 * const cluster = new GpuCluster("cluster", { cluster: ClusterSchema.parse({ availabilityZone: "us-east-1a" }), region: "us-east-1" });
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
        const c = args.cluster;
        this.gpuNodeGroups = gpuNodeGroupsFromConfig({ cluster: c });
        if (c.existing) {
            this.provider = this.existingClusterProvider(name, c.existing, args.transform?.provider);
        } else {
            const region = args.region ?? configuredRegion();
            if (!region) throw new Error("GpuCluster: `region` (or the stack's aws:region config) is required to create an EKS cluster");
            if (!c.availabilityZone) throw new Error("GpuCluster: `cluster.availabilityZone` is required to create an EKS cluster");
            const eks = this.createEks(name, {
                cluster: c,
                region,
                availabilityZone: c.availabilityZone,
                stack: args.stack ?? currentStack(),
                fsxStartupTaint: args.fsxStartupTaint ?? true,
                healthStartupTaint: args.healthStartupTaint ?? true,
                ebsCsiDriver: args.ebsCsiDriver ?? false,
                transform: args.transform ?? {},
            });
            this.provider = eks.provider;
            this.aws = eks.aws;
            this.eks = eks.outputs;
            this.capacityBlockWindows = eks.capacityBlockWindows;
        }
        this.registerOutputs({ clusterName: this.eks?.clusterName, endpoint: this.eks?.endpoint });
    }

    private existingClusterProvider(name: string, existing: ExistingClusterConfig, t: Transform<k8s.ProviderArgs> | undefined): k8s.Provider {
        return new k8s.Provider(
            ...transform(t, `${name}-k8s`, { kubeconfig: existing.kubeconfig === undefined ? undefined : pulumi.secret(existing.kubeconfig), context: existing.context }, { parent: this }),
        );
    }

    private createEks(
        name: string,
        a: { cluster: ClusterConfig; region: string; availabilityZone: string; stack: string; fsxStartupTaint: boolean; healthStartupTaint: boolean; ebsCsiDriver: boolean; transform: NonNullable<GpuClusterArgs["transform"]> },
    ) {
        const t = a.transform;
        const { cluster: c, region } = a;
        const gpuAz = a.availabilityZone;
        const clusterName = clusterNameOf({ cluster: c, stack: a.stack });
        const tags = stackTags(a.stack, { cluster: clusterName });
        const o = { parent: this };

        const network = new ClusterNetwork(
            `${name}-network`,
            {
                network: c.network,
                region,
                gpuAvailabilityZone: gpuAz,
                clusterName,
                tags,
                transform: t.network,
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
                transform: t.controlPlane,
            },
            o,
        );
        const nodeAddons = new EksNodeAddons(`${name}-node-addons`, { clusterName: controlPlane.clusterName, tags, transform: t.nodeAddons }, o);
        const nodeDeps = [...nodeAddons.addons, ...controlPlane.nodeRoleReady];
        const nodeSecurityGroups = [controlPlane.eksSecurityGroupId, network.nodeSecurityGroupId];

        const system = new SystemNodeGroup(
            `${name}-system`,
            { config: c.systemNodeGroup, clusterName: controlPlane.clusterName, nodeRoleArn: controlPlane.nodeRole.arn, subnetIds: network.privateSubnetIds, securityGroupIds: nodeSecurityGroups, tags, dependsOn: nodeDeps, transform: t.systemNodeGroup },
            o,
        );
        // The health-pending taint is lifted by the node check (ClusterAddons' NodeHealthCheck) once the node passed it.
        const startupTaints = [...(a.fsxStartupTaint ? [FSX_STARTUP_TAINT] : []), ...(a.healthStartupTaint ? [HEALTH_PENDING_TAINT] : [])];
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
                        transform: t.gpuNodeGroup,
                    },
                    o,
                ),
        );
        const autoscaled = c.gpuNodeGroups.map(capacityPlanOf).flatMap((cap, i) => (cap.sizeOwner === "cluster-autoscaler" ? [{ name: cap.group, asgName: gpuGroups[i].asgName, tags: cap.asgTags }] : []));
        const clusterAddons = new EksClusterAddons(
            `${name}-addons`,
            { clusterName: controlPlane.clusterName, tags, dependsOn: [system.nodeGroup], ebsCsi: a.ebsCsiDriver, transform: t.clusterAddons },
            o,
        );

        const provider = new k8s.Provider(...transform(t.provider, `${name}-k8s`, { kubeconfig: controlPlane.kubeconfig }, { ...o }));
        if (autoscaled.length > 0) {
            new ClusterAutoscaler(
                `${name}-autoscaler`,
                {
                    clusterName: controlPlane.clusterName,
                    discoveryClusterName: clusterName,
                    region,
                    groups: autoscaled,
                    startupTaints: startupTaints.map((x) => x.key),
                    provider,
                    dependsOn: [system.nodeGroup, ...nodeAddons.addons, ...clusterAddons.addons],
                    tags,
                    transform: t.clusterAutoscaler,
                },
                o,
            );
        }
        if (spotGroupsOf(c.gpuNodeGroups).length > 0) {
            // Spot GPU groups: the interruption notice reaches the cluster through EventBridge → SQS →
            // the handler (pods cannot read IMDS: hop limit 1); domain/lifecycle/spot.ts.
            const queue = new SpotInterruptionQueue(`${name}-spot`, { namePrefix: clusterName, tags, transform: t.spotInterruptionQueue }, o);
            new NodeTerminationHandler(
                `${name}-nth`,
                {
                    clusterName: controlPlane.clusterName,
                    queue: { url: queue.queueUrl, arn: queue.queueArn },
                    region,
                    provider,
                    dependsOn: [system.nodeGroup, ...nodeAddons.addons, ...clusterAddons.addons, ...queue.ready],
                    tags,
                    transform: t.nodeTerminationHandler,
                },
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

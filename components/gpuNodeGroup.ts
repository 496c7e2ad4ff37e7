import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { placementGroupOf, isReservedCapacity, type CapacityConfig, type GpuNodeGroupConfig } from "../config/cluster";
import { efaNetworkInterfaces } from "../lib/efa";
import { gpuNodeLabels, gpuNodeTaints, type AmiFamily, type Taint } from "../lib/gpuNodes";
import { gpuUserDataBase64 } from "./userData";

/** `aws.eks.NodeGroup.amiType` of each AMI family (EKS-optimized NVIDIA x86_64 AMIs). */
export const AMI_TYPE: Record<AmiFamily, string> = {
    al2023: "AL2023_x86_64_NVIDIA",
    bottlerocket: "BOTTLEROCKET_x86_64_NVIDIA",
};

/** `aws.eks.NodeGroup.capacityType` of a capacity config. */
export function capacityTypeOf(c: CapacityConfig): "ON_DEMAND" | "SPOT" | "CAPACITY_BLOCK" {
    if (c.type === "spot") return "SPOT";
    if (c.type === "capacity-block") return "CAPACITY_BLOCK";
    return "ON_DEMAND";
}

/** EKS API spelling of a Kubernetes taint effect. */
export function eksTaintEffect(effect: Taint["effect"]): "NO_SCHEDULE" | "NO_EXECUTE" | "PREFER_NO_SCHEDULE" {
    return effect === "NoSchedule" ? "NO_SCHEDULE" : effect === "NoExecute" ? "NO_EXECUTE" : "PREFER_NO_SCHEDULE";
}

/**
 * min = desired = max = nodes: the group is sized by config, not autoscaled. EKS requires
 * maxSize >= 1 even for an empty group (e.g. a Capacity Block group created before the block starts).
 */
export function scalingOf(nodes: number): { minSize: number; desiredSize: number; maxSize: number } {
    return { minSize: nodes, desiredSize: nodes, maxSize: Math.max(nodes, 1) };
}

/**
 * Startup taint the FSx for Lustre CSI node plugin removes once it can mount on the node
 * (../shared/reference/gpu-cluster-anchors.md §2.5). Without it a training pod can land on a fresh
 * node before the plugin's socket exists and fail its mount (aws-fsx-csi-driver #366). It is a
 * startup taint, not part of `GpuNodeGroupInfo.taints`: nothing should tolerate it. Set only when
 * the stack's storage is FSx for Lustre (otherwise nobody would remove it).
 */
export const FSX_STARTUP_TAINT: Taint = { key: "fsx.csi.aws.com/agent-not-ready", value: "", effect: "NoExecute" };

/**
 * Instance metadata: IMDSv2 only (session tokens required). Hop limit 2, not 1: the GPU nodes run
 * only our own workloads, and in-pod clients on the pod network (the FSx CSI and DCGM components,
 * AWS SDKs resolving the region) need one more hop to reach the metadata service; the pods' AWS
 * credentials come from EKS Pod Identity, not from the node role. This matches what EKS sets in the
 * launch templates it generates for managed node groups (⚠ from memory, not re-verified here).
 */
export const GPU_METADATA_OPTIONS = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2 } as const;

export interface GpuNodeGroupArgs {
    /** The group as configured (`cluster.gpuNodeGroups[i]`). */
    group: GpuNodeGroupConfig;
    clusterName: pulumi.Input<string>;
    /** Role of the nodes (AmazonEKSWorkerNodePolicy + ECR read-only). */
    nodeRoleArn: pulumi.Input<string>;
    /** The private subnet in the GPU availability zone: the group's only subnet. */
    subnetId: pulumi.Input<string>;
    /**
     * Security groups put on every network interface: the EKS cluster security group, the node group
     * and the EFA group (EKS adds none itself when the launch template names groups).
     */
    securityGroupIds: pulumi.Input<string>[];
    /**
     * Extra taints present only while a node starts (see {@link FSX_STARTUP_TAINT}).
     * @default []
     */
    startupTaints?: Taint[];
    tags: Record<string, string>;
    /** Resources the node group waits for (VPC CNI, kube-proxy, Pod Identity agent add-ons). */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * One GPU node group: an EC2 launch template attaching every network card of the instance type
 * with EFA, plus a raw `aws.eks.NodeGroup` (pulumi-eks's ManagedNodeGroup cannot combine EFA with a
 * custom launch template, nor turn on node repair).
 *
 * Capacity:
 * - on-demand: `ON_DEMAND`, instance type on the node group, a cluster placement group.
 * - spot: `SPOT`, same otherwise.
 * - capacity-reservation (ODCR): `ON_DEMAND` + the reservation as launch-template target; no
 *   placement group unless one is named (the one the reservation lives in).
 * - capacity-block: `CAPACITY_BLOCK`, launch template `instanceMarketOptions.marketType =
 *   "capacity-block"` + reservation target + **the instance type in the launch template**, no
 *   `instanceTypes` on the node group, never a placement group (a block is already co-located).
 *   Reserved groups update with the `MINIMAL` strategy (terminate, then launch): there is no spare
 *   reserved instance to surge into.
 */
export class GpuNodeGroup extends pulumi.ComponentResource {
    readonly nodeGroup: aws.eks.NodeGroup;
    readonly launchTemplate: aws.ec2.LaunchTemplate;
    readonly placementGroup?: aws.ec2.PlacementGroup;
    /** The EKS node group name (= the configured group name). */
    readonly nodeGroupName: pulumi.Output<string>;

    constructor(name: string, args: GpuNodeGroupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:aws:GpuNodeGroup", name, {}, opts);
        const g = args.group;
        const pg = placementGroupOf(g);
        this.placementGroup = pg.kind === "create" ? new aws.ec2.PlacementGroup(`${name}-pg`, { strategy: "cluster", tags: args.tags }, { parent: this }) : undefined;
        const placementGroupName = pg.kind === "existing" ? pg.name : this.placementGroup?.name;
        this.launchTemplate = this.createLaunchTemplate(name, args, placementGroupName);
        this.nodeGroup = this.createNodeGroup(name, args);
        this.nodeGroupName = this.nodeGroup.nodeGroupName;
        this.registerOutputs({ nodeGroupName: this.nodeGroupName, launchTemplateId: this.launchTemplate.id });
    }

    private createLaunchTemplate(name: string, args: GpuNodeGroupArgs, placementGroupName: pulumi.Input<string> | undefined): aws.ec2.LaunchTemplate {
        const g = args.group;
        const capacity = g.capacity;
        const isBlock = capacity.type === "capacity-block";
        return new aws.ec2.LaunchTemplate(
            `${name}-lt`,
            {
                description: `GPU node group ${g.name}: ${g.instanceType}, ${capacity.type}, EFA on every network card`,
                // A Capacity Block needs the instance type in the template (the node group has none).
                instanceType: isBlock ? g.instanceType : undefined,
                networkInterfaces: efaNetworkInterfaces(g.instanceType, args.securityGroupIds),
                metadataOptions: { ...GPU_METADATA_OPTIONS },
                blockDeviceMappings: gpuBlockDevices(g.amiFamily, g.rootVolumeGiB),
                userData: gpuUserDataBase64(g.amiFamily),
                placement: placementGroupName ? { groupName: placementGroupName } : undefined,
                instanceMarketOptions: isBlock ? { marketType: "capacity-block" } : undefined,
                capacityReservationSpecification: isReservedCapacity(capacity) ? { capacityReservationTarget: { capacityReservationId: capacity.reservationId } } : undefined,
                tagSpecifications: ["instance", "volume", "network-interface"].map((resourceType) => ({ resourceType, tags: { ...args.tags, Name: `${g.name}` } })),
                updateDefaultVersion: true,
                tags: args.tags,
            },
            { parent: this },
        );
    }

    private createNodeGroup(name: string, args: GpuNodeGroupArgs): aws.eks.NodeGroup {
        const g = args.group;
        const identity = { name: g.name, amiFamily: g.amiFamily, efa: true };
        const taints = [...gpuNodeTaints(identity), ...(args.startupTaints ?? [])];
        const reserved = isReservedCapacity(g.capacity);
        return new aws.eks.NodeGroup(
            `${name}-ng`,
            {
                clusterName: args.clusterName,
                nodeGroupName: g.name,
                nodeRoleArn: args.nodeRoleArn,
                subnetIds: [args.subnetId],
                amiType: AMI_TYPE[g.amiFamily],
                capacityType: capacityTypeOf(g.capacity),
                instanceTypes: g.capacity.type === "capacity-block" ? undefined : [g.instanceType],
                launchTemplate: { id: this.launchTemplate.id, version: this.launchTemplate.latestVersion.apply((v) => String(v)) },
                scalingConfig: scalingOf(g.nodes),
                labels: gpuNodeLabels(identity),
                taints: taints.map((t) => ({ key: t.key, value: t.value === "" ? undefined : t.value, effect: eksTaintEffect(t.effect) })),
                nodeRepairConfig: { enabled: true },
                updateConfig: reserved ? { maxUnavailable: 1, updateStrategy: "MINIMAL" } : { maxUnavailable: 1 },
                tags: args.tags,
            },
            // A fixed node group name cannot exist twice, and reserved capacity must be freed before
            // a replacement can use it: replace by deleting first.
            { parent: this, dependsOn: args.dependsOn, deleteBeforeReplace: true },
        );
    }
}

/**
 * Encrypted gp3 volumes. AL2023: the root volume. Bottlerocket: the OS volume (encrypted, AMI size)
 * and the data volume holding images and kubelet state.
 */
export function gpuBlockDevices(amiFamily: AmiFamily, sizeGiB: number) {
    const ebs = (volumeSize?: number) => ({ volumeSize, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" });
    return amiFamily === "al2023"
        ? [{ deviceName: "/dev/xvda", ebs: ebs(sizeGiB) }]
        : [
              { deviceName: "/dev/xvda", ebs: ebs(undefined) },
              { deviceName: "/dev/xvdb", ebs: ebs(sizeGiB) },
          ];
}

import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { isReservedCapacity, eksTaintEffect } from "../domain/cluster";
import { capacityPlanOf } from "../domain/capacity";
import { type GpuNodeGroupConfig } from "../config/cluster";
import { efaNetworkInterfaces } from "../catalog/efaLayout";
import { gpuNodeLabels, gpuNodeTaints, type AmiFamily, type Taint } from "../catalog/nodeLabels";
import { gpuUserDataBase64 } from "./userData";
import { blockStartTime, type BlockWindow } from "../domain/lifecycle/capacityBlock";
import { transform, type Transform } from "./transform";

/** `aws.eks.NodeGroup.amiType` of each AMI family (EKS-optimized NVIDIA x86_64 AMIs). */
export const AMI_TYPE: Record<AmiFamily, string> = {
    al2023: "AL2023_x86_64_NVIDIA",
    bottlerocket: "BOTTLEROCKET_x86_64_NVIDIA",
};





/**
 * Instance metadata: IMDSv2 only (session tokens required) and hop limit 1, so no pod on the pod
 * network reaches the node role's credentials (EKS Best Practices, "Restrict access to the instance
 * profile assigned to the worker node"; the EKS default for AL2023 managed node groups is also 1,
 * awsdocs/amazon-eks-user-guide latest/ug/nodes/al2023.adoc). Pods get AWS credentials from EKS Pod
 * Identity. What runs on these nodes without IMDS from pods: vpc-cni (aws-node), kube-proxy, the
 * Pod Identity agent and the CSI node plugins are hostNetwork (one hop is enough); the FSx and EFS
 * CSI controllers fall back to the Kubernetes API when IMDS is unreachable
 * (kubernetes-sigs/aws-fsx-csi-driver pkg/cloud/metadata.go since v0.10.0,
 * kubernetes-sigs/aws-efs-csi-driver pkg/cloud/metadata.go since v1.4.0); the NVIDIA and EFA device
 * plugins, DCGM exporter, KubeRay and CoreDNS make no AWS call. ⚠ Verified only on a real cluster.
 */
export const GPU_METADATA_OPTIONS = { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 } as const;

export interface GpuNodeGroupArgs {
    /**
     * The group as configured (`cluster.gpuNodeGroups[i]`, defaults applied).
     * @example GpuNodeGroupSchema.parse({ name: "h100", instanceType: "p5.48xlarge", nodes: 2 })
     */
    group: GpuNodeGroupConfig;
    /**
     * The EKS cluster the nodes join.
     * @example controlPlane.clusterName
     */
    clusterName: pulumi.Input<string>;
    /**
     * Role of the nodes (AmazonEKSWorkerNodePolicy + ECR read-only).
     * @example controlPlane.nodeRole.arn
     */
    nodeRoleArn: pulumi.Input<string>;
    /**
     * The private subnet in the GPU availability zone: the group's only subnet.
     * @example network.gpuSubnetId
     */
    subnetId: pulumi.Input<string>;
    /**
     * Security groups put on every network interface: the EKS cluster security group, the node group
     * and the EFA group (EKS adds none itself when the launch template names groups).
     * @example [controlPlane.eksSecurityGroupId, network.nodeSecurityGroupId, network.efaSecurityGroupId]
     */
    securityGroupIds: pulumi.Input<string>[];
    /**
     * Extra taints present only while a node starts (see {@link FSX_STARTUP_TAINT}).
     * @default []
     * @example [FSX_STARTUP_TAINT]
     */
    startupTaints?: Taint[];
    /**
     * Tags of the launch template, the node group, the placement group and the instances, volumes and
     * network interfaces the template launches.
     * @default {}
     * @example { "miles-cluster/stack": "prod" }
     */
    tags?: Record<string, string>;
    /**
     * Resources the node group waits for (VPC CNI, kube-proxy, Pod Identity agent add-ons).
     * @default []
     * @example nodeAddons.addons
     */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Changes to the args of the underlying resources, for what these args do not cover.
     * @default none
     * @example { nodeGroup: { labels: { team: "rl" } }, launchTemplate: (a) => { a.description = "ours"; } }
     */
    transform?: {
        placementGroup?: Transform<aws.ec2.PlacementGroupArgs>;
        launchTemplate?: Transform<aws.ec2.LaunchTemplateArgs>;
        nodeGroup?: Transform<aws.eks.NodeGroupArgs>;
        /** The Capacity Block's scheduled scale-up action (capacity-block groups only). */
        blockStart?: Transform<aws.autoscaling.ScheduleArgs>;
    };
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
    /** The node group's Auto Scaling group (EKS creates and names it). */
    readonly asgName: pulumi.Output<string>;
    /** Capacity Block only: the block's window (from the reservation; the config's under `plan`). */
    readonly blockWindow?: pulumi.Output<BlockWindow | undefined>;
    /** Capacity Block only: the ASG scheduled action that scales the group up when the block starts. */
    readonly blockStart?: aws.autoscaling.Schedule;

    constructor(name: string, args: GpuNodeGroupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:aws:GpuNodeGroup", name, {}, opts);
        args = { ...args, tags: args.tags ?? {} };
        const g = args.group;
        const pg = capacityPlanOf(g).placement;
        this.placementGroup =
            pg.kind === "create" ? new aws.ec2.PlacementGroup(...transform(args.transform?.placementGroup, `${name}-pg`, { strategy: "cluster", tags: args.tags }, { parent: this })) : undefined;
        const placementGroupName = pg.kind === "existing" ? pg.name : this.placementGroup?.name;
        this.launchTemplate = this.createLaunchTemplate(name, args, placementGroupName);
        this.nodeGroup = this.createNodeGroup(name, args);
        this.nodeGroupName = this.nodeGroup.nodeGroupName;
        this.asgName = this.nodeGroup.resources.apply((r) => r?.[0]?.autoscalingGroups?.[0]?.name ?? "(known after deploy)");
        if (g.capacity.type === "capacity-block") {
            this.blockWindow = this.readBlockWindow(g.capacity.reservationId, g.capacity.window);
            this.blockStart = this.scheduleBlockStart(name, args, this.blockWindow);
        }
        this.registerOutputs({ nodeGroupName: this.nodeGroupName, launchTemplateId: this.launchTemplate.id });
    }

    private createLaunchTemplate(name: string, args: GpuNodeGroupArgs, placementGroupName: pulumi.Input<string> | undefined): aws.ec2.LaunchTemplate {
        const g = args.group;
        const capacity = g.capacity;
        const isBlock = capacity.type === "capacity-block";
        return new aws.ec2.LaunchTemplate(
            ...transform(args.transform?.launchTemplate, `${name}-lt`, {
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
            { parent: this }),
        );
    }

    /**
     * The block's start and end, read from the reservation (aws.ec2.getCapacityBlockReservation:
     * `startDate`, `endDate`, RFC 3339). Under `plan` (no AWS) the lookup answers nothing and the
     * config's `capacity.window` stands in; at deploy a config window that differs is reported.
     */
    private readBlockWindow(reservationId: string, configured: BlockWindow | undefined): pulumi.Output<BlockWindow | undefined> {
        const r = aws.ec2.getCapacityBlockReservationOutput({ id: reservationId }, { parent: this });
        return r.apply((res) => {
            if (!res?.startDate || !res?.endDate) return configured;
            const fromAws = { start: res.startDate, end: res.endDate };
            if (configured && (Date.parse(configured.start) !== Date.parse(fromAws.start) || Date.parse(configured.end) !== Date.parse(fromAws.end))) {
                pulumi.log.warn(`Capacity Block ${reservationId} runs ${fromAws.start} .. ${fromAws.end}, not ${configured.start} .. ${configured.end} as capacity.window says: using the reservation's dates; fix the config so plan shows the real schedule`, this);
            }
            if (res.state === "expired" || res.state === "cancelled" || res.state === "failed") {
                pulumi.log.warn(`Capacity Block ${reservationId} is ${res.state}: its group stays at 0 nodes; point the group at the next block's reservation id or remove it`, this);
            }
            return fromAws;
        });
    }

    /**
     * Scale the group up when the block starts: "create a scheduled scaling policy for the ASG that
     * aligns to the Capacity Block reservation start time" (EKS capacity-blocks-mng). The group
     * exists at 0 nodes before that (creating it at N fails its launches until the start). A start
     * time in the past is rejected ("Given start time is in the past"), so a block that already
     * runs is scaled up two minutes after the deployment instead; the time is set once
     * (ignoreChanges), and the resource is per reservation, so the next block gets its own action.
     */
    private scheduleBlockStart(name: string, args: GpuNodeGroupArgs, window: pulumi.Output<BlockWindow | undefined>): aws.autoscaling.Schedule {
        const g = args.group;
        const reservationId = (g.capacity as { reservationId: string }).reservationId;
        const asgName = this.asgName;
        return new aws.autoscaling.Schedule(
            ...transform(
                args.transform?.blockStart,
                `${name}-block-start-${reservationId}`,
                {
                    autoscalingGroupName: asgName,
                    scheduledActionName: `miles-cluster block start ${reservationId}`,
                    startTime: window.apply((w) => blockStartTime(w, new Date())),
                    minSize: 0,
                    maxSize: Math.max(g.nodes, 1),
                    desiredCapacity: g.nodes,
                },
                { parent: this, ignoreChanges: ["startTime"] },
            ),
        );
    }

    private createNodeGroup(name: string, args: GpuNodeGroupArgs): aws.eks.NodeGroup {
        const g = args.group;
        const identity = { name: g.name, amiFamily: g.amiFamily, efa: true };
        const taints = [...gpuNodeTaints(identity), ...(args.startupTaints ?? [])];
        const cap = capacityPlanOf(g);
        return new aws.eks.NodeGroup(
            ...transform(args.transform?.nodeGroup, `${name}-ng`, {
                clusterName: args.clusterName,
                nodeGroupName: g.name,
                nodeRoleArn: args.nodeRoleArn,
                subnetIds: [args.subnetId],
                amiType: AMI_TYPE[g.amiFamily],
                capacityType: cap.capacityType,
                instanceTypes: cap.instanceTypes,
                launchTemplate: { id: this.launchTemplate.id, version: this.launchTemplate.latestVersion.apply((v) => String(v)) },
                scalingConfig: cap.scaling,
                labels: gpuNodeLabels(identity),
                taints: taints.map((t) => ({ key: t.key, value: t.value === "" ? undefined : t.value, effect: eksTaintEffect(t.effect) })),
                nodeRepairConfig: { enabled: true },
                // One node at a time, and never forced: EKS drains each node respecting the run's
                // PodDisruptionBudget (maxUnavailable 0) and fails the update with PodEvictionFailure
                // after 15 minutes instead of deleting the run's pods (EKS managed-node-update-behavior).
                updateConfig: cap.reserved ? { maxUnavailable: 1, updateStrategy: "MINIMAL" } : { maxUnavailable: 1 },
                forceUpdateVersion: false,
                tags: args.tags,
            },
            // A fixed node group name cannot exist twice, and reserved capacity must be freed before
            // a replacement can use it: replace by deleting first.
            // The desired size of a Capacity Block group belongs to the block's scheduled actions (ours
            // at the start, EKS's at T-40 min), that of an autoscaled group to the Cluster Autoscaler:
            // a later `pulumi up` must not reset it.
            { parent: this, dependsOn: args.dependsOn, deleteBeforeReplace: true, ignoreChanges: cap.sizeOwner !== "pulumi" ? ["scalingConfig.desiredSize"] : undefined }),
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

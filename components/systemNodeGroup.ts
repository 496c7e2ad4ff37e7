import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { SYSTEM_NODE_GROUP_NAME, type SystemNodeGroupConfig } from "../config/cluster";
import { LABEL_NODE_GROUP } from "../catalog/nodeLabels";
import { GPU_METADATA_OPTIONS } from "./gpuNodeGroup";
import { scalingOf } from "../domain/cluster";

/**
 * Instance metadata of system nodes: IMDSv2 only, hop limit 1, as on GPU nodes (see
 * GPU_METADATA_OPTIONS, which also lists why each add-on works without IMDS from its pods).
 */
export const SYSTEM_METADATA_OPTIONS = { ...GPU_METADATA_OPTIONS } as const;

export interface SystemNodeGroupArgs {
    config: SystemNodeGroupConfig;
    clusterName: pulumi.Input<string>;
    nodeRoleArn: pulumi.Input<string>;
    /** All private subnets of the cluster (spread over zones). */
    subnetIds: pulumi.Input<string[]>;
    /** EKS cluster security group + node security group. */
    securityGroupIds: pulumi.Input<string>[];
    tags: Record<string, string>;
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * A small, untainted, on-demand AL2023 node group for CoreDNS, the KubeRay operator, add-on
 * controllers and download jobs, so none of them take room on (or need to tolerate) GPU nodes.
 */
export class SystemNodeGroup extends pulumi.ComponentResource {
    readonly nodeGroup: aws.eks.NodeGroup;
    readonly nodeGroupName: pulumi.Output<string>;

    constructor(name: string, args: SystemNodeGroupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:aws:SystemNodeGroup", name, {}, opts);
        const lt = new aws.ec2.LaunchTemplate(
            `${name}-lt`,
            {
                description: "System node group: operators and cluster services",
                vpcSecurityGroupIds: args.securityGroupIds,
                metadataOptions: { ...SYSTEM_METADATA_OPTIONS },
                blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: args.config.rootVolumeGiB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
                tagSpecifications: ["instance", "volume"].map((resourceType) => ({ resourceType, tags: { ...args.tags, Name: SYSTEM_NODE_GROUP_NAME } })),
                updateDefaultVersion: true,
                tags: args.tags,
            },
            { parent: this },
        );
        this.nodeGroup = new aws.eks.NodeGroup(
            `${name}-ng`,
            {
                clusterName: args.clusterName,
                nodeGroupName: SYSTEM_NODE_GROUP_NAME,
                nodeRoleArn: args.nodeRoleArn,
                subnetIds: args.subnetIds,
                amiType: "AL2023_x86_64_STANDARD",
                capacityType: "ON_DEMAND",
                instanceTypes: [args.config.instanceType],
                launchTemplate: { id: lt.id, version: lt.latestVersion.apply((v) => String(v)) },
                scalingConfig: scalingOf(args.config.nodes),
                labels: { [LABEL_NODE_GROUP]: SYSTEM_NODE_GROUP_NAME },
                nodeRepairConfig: { enabled: true },
                updateConfig: { maxUnavailable: 1 },
                tags: args.tags,
            },
            { parent: this, dependsOn: args.dependsOn, deleteBeforeReplace: true },
        );
        this.nodeGroupName = this.nodeGroup.nodeGroupName;
        this.registerOutputs({ nodeGroupName: this.nodeGroupName });
    }
}

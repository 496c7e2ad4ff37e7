import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { SYSTEM_NODE_GROUP_NAME, type SystemNodeGroupConfig } from "../config/cluster";
import { LABEL_NODE_GROUP } from "../catalog/nodeLabels";
import { GPU_METADATA_OPTIONS } from "./gpuNodeGroup";
import { scalingOf } from "../domain/cluster";
import { transform, type Transform } from "./transform";
import { sectionDefaults } from "./defaults";

/**
 * Instance metadata of system nodes: IMDSv2 only, hop limit 1, as on GPU nodes (see
 * GPU_METADATA_OPTIONS, which also lists why each add-on works without IMDS from its pods).
 */
export const SYSTEM_METADATA_OPTIONS = { ...GPU_METADATA_OPTIONS } as const;

export interface SystemNodeGroupArgs {
    /**
     * Instance type, node count and root volume (`cluster.systemNodeGroup`).
     * @default the stack default: 2 × m7i.xlarge with 100 GiB root volumes
     * @example { instanceType: "m7i.2xlarge", nodes: 3, rootVolumeGiB: 100 }
     */
    config?: SystemNodeGroupConfig;
    /**
     * The EKS cluster the nodes join.
     * @example controlPlane.clusterName
     */
    clusterName: pulumi.Input<string>;
    /**
     * Role of the nodes.
     * @example controlPlane.nodeRole.arn
     */
    nodeRoleArn: pulumi.Input<string>;
    /**
     * All private subnets of the cluster (spread over zones).
     * @example network.privateSubnetIds
     */
    subnetIds: pulumi.Input<string[]>;
    /**
     * EKS cluster security group + node security group.
     * @example [controlPlane.eksSecurityGroupId, network.nodeSecurityGroupId]
     */
    securityGroupIds: pulumi.Input<string>[];
    /**
     * Tags of the launch template, the node group and the instances and volumes it launches.
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
     * Changes to the args of the underlying resources.
     * @default none
     * @example { nodeGroup: { capacityType: "SPOT" } }
     */
    transform?: {
        launchTemplate?: Transform<aws.ec2.LaunchTemplateArgs>;
        nodeGroup?: Transform<aws.eks.NodeGroupArgs>;
    };
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
        const config = args.config ?? sectionDefaults.cluster().systemNodeGroup;
        const tags = args.tags ?? {};
        const lt = new aws.ec2.LaunchTemplate(
            ...transform(args.transform?.launchTemplate, `${name}-lt`, {
                description: "System node group: operators and cluster services",
                vpcSecurityGroupIds: args.securityGroupIds,
                metadataOptions: { ...SYSTEM_METADATA_OPTIONS },
                blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: config.rootVolumeGiB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
                tagSpecifications: ["instance", "volume"].map((resourceType) => ({ resourceType, tags: { ...tags, Name: SYSTEM_NODE_GROUP_NAME } })),
                updateDefaultVersion: true,
                tags,
            },
            { parent: this }),
        );
        this.nodeGroup = new aws.eks.NodeGroup(
            ...transform(args.transform?.nodeGroup, `${name}-ng`, {
                clusterName: args.clusterName,
                nodeGroupName: SYSTEM_NODE_GROUP_NAME,
                nodeRoleArn: args.nodeRoleArn,
                subnetIds: args.subnetIds,
                amiType: "AL2023_x86_64_STANDARD",
                capacityType: "ON_DEMAND",
                instanceTypes: [config.instanceType],
                launchTemplate: { id: lt.id, version: lt.latestVersion.apply((v) => String(v)) },
                scalingConfig: scalingOf(config.nodes),
                labels: { [LABEL_NODE_GROUP]: SYSTEM_NODE_GROUP_NAME },
                nodeRepairConfig: { enabled: true },
                updateConfig: { maxUnavailable: 1 },
                tags,
            },
            { parent: this, dependsOn: args.dependsOn, deleteBeforeReplace: true }),
        );
        this.nodeGroupName = this.nodeGroup.nodeGroupName;
        this.registerOutputs({ nodeGroupName: this.nodeGroupName });
    }
}

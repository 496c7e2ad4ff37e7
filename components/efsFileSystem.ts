import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { podIdentityRole, type RoleTransform } from "./iam";
import { transform, type Transform } from "./transform";
import { configuredRegion, sectionDefaults } from "./defaults";
import { awsPartition } from "../catalog/aws";

/** Service account of the EFS CSI controller (the add-on's default). */
export const EFS_CSI_CONTROLLER_SA = "efs-csi-controller-sa";

export interface EfsFileSystemArgs {
    /**
     * The EKS cluster the CSI add-on is installed on.
     * @example controlPlane.clusterName
     */
    clusterName: pulumi.Input<string>;
    /**
     * Region, for the partition of the CSI driver's managed policy ARN.
     * @default the stack's `aws:region` config
     * @example "us-east-1"
     */
    region?: string;
    /**
     * VPC of the file system's security group.
     * @example network.vpcId
     */
    vpcId: pulumi.Input<string>;
    /**
     * Subnets that get a mount target, at most one per availability zone (EFS allows one mount
     * target per zone). Every zone a pod mounting the volume can run in needs one: the file
     * system's DNS name resolves only in zones that have a mount target.
     * @example efsMountSubnetIds(network)
     */
    mountSubnetIds: pulumi.Input<string>[];
    /**
     * Security group of the clients (every node); NFS 2049 is opened from it.
     * @example network.nodeSecurityGroupId
     */
    clientSecurityGroupId: pulumi.Input<string>;
    /**
     * EFS throughput mode.
     * @default "elastic"
     * @example "provisioned"
     */
    throughputMode?: "elastic" | "bursting" | "provisioned";
    /**
     * Throughput with `throughputMode: "provisioned"`, in MiB/s.
     * @default none (required by EFS with provisioned throughput only)
     * @example 512
     */
    provisionedThroughputMibps?: number;
    /**
     * EFS performance mode.
     * @default "generalPurpose"
     * @example "maxIO"
     */
    performanceMode?: "generalPurpose" | "maxIO";
    /**
     * KMS key for encryption at rest.
     * @default the AWS-managed key `aws/elasticfilesystem`
     * @example "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
     */
    kmsKeyArn?: string;
    /**
     * Root directory of the access point.
     * @example "/miles"
     */
    rootPath: string;
    /**
     * Tags of every resource.
     * @default {}
     * @example { "miles-cluster/stack": "prod" }
     */
    tags?: Record<string, string>;
    /**
     * What the CSI add-on waits for: the node groups. Its controller is a Deployment; created before
     * any node exists, the add-on stays DEGRADED and its creation fails.
     * @default []
     * @example cluster.aws.ready
     */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Mount this existing file system (by id) instead of creating one: only the CSI add-on is
     * created; no mount target, security group or access point is added to it.
     * @default none (a file system is created)
     * @example "fs-0123456789abcdef0"
     */
    existingFileSystemId?: string;
    /**
     * Changes to the args of the underlying resources; `mountTarget` applies to every mount target.
     * @default none
     * @example { fileSystem: { lifecyclePolicies: [{ transitionToIa: "AFTER_30_DAYS" }] } }
     */
    transform?: {
        fileSystem?: Transform<aws.efs.FileSystemArgs>;
        securityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
        ingressRule?: Transform<aws.vpc.SecurityGroupIngressRuleArgs>;
        egressRule?: Transform<aws.vpc.SecurityGroupEgressRuleArgs>;
        mountTarget?: Transform<aws.efs.MountTargetArgs>;
        accessPoint?: Transform<aws.efs.AccessPointArgs>;
        csiDriverRole?: RoleTransform;
        csiDriver?: Transform<aws.eks.AddonArgs>;
    };
}

/** The args with their defaults applied. */
type Resolved = EfsFileSystemArgs & Required<Pick<EfsFileSystemArgs, "throughputMode" | "performanceMode" | "tags">>;

/**
 * Amazon EFS alternative to FSx: an encrypted file system (retained when the stack is destroyed: it
 * is the only copy of the checkpoints), a security group allowing NFS from the nodes, mount
 * targets, an access point, and the `aws-efs-csi-driver` EKS add-on with its IAM role via Pod Identity.
 */
export class EfsFileSystem extends pulumi.ComponentResource {
    /** Undefined when an existing file system is mounted. */
    readonly fileSystem?: aws.efs.FileSystem;
    readonly accessPoint?: aws.efs.AccessPoint;
    readonly mountTargets: aws.efs.MountTarget[] = [];
    readonly addon: aws.eks.Addon;
    /** `<fs id>::<access point id>`, the CSI volume handle. */
    readonly volumeHandle: pulumi.Output<string>;

    constructor(name: string, args: EfsFileSystemArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:storage:EfsFileSystem", name, {}, opts);
        const efs = sectionDefaults.storage().efs;
        const a: Resolved = { ...args, throughputMode: args.throughputMode ?? efs.throughputMode, performanceMode: args.performanceMode ?? efs.performanceMode, tags: args.tags ?? {} };
        const t = a.transform ?? {};
        if (a.existingFileSystemId) {
            this.addon = this.createCsiAddon(name, a);
            this.volumeHandle = pulumi.output(a.existingFileSystemId);
            this.registerOutputs({ fileSystemId: a.existingFileSystemId });
            return;
        }
        const fileSystem = new aws.efs.FileSystem(
            ...transform(
                t.fileSystem,
                name,
                {
                    encrypted: true,
                    kmsKeyId: a.kmsKeyArn,
                    performanceMode: a.performanceMode,
                    throughputMode: a.throughputMode,
                    provisionedThroughputInMibps: a.provisionedThroughputMibps,
                    tags: { ...a.tags, Name: name },
                },
                { parent: this, retainOnDelete: true },
            ),
        );
        const sg = this.createSecurityGroup(name, a);
        this.mountTargets = a.mountSubnetIds.map(
            (subnetId, i) => new aws.efs.MountTarget(...transform(t.mountTarget, `${name}-mount-${i}`, { fileSystemId: fileSystem.id, subnetId, securityGroups: [sg.id] }, { parent: this })),
        );
        const accessPoint = new aws.efs.AccessPoint(
            ...transform(
                t.accessPoint,
                `${name}-ap`,
                {
                    fileSystemId: fileSystem.id,
                    // The miles image runs as root; the directory is created root-owned on first use.
                    rootDirectory: { path: a.rootPath, creationInfo: { ownerUid: 0, ownerGid: 0, permissions: "0755" } },
                    tags: a.tags,
                },
                { parent: this },
            ),
        );
        this.addon = this.createCsiAddon(name, a);
        this.volumeHandle = pulumi.interpolate`${fileSystem.id}::${accessPoint.id}`;
        this.fileSystem = fileSystem;
        this.accessPoint = accessPoint;
        this.registerOutputs({ fileSystemId: fileSystem.id, accessPointId: accessPoint.id });
    }

    private createSecurityGroup(name: string, args: Resolved): aws.ec2.SecurityGroup {
        const t = args.transform ?? {};
        const sg = new aws.ec2.SecurityGroup(
            ...transform(t.securityGroup, `${name}-sg`, { vpcId: args.vpcId, description: "EFS: NFS (TCP 2049) from the cluster nodes", tags: { ...args.tags, Name: `${name}-efs` } }, { parent: this }),
        );
        new aws.vpc.SecurityGroupIngressRule(
            ...transform(
                t.ingressRule,
                `${name}-nfs-from-nodes`,
                { securityGroupId: sg.id, referencedSecurityGroupId: args.clientSecurityGroupId, ipProtocol: "tcp", fromPort: 2049, toPort: 2049, description: "NFS from cluster nodes", tags: args.tags },
                { parent: this },
            ),
        );
        new aws.vpc.SecurityGroupEgressRule(
            ...transform(t.egressRule, `${name}-egress`, { securityGroupId: sg.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "All egress", tags: args.tags }, { parent: this }),
        );
        return sg;
    }

    /** The EFS CSI driver as an EKS add-on; its controller gets AmazonEFSCSIDriverPolicy through Pod Identity. */
    private createCsiAddon(name: string, args: Resolved): aws.eks.Addon {
        const t = args.transform ?? {};
        const { role, attachments } = podIdentityRole(
            `${name}-csi`,
            [`arn:${awsPartition(args.region ?? configuredRegion())}:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy`],
            "EFS CSI controller through EKS Pod Identity",
            args.tags,
            { parent: this },
            t.csiDriverRole,
        );
        return new aws.eks.Addon(
            ...transform(t.csiDriver, `${name}-csi-driver`, {
                clusterName: args.clusterName,
                addonName: "aws-efs-csi-driver",
                podIdentityAssociations: [{ roleArn: role.arn, serviceAccount: EFS_CSI_CONTROLLER_SA }],
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "OVERWRITE",
                tags: args.tags,
            },
            { parent: this, dependsOn: [...attachments, ...(args.dependsOn ?? [])] }),
        );
    }
}

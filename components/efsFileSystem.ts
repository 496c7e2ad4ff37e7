import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { podIdentityRole } from "./iam";
import { awsPartition } from "../catalog/aws";

/** Service account of the EFS CSI controller (the add-on's default). */
export const EFS_CSI_CONTROLLER_SA = "efs-csi-controller-sa";

export interface EfsFileSystemArgs {
    clusterName: pulumi.Input<string>;
    region?: string;
    vpcId: pulumi.Input<string>;
    /**
     * Subnets that get a mount target, at most one per availability zone (EFS allows one mount
     * target per zone). Every zone a pod mounting the volume can run in needs one: the file
     * system's DNS name resolves only in zones that have a mount target.
     */
    mountSubnetIds: pulumi.Input<string>[];
    /** Security group of the clients (every node); NFS 2049 is opened from it. */
    clientSecurityGroupId: pulumi.Input<string>;
    /** @default "elastic" */
    throughputMode: "elastic" | "bursting" | "provisioned";
    provisionedThroughputMibps?: number;
    /** @default "generalPurpose" */
    performanceMode: "generalPurpose" | "maxIO";
    /** @default the AWS-managed key `aws/elasticfilesystem` */
    kmsKeyArn?: string;
    /** Root directory of the access point. @example "/miles" */
    rootPath: string;
    tags: Record<string, string>;
    /**
     * What the CSI add-on waits for: the node groups. Its controller is a Deployment; created before
     * any node exists, the add-on stays DEGRADED and its creation fails.
     * @default []
     */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Mount this existing file system (by id) instead of creating one: only the CSI add-on is
     * created; no mount target, security group or access point is added to it.
     */
    existingFileSystemId?: string;
}

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
        if (args.existingFileSystemId) {
            this.addon = this.createCsiAddon(name, args);
            this.volumeHandle = pulumi.output(args.existingFileSystemId);
            this.registerOutputs({ fileSystemId: args.existingFileSystemId });
            return;
        }
        const fileSystem = new aws.efs.FileSystem(
            name,
            {
                encrypted: true,
                kmsKeyId: args.kmsKeyArn,
                performanceMode: args.performanceMode,
                throughputMode: args.throughputMode,
                provisionedThroughputInMibps: args.provisionedThroughputMibps,
                tags: { ...args.tags, Name: name },
            },
            { parent: this, retainOnDelete: true },
        );
        const sg = this.createSecurityGroup(name, args);
        this.mountTargets = args.mountSubnetIds.map(
            (subnetId, i) => new aws.efs.MountTarget(`${name}-mount-${i}`, { fileSystemId: fileSystem.id, subnetId, securityGroups: [sg.id] }, { parent: this }),
        );
        const accessPoint = new aws.efs.AccessPoint(
            `${name}-ap`,
            {
                fileSystemId: fileSystem.id,
                // The miles image runs as root; the directory is created root-owned on first use.
                rootDirectory: { path: args.rootPath, creationInfo: { ownerUid: 0, ownerGid: 0, permissions: "0755" } },
                tags: args.tags,
            },
            { parent: this },
        );
        this.addon = this.createCsiAddon(name, args);
        this.volumeHandle = pulumi.interpolate`${fileSystem.id}::${accessPoint.id}`;
        this.fileSystem = fileSystem;
        this.accessPoint = accessPoint;
        this.registerOutputs({ fileSystemId: fileSystem.id, accessPointId: accessPoint.id });
    }

    private createSecurityGroup(name: string, args: EfsFileSystemArgs): aws.ec2.SecurityGroup {
        const sg = new aws.ec2.SecurityGroup(`${name}-sg`, { vpcId: args.vpcId, description: "EFS: NFS (TCP 2049) from the cluster nodes", tags: { ...args.tags, Name: `${name}-efs` } }, { parent: this });
        new aws.vpc.SecurityGroupIngressRule(
            `${name}-nfs-from-nodes`,
            { securityGroupId: sg.id, referencedSecurityGroupId: args.clientSecurityGroupId, ipProtocol: "tcp", fromPort: 2049, toPort: 2049, description: "NFS from cluster nodes", tags: args.tags },
            { parent: this },
        );
        new aws.vpc.SecurityGroupEgressRule(`${name}-egress`, { securityGroupId: sg.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "All egress", tags: args.tags }, { parent: this });
        return sg;
    }

    /** The EFS CSI driver as an EKS add-on; its controller gets AmazonEFSCSIDriverPolicy through Pod Identity. */
    private createCsiAddon(name: string, args: EfsFileSystemArgs): aws.eks.Addon {
        const { role, attachments } = podIdentityRole(
            `${name}-csi`,
            [`arn:${awsPartition(args.region)}:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy`],
            "EFS CSI controller through EKS Pod Identity",
            args.tags,
            { parent: this },
        );
        return new aws.eks.Addon(
            `${name}-csi-driver`,
            {
                clusterName: args.clusterName,
                addonName: "aws-efs-csi-driver",
                podIdentityAssociations: [{ roleArn: role.arn, serviceAccount: EFS_CSI_CONTROLLER_SA }],
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "OVERWRITE",
                tags: args.tags,
            },
            { parent: this, dependsOn: [...attachments, ...(args.dependsOn ?? [])] },
        );
    }
}

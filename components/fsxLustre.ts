import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { linkS3Prefix } from "../domain/storage";
import { type StorageLink } from "../config/storage";
import { transform, type Transform } from "./transform";
import { sectionDefaults } from "./defaults";
import { FSX_MIN_CAPACITY_GIB } from "../catalog/fsx";

/** Lustre network ports: LNET 988 and the 1018-1023 range (FSx for Lustre user guide, VPC access control). */
export const LUSTRE_PORTS: ReadonlyArray<{ from: number; to: number }> = [
    { from: 988, to: 988 },
    { from: 1018, to: 1023 },
];

/** Creating a PERSISTENT_2 file system takes ~10-20 min; a data repository association up to ~20 min (more with a large bucket to import). */
export const FSX_TIMEOUTS: pulumi.CustomTimeouts = { create: "60m", update: "60m", delete: "60m" };
export const DRA_TIMEOUTS: pulumi.CustomTimeouts = { create: "45m", update: "45m", delete: "45m" };

export interface FsxLustreArgs {
    /**
     * VPC of the file system's security group.
     * @example network.vpcId
     */
    vpcId: pulumi.Input<string>;
    /**
     * The private subnet of the GPU availability zone; the file system lives there (one subnet only).
     * @example network.gpuSubnetId
     */
    subnetId: pulumi.Input<string>;
    /**
     * Security group of the clients (every node); the file system accepts Lustre traffic from it.
     * @example network.nodeSecurityGroupId
     */
    clientSecurityGroupId: pulumi.Input<string>;
    /**
     * Capacity in GiB: 1200, 2400 or a multiple of 2400.
     * @default 1200
     * @example 4800
     */
    capacityGiB?: number;
    /**
     * MB/s per TiB: 125, 250, 500 or 1000.
     * @default 250
     * @example 500
     */
    throughputPerTiB?: number;
    /**
     * KMS key for encryption at rest.
     * @default the AWS-managed key `aws/fsx` (rotated by AWS, never deleted with the stack)
     * @example "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
     */
    kmsKeyArn?: string;
    /**
     * Bucket the links point into.
     * @example bucket.name
     */
    bucketName: pulumi.Input<string>;
    /**
     * Directories linked to bucket prefixes (one data repository association each, at most 8).
     * @default the stack default (`storage.links`): /checkpoints and /models imported and exported, /data imported
     * @example [{ path: "/checkpoints", import: ["NEW", "CHANGED", "DELETED"], export: ["NEW", "CHANGED", "DELETED"] }]
     */
    links?: StorageLink[];
    /**
     * Pulumi `protect` on the file system: no `pulumi up` replacement and no `pulumi destroy` can
     * delete it (with the checkpoints not yet exported to S3) until the stack sets it to false.
     * @default true
     * @example false
     */
    protect?: boolean;
    /**
     * Resources the associations must wait for (the bucket's settings).
     * @default []
     * @example bucket.ready
     */
    bucketReady?: pulumi.Resource[];
    /**
     * Tags of every resource.
     * @default {}
     * @example { "miles-cluster/stack": "prod" }
     */
    tags?: Record<string, string>;
    /**
     * Changes to the args of the underlying resources; the rule and association transforms apply
     * to every rule and every association.
     * @default none
     * @example { fileSystem: { weeklyMaintenanceStartTime: "7:03:00" } }
     */
    transform?: {
        securityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
        ingressRule?: Transform<aws.vpc.SecurityGroupIngressRuleArgs>;
        egressRule?: Transform<aws.vpc.SecurityGroupEgressRuleArgs>;
        fileSystem?: Transform<aws.fsx.LustreFileSystemArgs>;
        dataRepositoryAssociation?: Transform<aws.fsx.DataRepositoryAssociationArgs>;
    };
}

/** The args with their defaults applied. */
type Resolved = FsxLustreArgs & Required<Pick<FsxLustreArgs, "capacityGiB" | "throughputPerTiB" | "links" | "tags">>;

/** `/checkpoints` → `checkpoints`, `/a/b` → `a-b`: a resource-name-safe form of a path. */
export function pathSlug(path: string): string {
    return path.replace(/^\/+/, "").replace(/[^A-Za-z0-9]+/g, "-").toLowerCase() || "root";
}

/**
 * FSx for Lustre PERSISTENT_2 (SSD, Lustre 2.15, LZ4, encrypted with KMS) in the GPU availability
 * zone, its security group, and one data repository association per linked directory.
 *
 * Deletion: S3 is the durable copy. The file system is `protect`ed by default (storage.protect), so
 * deleting it takes a deliberate config change. `skipFinalBackup: true` is not a shortcut but the
 * only valid choice: "Backups cannot be enabled on S3-linked file systems" (FSx API reference,
 * DeleteFileSystemLustreConfiguration.SkipFinalBackup,
 * https://docs.aws.amazon.com/fsx/latest/APIReference/API_DeleteFileSystemLustreConfiguration.html;
 * CreateBackup: only persistent file systems "not linked to a data repository"). What is not
 * exported yet when the file system is deleted is lost: docs/storage.md waits until the
 * auto-export queue is empty (AgeOfOldestQueuedMessage = 0) before a destroy.
 */
export class FsxLustre extends pulumi.ComponentResource {
    readonly fileSystem: aws.fsx.LustreFileSystem;
    readonly securityGroup: aws.ec2.SecurityGroup;
    readonly associations: aws.fsx.DataRepositoryAssociation[];

    constructor(name: string, args: FsxLustreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:storage:FsxLustre", name, {}, opts);
        const defaults = sectionDefaults.storage();
        const a: Resolved = {
            ...args,
            // A stack passes the capacity it resolved (sized from its runs by default); on its own the component takes the smallest.
            capacityGiB: args.capacityGiB ?? defaults.capacityGiB ?? FSX_MIN_CAPACITY_GIB,
            throughputPerTiB: args.throughputPerTiB ?? defaults.throughputPerTiB,
            links: args.links ?? defaults.links,
            tags: args.tags ?? {},
        };
        this.securityGroup = this.createSecurityGroup(name, a);
        this.fileSystem = new aws.fsx.LustreFileSystem(
            ...transform(a.transform?.fileSystem, name, {
                deploymentType: "PERSISTENT_2",
                storageType: "SSD",
                fileSystemTypeVersion: "2.15",
                storageCapacity: a.capacityGiB,
                perUnitStorageThroughput: a.throughputPerTiB,
                dataCompressionType: "LZ4",
                kmsKeyId: a.kmsKeyArn,
                // @pulumi/aws 7 types `subnetIds` as one string: FSx for Lustre supports exactly one subnet.
                subnetIds: a.subnetId,
                securityGroupIds: [this.securityGroup.id],
                // Backups are not supported on file systems linked to S3; S3 is the backup.
                automaticBackupRetentionDays: 0,
                skipFinalBackup: true,
                // Import/export failures go to CloudWatch Logs (/aws/fsx/lustre): the only trace of a file not exported.
                logConfiguration: { level: "WARN_ERROR" },
                tags: { ...a.tags, Name: name },
            },
            { parent: this, customTimeouts: FSX_TIMEOUTS, dependsOn: this.ingressRules, protect: a.protect ?? true }),
        );
        this.associations = this.createAssociations(name, a);
        this.registerOutputs({ fileSystemId: this.fileSystem.id, dnsName: this.fileSystem.dnsName, mountName: this.fileSystem.mountName });
    }

    private ingressRules: aws.vpc.SecurityGroupIngressRule[] = [];

    /**
     * The file system's group: Lustre ports from the clients and from itself (server-to-server
     * traffic), all egress. The clients' (node) group is NOT changed here: the cluster manages it
     * with inline rules, which would delete separately managed ones. The FSx guide also lists
     * client-side inbound rules (988, 1018-1023 from the file system) for connections servers open
     * back to clients; the node group must carry those itself (see docs/storage.md).
     */
    private createSecurityGroup(name: string, args: Resolved): aws.ec2.SecurityGroup {
        const t = args.transform ?? {};
        const sg = new aws.ec2.SecurityGroup(
            ...transform(
                t.securityGroup,
                `${name}-sg`,
                { vpcId: args.vpcId, description: "FSx for Lustre: Lustre (TCP 988, 1018-1023) from the cluster nodes and itself", tags: { ...args.tags, Name: `${name}-fsx` } },
                { parent: this },
            ),
        );
        const rule = (suffix: string, target: pulumi.Input<string>, from: pulumi.Input<string>, p: { from: number; to: number }, description: string) =>
            new aws.vpc.SecurityGroupIngressRule(
                ...transform(
                    t.ingressRule,
                    `${name}-${suffix}-${p.from}${p.to !== p.from ? `-${p.to}` : ""}`,
                    { securityGroupId: target, referencedSecurityGroupId: from, ipProtocol: "tcp", fromPort: p.from, toPort: p.to, description, tags: args.tags },
                    { parent: this },
                ),
            );
        for (const p of LUSTRE_PORTS) {
            this.ingressRules.push(
                rule("from-nodes", sg.id, args.clientSecurityGroupId, p, "Lustre from cluster nodes"),
                rule("from-self", sg.id, sg.id, p, "Lustre between file servers"),
            );
        }
        new aws.vpc.SecurityGroupEgressRule(
            ...transform(t.egressRule, `${name}-egress`, { securityGroupId: sg.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "All egress", tags: args.tags }, { parent: this }),
        );
        return sg;
    }

    /**
     * One association per link, created one after the other (FSx processes a file system's
     * association changes one at a time; serial creation avoids failing on a busy file system).
     */
    private createAssociations(name: string, args: Resolved): aws.fsx.DataRepositoryAssociation[] {
        const out: aws.fsx.DataRepositoryAssociation[] = [];
        for (const link of args.links) {
            const prev = out.length > 0 ? [out[out.length - 1]] : [];
            out.push(
                new aws.fsx.DataRepositoryAssociation(
                    ...transform(args.transform?.dataRepositoryAssociation, `${name}-${pathSlug(link.path)}`, {
                        fileSystemId: this.fileSystem.id,
                        fileSystemPath: link.path,
                        dataRepositoryPath: pulumi.interpolate`s3://${args.bucketName}/${linkS3Prefix(link)}/`,
                        // List what the bucket already holds (e.g. checkpoints of an earlier file system) at creation.
                        batchImportMetaDataOnCreate: true,
                        // Removing the association never deletes files on the file system.
                        deleteDataInFilesystem: false,
                        s3: {
                            autoImportPolicy: link.import.length > 0 ? { events: link.import } : undefined,
                            autoExportPolicy: link.export.length > 0 ? { events: link.export } : undefined,
                        },
                        tags: args.tags,
                    },
                    { parent: this, customTimeouts: DRA_TIMEOUTS, dependsOn: [...(args.bucketReady ?? []), ...prev] }),
                ),
            );
        }
        return out;
    }
}

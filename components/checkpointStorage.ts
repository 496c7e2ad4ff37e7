import * as pulumi from "@pulumi/pulumi";
import type { StorageConfig } from "../config";
import { configuredRegion, currentStack, sectionDefaults } from "./defaults";
import type { ClusterHandle, NamespaceHandle, StorageHandle } from "./contracts";
import { CheckpointBucket, type CheckpointBucketArgs } from "./checkpointBucket";
import { FsxLustre, type FsxLustreArgs } from "./fsxLustre";
import { FSX_MIN_CAPACITY_GIB } from "../catalog/fsx";
import { EfsFileSystem, type EfsFileSystemArgs } from "./efsFileSystem";
import { SharedVolume, SHARED_CLAIM_NAME, type SharedVolumeArgs } from "./sharedVolume";
import { partOfLabels, stackTags } from "../domain/labels";

export { SHARED_CLAIM_NAME };

/** CSI drivers of the static volumes. */
export const FSX_CSI_DRIVER = "fsx.csi.aws.com";
export const EFS_CSI_DRIVER = "efs.csi.aws.com";

/**
 * Capacity an EFS volume declares: EFS is elastic and Kubernetes ignores the number for it, but a
 * PersistentVolume must state one.
 */
export const EFS_DECLARED_CAPACITY = "1Ti";

export interface CheckpointStorageArgs {
    /**
     * The storage section (`miles-cluster:storage`, validated, defaults applied): FSx for Lustre +
     * S3, EFS, or an existing claim.
     * @default StorageSchema.parse({}): FSx for Lustre, 1200 GiB at 250 MB/s/TiB, linked to a created bucket
     * @example StorageSchema.parse({ capacityGiB: 2400, bucket: { name: "acme-miles-checkpoints" } })
     */
    storage?: StorageConfig;
    /**
     * Stack name: tags the AWS resources and generates the bucket name `miles-<stack>-…`.
     * @default pulumi.getStack()
     * @example "prod"
     */
    stack?: string;
    /**
     * AWS region, for the partition of ARNs (bucket, EFS CSI policy).
     * @default the stack's `aws:region` config
     * @example "us-east-1"
     */
    region?: string;
    /**
     * The cluster: Kubernetes provider and, for fsx-lustre/efs, its AWS network.
     * @example new GpuCluster("cluster", { cluster: ClusterSchema.parse({ availabilityZone: "us-east-1a" }) })
     */
    cluster: ClusterHandle;
    /**
     * The training namespace the claim is created in.
     * @example new TrainingNamespace("ns", { provider: cluster.provider })
     */
    namespace: NamespaceHandle;
    /**
     * Changes to the args of the underlying resources, per child component.
     * @default none
     * @example { fsx: { fileSystem: { weeklyMaintenanceStartTime: "7:03:00" } }, bucket: { bucket: { objectLockEnabled: true } } }
     */
    transform?: {
        bucket?: CheckpointBucketArgs["transform"];
        fsx?: FsxLustreArgs["transform"];
        efs?: EfsFileSystemArgs["transform"];
        volume?: SharedVolumeArgs["transform"];
    };
}

/**
 * The shared volume every training pod mounts read-write-many at /shared (catalog/sharedPaths.ts):
 * - `fsx-lustre` (default): an S3 bucket (kept on destroy), FSx for Lustre PERSISTENT_2 linked to
 *   it by data repository associations, and a static PV/PVC for the FSx CSI driver;
 * - `efs`: an encrypted EFS file system, mount target, access point, EFS CSI add-on and PV/PVC;
 * - `existing-claim`: nothing is created; the handle names the user's claim.
 */
export class CheckpointStorage extends pulumi.ComponentResource implements StorageHandle {
    readonly claimName: string;
    /** The storage section this component was built from (`args.storage` or its default). */
    readonly storage: StorageConfig;
    readonly ready: pulumi.Resource[] = [];
    readonly bucket?: StorageHandle["bucket"];
    readonly fileSystemId?: pulumi.Output<string>;
    /** The FSx file system id or the EFS volume handle (undefined for existing-claim). */
    readonly volumeHandle?: pulumi.Output<string>;

    constructor(name: string, args: CheckpointStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:storage:CheckpointStorage", name, {}, opts);
        const s = (this.storage = args.storage ?? sectionDefaults.storage());
        const a: Resolved = { ...args, storage: s, stack: args.stack ?? currentStack(), region: args.region ?? configuredRegion() };
        if (s.type === "existing-claim") {
            if (!s.claimName) throw new Error("storage.claimName is required with type existing-claim");
            this.claimName = s.claimName;
        } else {
            this.claimName = SHARED_CLAIM_NAME;
            const aws = requireAws(args.cluster, s.type);
            const tags = stackTags(a.stack, { component: "storage" });
            const existing = s.existingFileSystem;
            if (s.type === "fsx-lustre" && existing) {
                // An existing file system: only the static volume points at it; nothing of it is managed here.
                this.volumeHandle = pulumi.output(existing.id);
                this.fileSystemId = pulumi.output(existing.id);
                const volume = this.createVolume(name, a, {
                    capacity: `${s.capacityGiB ?? FSX_MIN_CAPACITY_GIB}Gi`,
                    csi: { driver: FSX_CSI_DRIVER, volumeHandle: existing.id, volumeAttributes: { dnsname: existing.dnsName!, mountname: existing.mountName! } },
                    mountOptions: ["flock"],
                });
                this.ready.push(volume.claim);
            } else if (s.type === "fsx-lustre") {
                const { bucket, fsx } = this.createFsx(name, a, aws, tags);
                // An existing bucket's encryption is not ours to know; a created one uses kmsKeyArn when set.
                this.bucket = { name: bucket.name, arn: bucket.arn, kmsKeyArn: s.bucket.existing ? undefined : s.kmsKeyArn };
                this.volumeHandle = fsx.fileSystem.id;
                this.fileSystemId = fsx.fileSystem.id;
                const volume = this.createVolume(name, a, {
                    capacity: `${s.capacityGiB ?? FSX_MIN_CAPACITY_GIB}Gi`,
                    csi: { driver: FSX_CSI_DRIVER, volumeHandle: fsx.fileSystem.id, volumeAttributes: { dnsname: fsx.fileSystem.dnsName, mountname: fsx.fileSystem.mountName } },
                    mountOptions: ["flock"],
                });
                this.ready.push(volume.claim, ...fsx.associations);
            } else {
                const efs = this.createEfs(name, a, aws, tags);
                this.volumeHandle = efs.volumeHandle;
                const volume = this.createVolume(name, a, {
                    capacity: EFS_DECLARED_CAPACITY,
                    csi: { driver: EFS_CSI_DRIVER, volumeHandle: efs.volumeHandle },
                    mountOptions: ["tls"],
                });
                this.ready.push(volume.claim, efs.addon, ...efs.mountTargets);
            }
        }
        this.registerOutputs({ claimName: this.claimName, bucketName: this.bucket?.name, volumeHandle: this.volumeHandle });
    }

    private createFsx(name: string, args: Resolved, aws: AwsFacts, tags: Record<string, string>): { bucket: CheckpointBucket; fsx: FsxLustre } {
        const s = args.storage;
        const bucket = new CheckpointBucket(
            `${name}-bucket`,
            {
                name: s.bucket.name,
                existing: s.bucket.existing,
                stack: args.stack,
                region: args.region,
                kmsKeyArn: s.kmsKeyArn,
                noncurrentVersionDays: s.noncurrentVersionDays,
                tags,
                transform: args.transform?.bucket,
            },
            { parent: this },
        );
        const fsx = new FsxLustre(
            `${name}-fsx`,
            {
                vpcId: aws.network.vpcId,
                subnetId: aws.network.gpuSubnetId,
                clientSecurityGroupId: aws.network.nodeSecurityGroupId,
                capacityGiB: s.capacityGiB,
                throughputPerTiB: s.throughputPerTiB,
                kmsKeyArn: s.kmsKeyArn,
                bucketName: bucket.name,
                bucketReady: bucket.ready,
                links: s.links,
                protect: s.protect,
                tags,
                transform: args.transform?.fsx,
            },
            { parent: this },
        );
        return { bucket, fsx };
    }

    private createEfs(name: string, args: Resolved, aws: AwsFacts, tags: Record<string, string>): EfsFileSystem {
        const e = args.storage.efs;
        return new EfsFileSystem(
            `${name}-efs`,
            {
                clusterName: aws.clusterName,
                region: args.region,
                vpcId: aws.network.vpcId,
                mountSubnetIds: efsMountSubnetIds(aws.network),
                clientSecurityGroupId: aws.network.nodeSecurityGroupId,
                throughputMode: e.throughputMode,
                provisionedThroughputMibps: e.provisionedThroughputMibps,
                performanceMode: e.performanceMode,
                kmsKeyArn: args.storage.kmsKeyArn,
                rootPath: `/${args.namespace.name}`,
                existingFileSystemId: args.storage.existingFileSystem?.id,
                tags,
                dependsOn: aws.ready,
                transform: args.transform?.efs,
            },
            { parent: this },
        );
    }

    private createVolume(name: string, args: Resolved, v: Pick<SharedVolumeArgs, "capacity" | "csi" | "mountOptions">): SharedVolume {
        return new SharedVolume(
            `${name}-volume`,
            {
                provider: args.cluster.provider,
                namespace: args.namespace.name,
                claimName: this.claimName,
                volumeName: `${args.namespace.name}-shared`,
                labels: partOfLabels("storage"),
                dependsOn: args.namespace.resource ? [args.namespace.resource] : [],
                transform: args.transform?.volume,
                ...v,
            },
            { parent: this },
        );
    }
}

/** The AWS side of a cluster handle (set when miles-cluster created the cluster). */
export type AwsFacts = NonNullable<ClusterHandle["aws"]>;
/** The args with their defaults applied. */
type Resolved = CheckpointStorageArgs & Required<Pick<CheckpointStorageArgs, "storage" | "stack">>;

/**
 * The subnets that get an EFS mount target. A created VPC has one private subnet per zone (GPU zone
 * first) and system nodes in every zone, where the Ray head and other pods mounting the volume can
 * land, so every one of them gets a mount target; the network knows their count before deployment
 * (`zoneCount`), so no resource is created inside `apply`. An existing VPC: only the GPU subnet,
 * because the zones of `privateSubnetIds` are not known offline and EFS rejects a second mount
 * target in one zone (pods on system nodes in other zones then cannot mount the volume).
 */
export function efsMountSubnetIds(network: AwsFacts["network"]): pulumi.Input<string>[] {
    if (network.zoneCount === undefined) return [network.gpuSubnetId];
    return Array.from({ length: network.zoneCount }, (_, i) => network.privateSubnetIds.apply((ids) => ids[i]));
}

function requireAws(cluster: ClusterHandle, type: string): AwsFacts {
    if (!cluster.aws) throw new Error(`storage.type "${type}" needs a cluster created by miles-cluster (its VPC and subnets); on a bring-your-own cluster use type "existing-claim"`);
    return cluster.aws;
}

import * as pulumi from "@pulumi/pulumi";
import type { MilesConfig } from "../config";
import { extraAvailabilityZones } from "../domain/cluster";
import type { ClusterHandle, NamespaceHandle, StorageHandle } from "./contracts";
import { CheckpointBucket } from "./checkpointBucket";
import { FsxLustre } from "./fsxLustre";
import { EfsFileSystem } from "./efsFileSystem";
import { SharedVolume, type SharedVolumeArgs } from "./sharedVolume";
import { partOfLabels, stackTags } from "../domain/labels";

/** Name of the claim miles-cluster creates in the training namespace (fsx-lustre and efs). */
export const SHARED_CLAIM_NAME = "miles-shared";

/** CSI drivers of the static volumes. */
export const FSX_CSI_DRIVER = "fsx.csi.aws.com";
export const EFS_CSI_DRIVER = "efs.csi.aws.com";

/**
 * Capacity an EFS volume declares: EFS is elastic and Kubernetes ignores the number for it, but a
 * PersistentVolume must state one.
 */
export const EFS_DECLARED_CAPACITY = "1Ti";

export interface CheckpointStorageArgs {
    /** The validated stack config (`storage` drives this component; `training.namespace`, `stack`, `region` are read). */
    config: MilesConfig;
    /** The cluster: Kubernetes provider and, for fsx-lustre/efs, its AWS network. */
    cluster: ClusterHandle;
    /** The training namespace the claim is created in. */
    namespace: NamespaceHandle;
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
    readonly ready: pulumi.Resource[] = [];
    readonly bucket?: StorageHandle["bucket"];
    readonly fileSystemId?: pulumi.Output<string>;
    /** The FSx file system id or the EFS volume handle (undefined for existing-claim). */
    readonly volumeHandle?: pulumi.Output<string>;

    constructor(name: string, args: CheckpointStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:storage:CheckpointStorage", name, {}, opts);
        const s = args.config.storage;
        if (s.type === "existing-claim") {
            if (!s.claimName) throw new Error("storage.claimName is required with type existing-claim");
            this.claimName = s.claimName;
        } else {
            this.claimName = SHARED_CLAIM_NAME;
            const aws = requireAws(args.cluster, s.type);
            const tags = stackTags(args.config.stack, { component: "storage" });
            const existing = s.existingFileSystem;
            if (s.type === "fsx-lustre" && existing) {
                // An existing file system: only the static volume points at it; nothing of it is managed here.
                this.volumeHandle = pulumi.output(existing.id);
                this.fileSystemId = pulumi.output(existing.id);
                const volume = this.createVolume(name, args, {
                    capacity: `${s.capacityGiB}Gi`,
                    csi: { driver: FSX_CSI_DRIVER, volumeHandle: existing.id, volumeAttributes: { dnsname: existing.dnsName!, mountname: existing.mountName! } },
                    mountOptions: ["flock"],
                });
                this.ready.push(volume.claim);
            } else if (s.type === "fsx-lustre") {
                const { bucket, fsx } = this.createFsx(name, args, aws, tags);
                // An existing bucket's encryption is not ours to know; a created one uses kmsKeyArn when set.
                this.bucket = { name: bucket.name, arn: bucket.arn, kmsKeyArn: s.bucket.existing ? undefined : s.kmsKeyArn };
                this.volumeHandle = fsx.fileSystem.id;
                this.fileSystemId = fsx.fileSystem.id;
                const volume = this.createVolume(name, args, {
                    capacity: `${s.capacityGiB}Gi`,
                    csi: { driver: FSX_CSI_DRIVER, volumeHandle: fsx.fileSystem.id, volumeAttributes: { dnsname: fsx.fileSystem.dnsName, mountname: fsx.fileSystem.mountName } },
                    mountOptions: ["flock"],
                });
                this.ready.push(volume.claim, ...fsx.associations);
            } else {
                const efs = this.createEfs(name, args, aws, tags);
                this.volumeHandle = efs.volumeHandle;
                const volume = this.createVolume(name, args, {
                    capacity: EFS_DECLARED_CAPACITY,
                    csi: { driver: EFS_CSI_DRIVER, volumeHandle: efs.volumeHandle },
                    mountOptions: ["tls"],
                });
                this.ready.push(volume.claim, efs.addon, ...efs.mountTargets);
            }
        }
        this.registerOutputs({ claimName: this.claimName, bucketName: this.bucket?.name, volumeHandle: this.volumeHandle });
    }

    private createFsx(name: string, args: CheckpointStorageArgs, aws: AwsFacts, tags: Record<string, string>): { bucket: CheckpointBucket; fsx: FsxLustre } {
        const s = args.config.storage;
        const bucket = new CheckpointBucket(
            `${name}-bucket`,
            {
                name: s.bucket.name,
                existing: s.bucket.existing,
                stack: args.config.stack,
                region: args.config.region,
                kmsKeyArn: s.kmsKeyArn,
                noncurrentVersionDays: s.noncurrentVersionDays,
                tags,
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
            },
            { parent: this },
        );
        return { bucket, fsx };
    }

    private createEfs(name: string, args: CheckpointStorageArgs, aws: AwsFacts, tags: Record<string, string>): EfsFileSystem {
        const e = args.config.storage.efs;
        return new EfsFileSystem(
            `${name}-efs`,
            {
                clusterName: aws.clusterName,
                region: args.config.region,
                vpcId: aws.network.vpcId,
                mountSubnetIds: efsMountSubnetIds(args.config, aws.network),
                clientSecurityGroupId: aws.network.nodeSecurityGroupId,
                throughputMode: e.throughputMode,
                provisionedThroughputMibps: e.provisionedThroughputMibps,
                performanceMode: e.performanceMode,
                kmsKeyArn: args.config.storage.kmsKeyArn,
                rootPath: `/${args.namespace.name}`,
                existingFileSystemId: args.config.storage.existingFileSystem?.id,
                tags,
                dependsOn: aws.ready,
            },
            { parent: this },
        );
    }

    private createVolume(name: string, args: CheckpointStorageArgs, v: Pick<SharedVolumeArgs, "capacity" | "csi" | "mountOptions">): SharedVolume {
        return new SharedVolume(
            `${name}-volume`,
            {
                provider: args.cluster.provider,
                namespace: args.namespace.name,
                claimName: this.claimName,
                volumeName: `${args.namespace.name}-shared`,
                labels: partOfLabels("storage"),
                dependsOn: [args.namespace.resource],
                ...v,
            },
            { parent: this },
        );
    }
}

type AwsFacts = NonNullable<ClusterHandle["aws"]>;

/**
 * The subnets that get an EFS mount target. A created VPC has one private subnet per zone (GPU zone
 * first) and system nodes in every zone, where the Ray head and other pods mounting the volume can
 * land, so every one of them gets a mount target; their count is known from the config, so no
 * resource is created inside `apply`. An existing VPC: only the GPU subnet, because the zones of
 * `privateSubnetIds` are not known offline and EFS rejects a second mount target in one zone
 * (pods on system nodes in other zones then cannot mount the volume).
 */
export function efsMountSubnetIds(cfg: MilesConfig, network: AwsFacts["network"]): pulumi.Input<string>[] {
    const n = cfg.cluster.network;
    if (n.type !== "create" || !cfg.cluster.availabilityZone) return [network.gpuSubnetId];
    const zones = 1 + extraAvailabilityZones(cfg.cluster.availabilityZone, n.availabilityZones).length;
    return Array.from({ length: zones }, (_, i) => network.privateSubnetIds.apply((ids) => ids[i]));
}

function requireAws(cluster: ClusterHandle, type: string): AwsFacts {
    if (!cluster.aws) throw new Error(`storage.type "${type}" needs a cluster created by miles-cluster (its VPC and subnets); on a bring-your-own cluster use type "existing-claim"`);
    return cluster.aws;
}

import { z } from "zod";
import { SHARED_DIRS } from "../catalog/sharedPaths";
import { DRA_EVENTS, type DraEvent, isValidFsxCapacity, FSX_THROUGHPUTS_PER_TIB, MAX_DATA_REPOSITORY_ASSOCIATIONS } from "../catalog/fsx";


const events = z.array(z.enum(DRA_EVENTS)).max(3);

/** A linked prefix: a directory of the file system mapped 1:1 to a prefix of the bucket. */
export const StorageLinkSchema = z.strictObject({
    path: z
        .string()
        .regex(/^\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, "must be an absolute directory of the file system such as /checkpoints (no trailing '/')")
        .meta({ description: "Directory of the file system (its root is mounted at /shared in pods).", examples: ["/checkpoints"] }),
    s3Prefix: z
        .string()
        .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, "must be a bucket prefix such as checkpoints or team/run1 (no leading or trailing '/')")
        .optional()
        .meta({ description: "Prefix of the bucket linked to `path`. Default: `path` without its leading '/'.", examples: ["checkpoints"] }),
    import: events.default([]).meta({ description: "S3 changes imported into the file system automatically (auto-import policy).", examples: [["NEW", "CHANGED", "DELETED"]] }),
    export: events.default([]).meta({ description: "File system changes exported to S3 automatically (auto-export policy).", examples: [["NEW", "CHANGED", "DELETED"]] }),
});
export type StorageLink = z.output<typeof StorageLinkSchema>;

const ALL_EVENTS: DraEvent[] = ["NEW", "CHANGED", "DELETED"];

/**
 * Default links, from catalog/sharedPaths.ts. FSx backups are not supported on a file system linked to S3, so
 * S3 is the only durable copy: checkpoints are exported on every change (and imported, so a
 * re-created file system sees the checkpoints already in the bucket); models are imported and their
 * new files exported (HF downloads and torch_dist conversions survive a file system replacement;
 * deletes on the file system never remove them from S3); data is imported only.
 */
export const DEFAULT_LINKS: StorageLink[] = [
    { path: `/${SHARED_DIRS.checkpoints}`, import: [...ALL_EVENTS], export: [...ALL_EVENTS] },
    { path: `/${SHARED_DIRS.models}`, import: [...ALL_EVENTS], export: ["NEW", "CHANGED"] },
    { path: `/${SHARED_DIRS.data}`, import: [...ALL_EVENTS], export: [] },
];

const bucketName = z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name: 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit")
    .refine((s) => !s.includes("..") && !/^\d+\.\d+\.\d+\.\d+$/.test(s), "must not contain '..' or look like an IP address");

export const StorageSchema = z
    .strictObject({
        type: z
            .enum(["fsx-lustre", "efs", "existing-claim"])
            .default("fsx-lustre")
            .meta({ description: "Kind of shared storage: FSx for Lustre linked to S3 (default), Amazon EFS, or a PersistentVolumeClaim that already exists in the training namespace." }),
        capacityGiB: z
            .number()
            .int("must be a whole number of GiB")
            .refine(isValidFsxCapacity, {
                error: (iss) => `FSx for Lustre capacity must be 1200, 2400 or a multiple of 2400 GiB (4800, 7200, 9600, ...); got ${String(iss.input)}`,
            })
            .optional()
            .meta({
                description:
                    "FSx for Lustre capacity in GiB: 1200, 2400 or a multiple of 2400. Default: sized from the stack's runs — the checkpoints miles keeps at the peak × one checkpoint, plus the torch_dist reference and HF checkpoints, plus 10% headroom, rounded up to a valid size (at least 1200); `plan` shows the arithmetic.",
                examples: [4800],
            }),
        fitCheck: z
            .enum(["error", "warn"])
            .default("error")
            .meta({
                description:
                    "What a file system too small for what the runs keep (their peak checkpoints + model copies, as `plan` sizes them) is: `error` (default) stops `plan` and `pulumi up` at storage.capacityGiB — a save would fail when the file system is full; `warn` lets it plan with a warning (e.g. you delete old checkpoints yourself).",
            }),
        throughputPerTiB: z
            .number()
            .refine((v) => (FSX_THROUGHPUTS_PER_TIB as readonly number[]).includes(v), {
                error: (iss) => `FSx for Lustre PERSISTENT_2 throughput must be one of ${FSX_THROUGHPUTS_PER_TIB.join(", ")} MB/s per TiB; got ${String(iss.input)}`,
            })
            .default(250)
            .meta({ description: "FSx for Lustre PERSISTENT_2 throughput per TiB in MB/s: 125, 250, 500 or 1000. Total throughput = capacity in TiB × this." }),
        bucket: z
            .strictObject({
                name: bucketName.optional().meta({ description: "Bucket name. Without `existing`: the name of the bucket to create (default: generated, `miles-<stack>-<random>`). With `existing: true`: the bucket to link.", examples: ["acme-miles-checkpoints"] }),
                existing: z.boolean().default(false).meta({ description: "Link an existing bucket (`name`) instead of creating one; miles-cluster then never changes or deletes it." }),
            })
            .prefault({})
            .meta({ description: "The S3 bucket linked to the FSx file system: the durable copy of checkpoints, models and data. A created bucket is kept when the stack is destroyed (see docs/storage.md)." }),
        links: z
            .array(StorageLinkSchema)
            .min(1, "must link at least one prefix")
            .max(MAX_DATA_REPOSITORY_ASSOCIATIONS, `FSx for Lustre allows at most ${MAX_DATA_REPOSITORY_ASSOCIATIONS} data repository associations`)
            .default(() => DEFAULT_LINKS.map((l) => ({ ...l, import: [...l.import], export: [...l.export] })))
            .meta({ description: "File-system directories linked to bucket prefixes (one data repository association each). Default: /checkpoints imported and exported on NEW/CHANGED/DELETED, /models imported and exported on NEW/CHANGED, /data imported." }),
        existingFileSystem: z
            .strictObject({
                id: z.string().regex(/^fs-[0-9a-f]{8,17}$/, "must be a file system id such as fs-0123456789abcdef0").meta({ description: "Id of the FSx for Lustre or EFS file system (`aws fsx describe-file-systems` / `aws efs describe-file-systems`)." }),
                dnsName: z.string().min(1).optional().meta({ description: "FSx for Lustre only, required there: its DNSName.", examples: ["fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com"] }),
                mountName: z.string().min(1).optional().meta({ description: "FSx for Lustre only, required there: its LustreConfiguration.MountName.", examples: ["abcdefgh"] }),
            })
            .optional()
            .meta({
                description:
                    "Use a file system that already exists (type fsx-lustre or efs) instead of creating one: only a static PersistentVolume/claim (reclaim Retain) points at it, and the stack never modifies or deletes it. Its network access (security groups, an EFS mount target in the GPU zone) and any S3 links are yours.",
            }),
        protect: z
            .boolean()
            .default(true)
            .meta({
                description:
                    "FSx for Lustre: Pulumi `protect` on the file system, so neither a replacing `pulumi up` nor `pulumi destroy` can delete it with checkpoints not yet exported to S3. Set `false` only for an intended destroy or replacement, after flushing the export queue (docs/storage.md); `plan` says which applies.",
            }),
        noncurrentVersionDays: z
            .number()
            .int()
            .min(1, "must be at least 1 day")
            .default(30)
            .meta({ description: "Days a created bucket keeps overwritten or deleted object versions (e.g. checkpoints removed by the retention policy) before expiring them." }),
        kmsKeyArn: z
            .string()
            .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)")
            .optional()
            .meta({ description: "Customer-managed KMS key for the file system and a created bucket. Default: AWS-managed keys (aws/fsx or aws/elasticfilesystem; SSE-S3 for the bucket), which AWS rotates and which outlive the stack." }),
        efs: z
            .strictObject({
                throughputMode: z.enum(["elastic", "bursting", "provisioned"]).default("elastic").meta({ description: "EFS throughput mode." }),
                provisionedThroughputMibps: z.number().positive().optional().meta({ description: "Throughput in MiB/s with `throughputMode: provisioned`." }),
                performanceMode: z.enum(["generalPurpose", "maxIO"]).default("generalPurpose").meta({ description: "EFS performance mode (maxIO cannot be combined with elastic throughput)." }),
            })
            .prefault({})
            .meta({ description: "Settings used when `type: efs`." }),
        claimName: z
            .string()
            .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "must be a Kubernetes object name (lowercase letters, digits, '-', '.')")
            .optional()
            .meta({ description: "With `type: existing-claim`: the PersistentVolumeClaim (ReadWriteMany, in the training namespace) every training pod mounts.", examples: ["fsx-claim"] }),
    })
    .meta({ description: "Shared storage every training pod mounts read-write-many: HF checkpoints, torch_dist weights, --save/--load checkpoints and prompt data." });

export type StorageConfig = z.output<typeof StorageSchema>;
export const storageSecretPaths: string[][] = [];



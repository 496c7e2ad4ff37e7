import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { tlsOnlyBucketPolicy } from "../domain/security/aws";
import { awsPartition } from "../catalog/aws";
import { bucketPrefixFor } from "../domain/storage";
import { transform, type Transform } from "./transform";
import { configuredRegion, currentStack, sectionDefaults } from "./defaults";



export interface CheckpointBucketArgs {
    /**
     * Name of the bucket to create; with `existing`, the bucket to use.
     * @default generated: `miles-<stack>-<random>`
     * @example "acme-miles-checkpoints"
     */
    name?: string;
    /**
     * Use the existing bucket `name`: nothing is created, changed or ever deleted.
     * @default false
     * @example true
     */
    existing?: boolean;
    /**
     * Stack name, for the generated bucket name.
     * @default pulumi.getStack()
     * @example "prod"
     */
    stack?: string;
    /**
     * Region of the stack, for the bucket ARN's partition.
     * @default the stack's `aws:region` config
     * @example "us-east-1"
     */
    region?: string;
    /**
     * Customer-managed KMS key for default encryption (SSE-KMS with an S3 Bucket Key). Its key policy
     * is the owner's: it must also let FSx's S3 service-linked role of the file system
     * (`AWSServiceRoleForFSxS3Access_fs-…`) use the key, or the data repository associations cannot
     * import or export (⚠ FSx for Lustre user guide, not re-verified here). The training role is
     * granted the key by components/trainingIdentity.ts.
     * @default SSE-S3 (AES256): no key to lose when the stack is destroyed
     * @example "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
     */
    kmsKeyArn?: string;
    /**
     * Days overwritten and deleted object versions are kept before they expire.
     * @default 30
     * @example 90
     */
    noncurrentVersionDays?: number;
    /**
     * Tags of the bucket.
     * @default {}
     * @example { "miles-cluster/stack": "prod" }
     */
    tags?: Record<string, string>;
    /**
     * Changes to the args of the underlying resources (a created bucket only).
     * @default none
     * @example { bucket: { objectLockEnabled: true } }
     */
    transform?: {
        bucket?: Transform<aws.s3.BucketArgs>;
        ownershipControls?: Transform<aws.s3.BucketOwnershipControlsArgs>;
        publicAccessBlock?: Transform<aws.s3.BucketPublicAccessBlockArgs>;
        tlsPolicy?: Transform<aws.s3.BucketPolicyArgs>;
        versioning?: Transform<aws.s3.BucketVersioningArgs>;
        encryption?: Transform<aws.s3.BucketServerSideEncryptionConfigurationArgs>;
        lifecycle?: Transform<aws.s3.BucketLifecycleConfigurationArgs>;
    };
}

/**
 * The S3 bucket behind the file system: the durable copy of checkpoints, models and data. A created
 * bucket is versioned, encrypted, private (public access blocked, ACLs disabled) and RETAINED when
 * the stack is destroyed or the resource replaced (`retainOnDelete`, also on its settings, so a
 * destroy never suspends versioning or unblocks public access). docs/storage.md: how to delete it.
 */
export class CheckpointBucket extends pulumi.ComponentResource {
    readonly name: pulumi.Output<string>;
    readonly arn: pulumi.Output<string>;
    /** Settings resources that must exist before the file system links the bucket. */
    readonly ready: pulumi.Resource[] = [];

    constructor(name: string, args: CheckpointBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:storage:CheckpointBucket", name, {}, opts);
        if (args.existing) {
            if (!args.name) throw new Error("CheckpointBucket: `name` is required with `existing: true`");
            this.name = pulumi.output(args.name);
            this.arn = pulumi.output(`arn:${awsPartition(args.region ?? configuredRegion())}:s3:::${args.name}`);
        } else {
            const bucket = this.createBucket(name, args);
            this.name = bucket.bucket;
            this.arn = bucket.arn;
        }
        this.registerOutputs({ name: this.name, arn: this.arn });
    }

    private createBucket(name: string, args: CheckpointBucketArgs): aws.s3.Bucket {
        const keep = (): pulumi.CustomResourceOptions => ({ parent: this, retainOnDelete: true });
        const t = args.transform ?? {};
        const bucket = new aws.s3.Bucket(
            ...transform(
                t.bucket,
                name,
                {
                    bucket: args.name,
                    bucketPrefix: args.name ? undefined : bucketPrefixFor(args.stack ?? currentStack()),
                    // Never let Pulumi empty the bucket, even if someone flips retainOnDelete.
                    forceDestroy: false,
                    tags: args.tags ?? {},
                },
                keep(),
            ),
        );
        const noncurrentDays = args.noncurrentVersionDays ?? sectionDefaults.storage().noncurrentVersionDays;
        this.ready.push(
            new aws.s3.BucketOwnershipControls(...transform(t.ownershipControls, `${name}-ownership`, { bucket: bucket.bucket, rule: { objectOwnership: "BucketOwnerEnforced" } }, keep())),
            new aws.s3.BucketPublicAccessBlock(
                ...transform(
                    t.publicAccessBlock,
                    `${name}-public-access`,
                    { bucket: bucket.bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
                    keep(),
                ),
            ),
            // TLS only (Security Hub S3.5); kept on destroy like the bucket, so a retained bucket stays TLS-only.
            new aws.s3.BucketPolicy(...transform(t.tlsPolicy, `${name}-tls-only`, { bucket: bucket.bucket, policy: bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicy(arn))) }, keep())),
            new aws.s3.BucketVersioning(...transform(t.versioning, `${name}-versioning`, { bucket: bucket.bucket, versioningConfiguration: { status: "Enabled" } }, keep())),
            new aws.s3.BucketServerSideEncryptionConfiguration(...transform(t.encryption, `${name}-encryption`, { bucket: bucket.bucket, rules: [encryptionRule(args.kmsKeyArn)] }, keep())),
            new aws.s3.BucketLifecycleConfiguration(
                ...transform(
                    t.lifecycle,
                    `${name}-lifecycle`,
                    {
                        bucket: bucket.bucket,
                        rules: [
                            { id: "expire-noncurrent-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays } },
                            { id: "abort-incomplete-multipart-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
                        ],
                    },
                    keep(),
                ),
            ),
        );
        return bucket;
    }
}

function encryptionRule(kmsKeyArn: string | undefined): aws.types.input.s3.BucketServerSideEncryptionConfigurationRule {
    if (!kmsKeyArn) return { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } };
    return { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKeyArn }, bucketKeyEnabled: true };
}

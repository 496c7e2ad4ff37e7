/**
 * IAM policy documents of the stack's roles, as data.
 */

/** Trust policy document for an AWS service principal (`sts:TagSession` is required by EKS Pod Identity). */
export function serviceTrustPolicyDocument(service: string, tagSession = false): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: tagSession ? ["sts:AssumeRole", "sts:TagSession"] : "sts:AssumeRole" }],
    };
}

/** The same, as the JSON string `aws.iam.Role.assumeRolePolicy` takes. */
export function serviceTrustPolicy(service: string, tagSession = false): string {
    return JSON.stringify(serviceTrustPolicyDocument(service, tagSession));
}

/** The service principal of EKS Pod Identity (AWS docs: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html). */
export const POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com";

/** Trust policy of a role EKS Pod Identity can hand to pods (it needs `sts:TagSession` too). */
export const POD_IDENTITY_TRUST_POLICY = serviceTrustPolicyDocument(POD_IDENTITY_SERVICE, true);

/**
 * What miles needs on the checkpoint bucket (the FSx data repository): list it, and read, write and
 * delete objects (checkpoint rotation), including multipart uploads of multi-GB checkpoint shards
 * (abort and list parts, so a failed upload can be cleaned up). No bucket-level writes, no ACLs, no
 * other bucket. When the bucket encrypts with a customer-managed KMS key (SSE-KMS), S3 calls KMS as
 * the caller: reads need kms:Decrypt and writes kms:GenerateDataKey (multipart uploads also
 * kms:Decrypt), on that key only; without them every GetObject/PutObject is AccessDenied.
 */
export function bucketPolicy(bucketArn: string, kmsKeyArn?: string): Record<string, unknown> {
    const statements: Record<string, unknown>[] = [
        { Sid: "ListCheckpointBucket", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"], Resource: bucketArn },
        {
            Sid: "ReadWriteCheckpoints",
            Effect: "Allow",
            Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            Resource: `${bucketArn}/*`,
        },
    ];
    if (kmsKeyArn) statements.push({ Sid: "UseCheckpointBucketKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: kmsKeyArn });
    return { Version: "2012-10-17", Statement: statements };
}

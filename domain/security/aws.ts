/**
 * AWS-side hardening documents, pure. Sources:
 * - Bucket TLS only: Security Hub S3.5, https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html
 *   (deny when `aws:SecureTransport` is false, on the bucket and its objects).
 * - Flow logs to CloudWatch Logs: the role `vpc-flow-logs.amazonaws.com` assumes and its permissions,
 *   https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html; Security Hub EC2.6.
 */

/** A bucket policy that refuses every request not made over TLS. */
export function tlsOnlyBucketPolicy(bucketArn: string): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [bucketArn, `${bucketArn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ],
    };
}

export const FLOW_LOGS_TRUST_POLICY = {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "vpc-flow-logs.amazonaws.com" }, Action: "sts:AssumeRole" }],
} as const;

/** What the flow-logs role may do: write into its one log group (the AWS page grants logs:* on `*`; scoped here). */
export function flowLogsRolePolicy(logGroupArn: string): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"],
                Resource: [logGroupArn, `${logGroupArn}:*`],
            },
        ],
    };
}

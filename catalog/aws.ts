/**
 * AWS facts: partitions, managed policy ARNs, service limits.
 */

/** A Capacity Block holds at most this many instances (EC2 `capacity-blocks-purchase`). */
export const CAPACITY_BLOCK_MAX_INSTANCES = 64;

/** The AWS partition of a region (ARNs differ in China and GovCloud). */
export function awsPartition(region: string | undefined): string {
    if (region?.startsWith("cn-")) return "aws-cn";
    if (region?.startsWith("us-gov-")) return "aws-us-gov";
    return "aws";
}

/** AWS managed policies the cluster roles use (commercial `aws` partition; see components/iam.ts for who gets which). */
export const MANAGED_POLICY = {
    eksCluster: "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
    eksWorkerNode: "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    ecrReadOnly: "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    eksCni: "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
} as const;

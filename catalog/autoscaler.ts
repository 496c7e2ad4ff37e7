/**
 * Cluster Autoscaler facts (kubernetes/autoscaler, tag cluster-autoscaler-1.35.2):
 * cluster-autoscaler/FAQ.md and cluster-autoscaler/cloudprovider/aws/README.md.
 */

/**
 * The Cluster Autoscaler never removes a node that runs a pod annotated like this
 * (FAQ.md, "What types of pods can prevent CA from removing a node?").
 */
export const CA_SAFE_TO_EVICT = { "cluster-autoscaler.kubernetes.io/safe-to-evict": "false" } as const;

/** ASG tag prefix the AWS provider reads to build a node template for scale-from-zero (aws/README.md). */
export const CA_NODE_TEMPLATE_TAG = "k8s.io/cluster-autoscaler/node-template";

/**
 * Tags every autoscaled ASG must carry for auto-discovery; EKS puts the first two on managed node
 * group ASGs itself (EKS user guide, managed-node-groups: "automatically tagged for auto-discovery").
 * The third is miles-cluster's own, so only the groups it means to autoscale are discovered (the
 * README allows custom tags in `asg:tag=`); Capacity Block and ODCR groups never carry it.
 */
export const caDiscoveryTags = (clusterName: string) => ["k8s.io/cluster-autoscaler/enabled", `k8s.io/cluster-autoscaler/${clusterName}`, CA_AUTOSCALE_TAG];
export const CA_AUTOSCALE_TAG = "miles-cluster/autoscale";

/**
 * GPU label the AWS provider treats as "this node will have GPUs" so it does not scale up twice
 * while the device plugin starts (aws/README.md, "Special note on GPU instances": CA >= 1.15 uses
 * `k8s.amazonaws.com/accelerator=<gpu-type>`).
 */
export const CA_GPU_LABEL = "k8s.amazonaws.com/accelerator";

/**
 * IAM actions of the Cluster Autoscaler ("Full Cluster Autoscaler Features Policy", aws/README.md).
 * The two mutating ones are limited to ASGs tagged for this cluster in components/clusterAutoscaler.ts.
 */
export const CA_IAM_DESCRIBE_ACTIONS = [
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
    "eks:DescribeNodegroup",
] as const;
export const CA_IAM_SCALE_ACTIONS = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"] as const;

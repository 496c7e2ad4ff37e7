/**
 * Facts of an EC2 spot interruption and of the handler that turns it into Kubernetes state (AWS Node
 * Termination Handler, NTH, pinned in catalog/versions.ts `CHARTS.nodeTerminationHandler`).
 */

/**
 * Seconds between the EC2 Spot Instance Interruption Warning and the interruption: "a warning that
 * is issued two minutes before Amazon EC2 stops or terminates your Spot Instance"
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html).
 */
export const SPOT_NOTICE_SECONDS = 120;

/**
 * EventBridge `source` and `detail-type` of the events NTH's queue processor handles (aws/aws-node-
 * termination-handler v1.25.6 README.md:432-465, "aws events put-rule"; the event JSON shapes:
 * spot-instance-termination-notices.html above, and
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/rebalance-recommendations.html). NTH's
 * ASG lifecycle rule is left out on purpose: EKS managed node groups own their Auto Scaling group's
 * lifecycle hooks and drain on scale-in themselves
 * (https://docs.aws.amazon.com/eks/latest/userguide/managed-node-update-behavior.html), so NTH
 * completing them would race EKS; AWS Health scheduled changes are left out too (no hop-limit
 * problem: EKS node auto repair and the node monitoring agent cover degraded hosts).
 */
export const SPOT_EVENTS = {
    spotInterruption: { source: "aws.ec2", detailType: "EC2 Spot Instance Interruption Warning" },
    rebalanceRecommendation: { source: "aws.ec2", detailType: "EC2 Instance Rebalance Recommendation" },
    /** NTH drains on the states stopping, stopped, shutting-down, terminated (pkg/monitor/sqsevent/ec2-state-change-event.go:51 at v1.25.6). */
    instanceStateChange: { source: "aws.ec2", detailType: "EC2 Instance State-change Notification" },
} as const;
export type SpotEventKind = keyof typeof SPOT_EVENTS;

/**
 * The taints NTH puts on the node before it cordons and drains it when `taintNode: true`
 * (pkg/node/node.go:55-62 at v1.25.6; the value is the event id, node.go:454-468). The spot
 * interruption's and the rebalance recommendation's are set in the event's PreDrainTask
 * (pkg/monitor/sqsevent/spot-itn-event.go:82-100, rebalance-recommendation-event.go:80-98), which
 * pkg/interruptionevent/draincordon/handler.go:83-84 runs before the cordon and drain (:103-107).
 * Pods read them through the Kubernetes API, never IMDS: they work with IMDS hop limit 1.
 */
export const NTH_TAINTS = {
    spotInterruption: "aws-node-termination-handler/spot-itn",
    rebalanceRecommendation: "aws-node-termination-handler/rebalance-recommendation",
} as const;

/**
 * NTH's IAM actions in queue-processor mode (README.md:477-497 at v1.25.6) without
 * `autoscaling:CompleteLifecycleAction`: no ASG lifecycle rule feeds the queue (SPOT_EVENTS). The
 * describe calls take no resource ARN (Resource "*"); the SQS calls are limited to the one queue.
 */
export const NTH_DESCRIBE_ACTIONS = ["autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeTags", "ec2:DescribeInstances"] as const;
export const NTH_QUEUE_ACTIONS = ["sqs:DeleteMessage", "sqs:ReceiveMessage"] as const;

/**
 * How long a message stays in the queue: 300 s as in NTH's README.md:352 (a notice older than the
 * two-minute window is useless).
 */
export const NTH_QUEUE_RETENTION_SECONDS = 300;

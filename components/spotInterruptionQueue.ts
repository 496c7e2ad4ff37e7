/**
 * SpotInterruptionQueue: the AWS side of spot interruption handling for a cluster with spot GPU
 * groups (domain/lifecycle/spot.ts): an encrypted SQS queue (SQS-managed SSE), one EventBridge rule
 * per event type (spot interruption warning, rebalance recommendation, instance state change) with
 * the queue as target, and a queue policy that lets EventBridge send only on behalf of those rules.
 * AWS Node Termination Handler (components/nodeTerminationHandler.ts) consumes it.
 *
 * Verified offline only (resources, event patterns, policy); event delivery is verified only on AWS.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { SPOT_QUEUE_SETTINGS, spotEventRules, spotQueuePolicy } from "../domain/lifecycle/spot";
import { transform, type Transform } from "./transform";

export interface SpotInterruptionQueueArgs {
    /**
     * Name prefix of the queue and the rules (the cluster's name).
     * @example "miles-dev"
     */
    namePrefix: string;
    /**
     * Tags of the queue and the rules.
     * @default {}
     * @example { "miles-cluster/stack": "dev" }
     */
    tags?: Record<string, string>;
    /**
     * Changes to the args of the underlying resources (`rule`, `target`: each of them).
     * @default none
     * @example { queue: { messageRetentionSeconds: 600 } }
     */
    transform?: {
        queue?: Transform<aws.sqs.QueueArgs>;
        queuePolicy?: Transform<aws.sqs.QueuePolicyArgs>;
        rule?: Transform<aws.cloudwatch.EventRuleArgs>;
        target?: Transform<aws.cloudwatch.EventTargetArgs>;
    };
}

export class SpotInterruptionQueue extends pulumi.ComponentResource {
    readonly queue: aws.sqs.Queue;
    readonly queueUrl: pulumi.Output<string>;
    readonly queueArn: pulumi.Output<string>;
    /** The queue policy and the rule targets: events reach the queue once these exist. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: SpotInterruptionQueueArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:cluster:SpotInterruptionQueue", name, {}, opts);
        const t = args.transform ?? {};
        const tags = args.tags ?? {};
        const o = { parent: this };
        this.queue = new aws.sqs.Queue(...transform(t.queue, `${name}-queue`, { namePrefix: `${args.namePrefix}-spot-`, ...SPOT_QUEUE_SETTINGS, tags }, o));
        const rules = spotEventRules().map(
            (r) => [r, new aws.cloudwatch.EventRule(...transform(t.rule, `${name}-${r.kind}`, { namePrefix: `${args.namePrefix}-${r.kind}-`.slice(0, 38), description: r.description, eventPattern: r.eventPattern, tags }, o))] as const,
        );
        const targets = rules.map(([r, rule]) => new aws.cloudwatch.EventTarget(...transform(t.target, `${name}-${r.kind}`, { rule: rule.name, arn: this.queue.arn }, o)));
        const policy = new aws.sqs.QueuePolicy(
            ...transform(
                t.queuePolicy,
                `${name}-policy`,
                { queueUrl: this.queue.url, policy: pulumi.all([this.queue.arn, ...rules.map(([, rule]) => rule.arn)]).apply(([q, ...arns]) => JSON.stringify(spotQueuePolicy(q, arns))) },
                o,
            ),
        );
        this.queueUrl = this.queue.url;
        this.queueArn = this.queue.arn;
        this.ready = [policy, ...targets];
        this.registerOutputs({ queueUrl: this.queueUrl, queueArn: this.queueArn });
    }
}

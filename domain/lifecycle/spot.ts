/**
 * Spot interruption handling of a cluster with spot GPU groups, as pure decisions
 * (components/spotInterruptionQueue.ts and components/nodeTerminationHandler.ts build them):
 *
 * EC2 emits the Spot Instance Interruption Warning (two minutes before) and the Rebalance
 * Recommendation (often earlier) as EventBridge events and in IMDS. Our nodes set IMDS hop limit 1,
 * so pods cannot read IMDS: EventBridge rules send the events to an SQS queue, and AWS Node
 * Termination Handler in Queue Processor mode (one Deployment on the system nodes) reads it, taints
 * the node (`aws-node-termination-handler/spot-itn` or `…/rebalance-recommendation`, before it cordons
 * and drains: catalog/spotInterruption.ts NTH_TAINTS), cordons it and drains it.
 *
 * The drain alone would not save the run: the run's PodDisruptionBudget (maxUnavailable 0,
 * domain/lifecycle/disruption.ts) refuses the eviction of its Ray pods — NTH drains with kubectl's
 * drain helper and the Eviction API (pkg/node/node.go:743-752 at v1.25.6: `Timeout` =
 * nodeTerminationGracePeriod, 120 s) — so their preStop save never runs before EC2 takes the
 * instance. NTH's webhook is no help either: it is posted after the drain returns
 * (pkg/interruptionevent/draincordon/handler.go:103-111). So each run on a spot group has a small
 * watcher (domain/lifecycle/nodeWatch.ts) that sees the taint on a node of the run and creates the
 * run's save sentinel at once; the drain then only removes the other pods, and the run resumes from
 * that save through KubeRay's retry (a new Ray cluster, `--load` = `--save`) on replacement capacity.
 */
import type { GpuNodeGroupConfig } from "../../config/cluster";
import { LABEL_NODE_GROUP } from "../../catalog/nodeLabels";
import { SYSTEM_NODE_GROUP_NAME } from "../../config/cluster";
import { NTH_DESCRIBE_ACTIONS, NTH_QUEUE_ACTIONS, NTH_QUEUE_RETENTION_SECONDS, SPOT_EVENTS, SPOT_NOTICE_SECONDS, type SpotEventKind } from "../../catalog/spotInterruption";
import { TAG_CLUSTER } from "../labels";
import { capacityPlanOf } from "../capacity";
import { groupCost } from "./cost";

/** The GPU groups on spot capacity (capacityPlanOf: `capacityType` SPOT): only a stack with one gets the interruption queue and handler. */
export function spotGroupsOf(groups: readonly GpuNodeGroupConfig[]): GpuNodeGroupConfig[] {
    return groups.filter((g) => capacityPlanOf(g).capacityType === "SPOT");
}

/** Service account (and release name) of the handler in kube-system. */
export const NTH_SERVICE_ACCOUNT = "aws-node-termination-handler";

/** One EventBridge rule per event type, as NTH's README creates them. */
export interface SpotEventRule {
    kind: SpotEventKind;
    description: string;
    /** `aws.cloudwatch.EventRule.eventPattern` (JSON). */
    eventPattern: string;
}

export function spotEventRules(): SpotEventRule[] {
    return (Object.keys(SPOT_EVENTS) as SpotEventKind[]).map((kind) => ({
        kind,
        description: `${SPOT_EVENTS[kind].detailType} → the spot interruption queue (aws-node-termination-handler)`,
        eventPattern: JSON.stringify({ source: [SPOT_EVENTS[kind].source], "detail-type": [SPOT_EVENTS[kind].detailType] }),
    }));
}

/**
 * The queue's policy: EventBridge may send, and only on behalf of our rules (`aws:SourceArn`), so no
 * other rule or account can feed the handler events. NTH's README.md:330-345 (v1.25.6) also lets
 * `sqs.amazonaws.com` send; nothing of ours needs that.
 */
export function spotQueuePolicy(queueArn: string, ruleArns: readonly string[]): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "EventBridgeSpotRulesOnly",
                Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" },
                Action: "sqs:SendMessage",
                Resource: queueArn,
                Condition: { ArnEquals: { "aws:SourceArn": [...ruleArns] } },
            },
        ],
    };
}

/** The queue's settings: SSE with SQS-managed keys (README.md:354 `SqsManagedSseEnabled`), a 300 s retention. */
export const SPOT_QUEUE_SETTINGS = { sqsManagedSseEnabled: true, messageRetentionSeconds: NTH_QUEUE_RETENTION_SECONDS } as const;

/** The handler's IAM policy: describe calls (no resource-level permissions), receive/delete on this one queue. */
export function nodeTerminationHandlerPolicy(queueArn: string): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "DescribeInstances", Effect: "Allow", Action: [...NTH_DESCRIBE_ACTIONS], Resource: "*" },
            { Sid: "ConsumeSpotQueue", Effect: "Allow", Action: [...NTH_QUEUE_ACTIONS], Resource: queueArn },
        ],
    };
}

/**
 * The chart's values (keys of config/helm/aws-node-termination-handler/values.yaml at v1.25.6):
 * - `enableSqsTerminationDraining` turns on Queue Processor mode (values.yaml:141; the Deployment
 *   template renders only then, templates/deployment.yaml:1, and the IMDS DaemonSet only without it).
 * - `taintNode: true`: the taints the run's save watcher reads (catalog NTH_TAINTS).
 * - `checkTagBeforeDraining` with `managedTag` = the cluster tag our launch templates put on every
 *   instance (domain/labels.ts TAG_CLUSTER): events of other instances of the account are dropped
 *   (pkg/monitor/sqsevent/sqs-monitor.go:266-269, 438-441); `deleteSqsMsgIfNodeNotFound` drops those of
 *   another cluster's instances instead of retrying them until the retention ends.
 * - `emitKubernetesEvents`: the reason shows on the node (`kubectl describe node`).
 * - node and pod grace periods stay at their defaults (120 s for the node = the notice; each pod
 *   its own), so the drain never cuts a pod's preStop shorter than its pod says.
 * `queueUrl` may be a Pulumi input (the queue's URL is known once it is created).
 */
export function nodeTerminationHandlerValues<Url = string>(region: string, queueUrl: Url): Record<string, unknown> {
    return {
        enableSqsTerminationDraining: true,
        queueURL: queueUrl,
        awsRegion: region,
        taintNode: true,
        checkTagBeforeDraining: true,
        managedTag: TAG_CLUSTER,
        deleteSqsMsgIfNodeNotFound: true,
        emitKubernetesEvents: true,
        serviceAccount: { create: true, name: NTH_SERVICE_ACCOUNT },
        rbac: { pspEnabled: false },
        // On the untainted system nodes: never on a node it may drain.
        nodeSelector: { [LABEL_NODE_GROUP]: SYSTEM_NODE_GROUP_NAME },
        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
    };
}

/**
 * What a spot reclaim costs a run at most, consistent with the plan's group cost (domain/lifecycle/
 * cost.ts `groupCost`: spot at the user's price or the stated assumption). The save the notice
 * triggers is written only if the step in progress and the checkpoint write end within the notice;
 * otherwise the run resumes from its last periodic save, `saveInterval` rollouts back. So at most
 * `saveInterval` rollouts of all the run's GPUs are lost, plus the restart (a new node and Ray
 * cluster, which the caller states separately).
 */
export interface ReclaimCost {
    noticeSeconds: number;
    saveInterval: number;
    nodes: number;
    gpus: number;
    usdPerNodeHour: number;
    basis: string;
    /** GPU-hours lost at most per minute of rollout (step) time. */
    gpuHoursPerRolloutMinute: number;
    /** USD lost at most per minute of rollout (step) time. */
    usdPerRolloutMinute: number;
    /** Seconds the triggered save may take: the notice minus what the handler and the watcher need to see it. */
    saveBudgetSeconds: number;
}

/**
 * Seconds we allow between the notice and the sentinel: NTH long-polls the queue (WaitTimeSeconds
 * 20, which returns as soon as a message arrives) and polls again every 2 s
 * (pkg/monitor/sqsevent/sqs-monitor.go:316, cmd/node-termination-handler.go:249 at v1.25.6); the
 * watcher polls every NODE_WATCH_POLL_SECONDS. EventBridge publishes no delivery latency: the rest
 * of the 20 s is our allowance for it, not a published figure.
 */
export const NOTICE_TO_SENTINEL_SECONDS = 20;

export function reclaimCost(g: GpuNodeGroupConfig, run: { nodes: number; gpusPerNode: number; saveInterval: number }): ReclaimCost {
    const c = groupCost(g);
    const gpus = run.nodes * run.gpusPerNode;
    return {
        noticeSeconds: SPOT_NOTICE_SECONDS,
        saveInterval: run.saveInterval,
        nodes: run.nodes,
        gpus,
        usdPerNodeHour: c.usdPerNodeHour,
        basis: c.basis,
        gpuHoursPerRolloutMinute: (run.saveInterval * gpus) / 60,
        usdPerRolloutMinute: (run.saveInterval * run.nodes * c.usdPerNodeHour) / 60,
        saveBudgetSeconds: SPOT_NOTICE_SECONDS - NOTICE_TO_SENTINEL_SECONDS,
    };
}

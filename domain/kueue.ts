/**
 * The queue every run of a stack waits in: Kueue's objects and Helm values as pure functions of the
 * GPU node groups and `addons.kueue`. One ResourceFlavor per GPU node group (its node labels and
 * taints), one ClusterQueue whose nominal quota is exactly the GPUs (and EFA devices) the node
 * groups provision, one LocalQueue in the training namespace, three WorkloadPriorityClasses.
 *
 * Sources (kubernetes-sigs/kueue at tag v0.19.2, commit 8eab68778fc1):
 * - CRD fields: config/components/crd/bases/*.yaml (../shared/schemas/kueue/*.v1beta2.schema.json;
 *   v1beta2 is the storage version there).
 * - Labels `kueue.x-k8s.io/queue-name` and `kueue.x-k8s.io/priority-class`:
 *   pkg/controller/constants/constants.go.
 * - RayJob rules (pkg/controller/jobs/rayjob/rayjob_webhook.go, raycluster/common.go): a
 *   `rayClusterSpec` (no clusterSelector), `shutdownAfterJobFinishes: true`, no in-tree
 *   autoscaling, no worker group named `head`, at most 18 PodSets (head + worker groups +
 *   the submitter in K8sJobMode; pkg/controller/jobframework/constants.go MaxPodSets = 18).
 * - Kueue owns a queued job's `spec.suspend`: it unsuspends the job when it admits it, "regardless
 *   of its previous value" (site/content/en/docs/tasks/run/rayjobs.md, "Suspend control").
 */
import type { GpuNodeGroupInfo } from "./gpuNodes";
import type { AddonsConfig, TrainingConfig } from "../config";
import { stringify } from "yaml";
import { CHARTS, IMAGES } from "../catalog/versions";

export const KUEUE_API_VERSION = "kueue.x-k8s.io/v1beta2";
export const QUEUE_NAME_LABEL = "kueue.x-k8s.io/queue-name";
export const PRIORITY_CLASS_LABEL = "kueue.x-k8s.io/priority-class";
/** Extended resource names the quota covers (NVIDIA and EFA device plugins advertise them). */
export const GPU_RESOURCE = "nvidia.com/gpu";
export const EFA_RESOURCE = "vpc.amazonaws.com/efa";
/** Namespace of the Kueue controller (the chart README installs it there). */
export const KUEUE_NAMESPACE = "kueue-system";
/** PodSets of one Kueue Workload (pkg/controller/jobframework/constants.go at v0.19.2). */
export const KUEUE_MAX_POD_SETS = 18;

/** Priority of each `training.priority` (our choice: decades apart, so a later class fits between). */
export const PRIORITY_VALUES: Record<TrainingConfig["priority"], number> = { low: 100, normal: 1000, high: 10000 };

export type KueueConfig = AddonsConfig["kueue"];

/** What a run's objects need to join the queue. */
export interface QueueRef {
    /** LocalQueue in the training namespace. */
    localQueue: string;
    /** WorkloadPriorityClass of the run. */
    priorityClass: string;
}

export function priorityClassName(k: Pick<KueueConfig, "clusterQueue">, priority: TrainingConfig["priority"]): string {
    return `${k.clusterQueue}-${priority}`;
}

export function flavorName(k: Pick<KueueConfig, "clusterQueue">, group: Pick<GpuNodeGroupInfo, "name">): string {
    return `${k.clusterQueue}-${group.name}`.toLowerCase().replace(/[^a-z0-9-]+/g, "-").slice(0, 63).replace(/-+$/, "");
}

/** The queue a run of this priority joins. */
export function queueRef(k: Pick<KueueConfig, "clusterQueue" | "localQueue">, priority: TrainingConfig["priority"]): QueueRef {
    return { localQueue: k.localQueue, priorityClass: priorityClassName(k, priority) };
}

/**
 * The queue as the cluster hands it to its runs (its own and a run stack's). `preemption` is there
 * only when the queue may evict a running run (so the facts of a queue that never preempts stay as
 * they were).
 */
export interface QueueHandle {
    clusterQueue: string;
    localQueue: string;
    /** @default "Never" */
    preemption?: Exclude<KueueConfig["preemption"], "Never">;
}

export function queueHandle(k: Pick<KueueConfig, "clusterQueue" | "localQueue" | "preemption">): QueueHandle {
    return { clusterQueue: k.clusterQueue, localQueue: k.localQueue, ...(k.preemption !== "Never" ? { preemption: k.preemption } : {}) };
}

/** Whether a run in this queue may be evicted while it trains (then its pods save before they stop). */
export function mayPreempt(q: QueueHandle | undefined): boolean {
    return q?.preemption !== undefined;
}

/** Labels that put a job in the queue with its priority. */
export function queueLabels(q: QueueRef): Record<string, string> {
    return { [QUEUE_NAME_LABEL]: q.localQueue, [PRIORITY_CLASS_LABEL]: q.priorityClass };
}

/**
 * A batch Job submitted to the queue: the queue labels, and created suspended (Kueue's mjob.kb.io
 * webhook suspends a queued Job anyway; writing it keeps the manifest what the API server stores).
 * Pulumi must not wait for such a Job (pulumi.com/skipAwait, QUEUED_JOB_ANNOTATIONS): the queue may
 * hold it back for as long as an admitted run keeps the GPUs.
 */
export function queuedJob<J extends { metadata: { labels?: Record<string, string> }; spec: object }>(job: J, q: QueueRef): J {
    return { ...job, metadata: { ...job.metadata, labels: { ...job.metadata.labels, ...queueLabels(q) } }, spec: { ...job.spec, suspend: true } };
}

/**
 * Annotations of a queued Job for pulumi-kubernetes (4.34.2; provider/pkg/metadata/overrides.go:39-42
 * and await/await.go:406, 1100 at pulumi/pulumi-kubernetes 94977969d): `pulumi.com/skipAwait` makes
 * the Job "ready" once the API server accepted it, so `pulumi up` submits and returns. Without
 * `pulumi.com/replaceUnready` (provider/pkg/provider/provider.go:1622-1640: a Job that is not Complete
 * at the next diff is replaced), which would re-create a Job still waiting in the queue on every
 * `pulumi up` and send it to the back of the queue.
 */
export const QUEUED_JOB_ANNOTATIONS: Readonly<Record<string, string>> = { "pulumi.com/skipAwait": "true" };

/** One flavor of the ClusterQueue: a GPU node group and the quota it brings. */
export interface FlavorQuota {
    flavor: string;
    group: string;
    gpus: number;
    efa: number;
}

/** Quota per GPU node group: every GPU (and EFA device) the group provisions, no more. */
export function queueQuota(k: Pick<KueueConfig, "clusterQueue">, groups: ReadonlyArray<GpuNodeGroupInfo>): FlavorQuota[] {
    return groups.map((g) => ({ flavor: flavorName(k, g), group: g.name, gpus: g.nodes * g.gpusPerNode, efa: g.nodes * g.efaPerNode }));
}

interface Obj {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
    [k: string]: unknown;
}

const PART_OF = { "app.kubernetes.io/part-of": "miles-cluster" };

/** A ResourceFlavor per GPU node group: Kueue injects its node labels into the admitted pods and checks their tolerations against its taints. */
export function resourceFlavorManifest(k: Pick<KueueConfig, "clusterQueue">, g: GpuNodeGroupInfo): Obj {
    const spec: Record<string, unknown> = { nodeLabels: { ...g.selector } };
    if (g.taints.length > 0) spec.nodeTaints = g.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect }));
    return { apiVersion: KUEUE_API_VERSION, kind: "ResourceFlavor", metadata: { name: flavorName(k, g), labels: PART_OF }, spec };
}

/**
 * The ClusterQueue: quota = the provisioned GPUs (and EFA devices) per flavor; only the training
 * namespace may submit (a null selector would admit from no namespace, `{}` from all).
 */
export function clusterQueueManifest(k: KueueConfig, groups: ReadonlyArray<GpuNodeGroupInfo>, trainingNamespace: string): Obj {
    const quota = queueQuota(k, groups);
    const withEfa = groups.some((g) => g.efaPerNode > 0);
    const covered = withEfa ? [GPU_RESOURCE, EFA_RESOURCE] : [GPU_RESOURCE];
    const flavors = quota.map((q) => ({
        name: q.flavor,
        resources: [{ name: GPU_RESOURCE, nominalQuota: q.gpus }, ...(withEfa ? [{ name: EFA_RESOURCE, nominalQuota: q.efa }] : [])],
    }));
    return {
        apiVersion: KUEUE_API_VERSION,
        kind: "ClusterQueue",
        metadata: { name: k.clusterQueue, labels: PART_OF },
        spec: {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": trainingNamespace } },
            queueingStrategy: k.queueingStrategy,
            preemption: { withinClusterQueue: k.preemption },
            resourceGroups: [{ coveredResources: covered, flavors }],
        },
    };
}

export function localQueueManifest(k: KueueConfig, trainingNamespace: string): Obj {
    return { apiVersion: KUEUE_API_VERSION, kind: "LocalQueue", metadata: { name: k.localQueue, namespace: trainingNamespace, labels: PART_OF }, spec: { clusterQueue: k.clusterQueue } };
}

export function priorityClassManifests(k: Pick<KueueConfig, "clusterQueue">): Obj[] {
    return (Object.entries(PRIORITY_VALUES) as Array<[TrainingConfig["priority"], number]>).map(([p, value]) => ({
        apiVersion: KUEUE_API_VERSION,
        kind: "WorkloadPriorityClass",
        metadata: { name: priorityClassName(k, p), labels: PART_OF },
        value,
        description: `miles-cluster runs of priority "${p}" (training.priority)`,
    }));
}

/**
 * Kueue's controller configuration (`managerConfig.controllerManagerConfigYaml` of the chart).
 * The ports, probe address and leader-election lease are the chart's own defaults
 * (charts/kueue/values.yaml at v0.19.2). Ours differ in two places:
 * - `integrations.frameworks`: only RayJob (the runs) and batch Job (the GPU conversion Jobs, so they
 *   queue for GPUs instead of taking them from an admitted run). The chart's default list also
 *   registers Pod, Deployment and StatefulSet webhooks on every namespace; we need none of them.
 * - `resources.quotaCheckStrategy: IgnoreUndeclared`: only the covered resources (GPUs, EFA) count
 *   against quota; the CPU-only Ray head and the submitter are not blocked for asking for CPU and
 *   memory the queue does not declare (apis/config/v1beta2/configuration_types.go; feature gate
 *   QuotaCheckStrategy is beta and on by default in 0.19, pkg/features/kube_features.go).
 * `manageJobsWithoutQueueName` stays false (its default): a Job or RayJob without the queue label is
 * not touched, so the model download Job and other workloads of the cluster run as before.
 * `waitForPodsReady`: see KUEUE_WAIT_FOR_PODS_READY.
 */
export function kueueManagerConfig(): Record<string, unknown> {
    return {
        apiVersion: "config.kueue.x-k8s.io/v1beta2",
        kind: "Configuration",
        health: { healthProbeBindAddress: ":8081" },
        metrics: { bindAddress: ":8443" },
        webhook: { port: 9443 },
        leaderElection: { leaderElect: true, resourceName: "c1f6bfd2.kueue.x-k8s.io" },
        manageJobsWithoutQueueName: false,
        integrations: { frameworks: ["batch/job", "ray.io/rayjob"] },
        resources: { quotaCheckStrategy: "IgnoreUndeclared" },
        waitForPodsReady: KUEUE_WAIT_FOR_PODS_READY,
    };
}

/**
 * Kueue's all-or-nothing admission (`waitForPodsReady`, apis/config/v1beta2/configuration_types.go:302-329
 * at v0.19.2): an admitted Workload whose pods are not all ready within `timeout` is evicted (its job
 * suspended, its pods deleted, its quota freed) and requeued; `recoveryTimeout` does the same for a
 * running Workload that lost a pod (a node that failed its health check or was repaired away) and
 * whose replacement does not become ready. A RayJob is "ready" when its RayCluster is Ready
 * (pkg/controller/jobs/rayjob/rayjob_controller.go:229-231), a batch Job when all its pods are
 * ready or succeeded (pkg/controller/jobs/job/job_controller.go:428-434).
 *
 * v0.19.2 enables it by default (apis/config/v1beta2/defaults.go:99-119: 30 min timeout, recovery =
 * timeout, requeue backoff 60 s doubling to 3600 s, endless requeues; pkg/util/waitforpodsready
 * Enabled: on unless the DisableWaitForPodsReady gate); we write it out so the numbers are ours:
 * - `timeout` 30m: a GPU node from zero (EC2 launch, bootstrap, the node health check of
 *   domain/health/nodeHealth.ts, minutes) plus a cold pull of the training image fit; a gang that
 *   cannot start in that time (a node kept out as unhealthy, capacity not there) gives its GPUs back.
 * - `recoveryTimeout` 15m: a run that lost a node (auto repair, an unhealthy taint) is evicted
 *   and requeued within 15 minutes, its pods save on the way out (the preStop save), instead of
 *   holding the other nodes' GPUs until a replacement appears.
 * - `blockAdmission` false: quota equals the provisioned GPUs, so admitted Workloads never overbook
 *   nodes among themselves (the deadlock blockAdmission prevents needs two partial gangs).
 * - `requeuingStrategy.backoffLimitCount` 8: after 8 evictions in a row (backoff 60 s … 3600 s,
 *   60+120+…+1920+3600+3600 s, about 3 h of backoff plus the timeouts) the Workload is deactivated (`spec.active: false`)
 *   instead of cycling forever; `kubectl patch workload … --type=merge -p '{"spec":{"active":true}}'`
 *   requeues it (site/content/en/docs/tasks/manage/setup_wait_for_pods_ready.md at v0.19.2).
 */
export const KUEUE_WAIT_FOR_PODS_READY = {
    timeout: "30m",
    recoveryTimeout: "15m",
    blockAdmission: false,
    requeuingStrategy: { timestamp: "Eviction", backoffLimitCount: 8, backoffBaseSeconds: 60, backoffMaxSeconds: 3600 },
} as const;

/** Helm values of the Kueue chart (the chart takes the manager config as a YAML string). */
export function kueueValues(): Record<string, unknown> {
    return {
        controllerManager: {
            manager: { image: { repository: IMAGES.kueue.repository, tag: IMAGES.kueue.tag, pullPolicy: "IfNotPresent" } },
        },
        managerConfig: { controllerManagerConfigYaml: stringify(kueueManagerConfig()) },
    };
}

/** The chart pin, for the plan and docs. */
export const KUEUE_CHART = CHARTS.kueue;

/** How many runs are admitted at once, in queue order (priority, then the order they are written). */
export interface Admission {
    run: string;
    gpus: number;
    priority: TrainingConfig["priority"];
    /** Flavor (node group) the run's GPUs come from. */
    flavors: string[];
    /** Admitted when the queue starts empty; false = waits for GPUs a run before it holds. */
    startsAtOnce: boolean;
}

/**
 * Which runs start at once on an empty queue: runs in Kueue's order (higher priority first, then
 * older first; here the order written), each admitted when its GPUs fit what is left of the quota
 * of its node groups. With StrictFIFO the first run that does not fit blocks every later one.
 */
export function admissions(
    runs: ReadonlyArray<{ name: string; priority: TrainingConfig["priority"]; gpusByGroup: Record<string, number> }>,
    quota: ReadonlyArray<FlavorQuota>,
    strategy: KueueConfig["queueingStrategy"],
): Admission[] {
    const left = new Map(quota.map((q) => [q.group, q.gpus]));
    const flavorOf = new Map(quota.map((q) => [q.group, q.flavor]));
    const order = runs.map((r, i) => ({ r, i })).sort((a, b) => PRIORITY_VALUES[b.r.priority] - PRIORITY_VALUES[a.r.priority] || a.i - b.i);
    let blocked = false;
    const out: Admission[] = [];
    for (const { r } of order) {
        const need = Object.entries(r.gpusByGroup);
        const fits = !blocked && need.every(([g, n]) => (left.get(g) ?? 0) >= n);
        if (fits) for (const [g, n] of need) left.set(g, (left.get(g) ?? 0) - n);
        else if (strategy === "StrictFIFO") blocked = true;
        out.push({ run: r.name, gpus: need.reduce((s, [, n]) => s + n, 0), priority: r.priority, flavors: need.map(([g]) => flavorOf.get(g) ?? g), startsAtOnce: fits });
    }
    return out;
}

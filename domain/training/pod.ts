/**
 * The parts of a run's pods: where they run (node group, tolerations), what they mount (the shared
 * claim, a memory-backed /dev/shm), their env, and the Ray head and worker pod templates. The
 * RayJob (rayJob.ts) and the preparation Jobs (prepJobs.ts) are built from them.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { GpuNodeGroupInfo } from "../gpuNodes";
import { SHARED_MOUNT_PATH } from "../../catalog/sharedPaths";
import { CA_SAFE_TO_EVICT } from "../../catalog/autoscaler";
import type { MilesCommand } from "./argv";
import type { ResolvedRun } from "./run";
import type { TrainingObservability } from "../monitoring/resolve";
import { HEAD_COMPONENT, MILES_METRICS_PORT_NAME, PART_OF, RUN_APP_NAME, WORKER_COMPONENT } from "../../catalog/runLabels";
import { CHECKPOINT_PROBE_PORT, checkpointProbeContainer } from "../monitoring/probe";
import { RAY_METRICS_PORT } from "../../catalog/observability";
import type { QueueRef } from "../kueue";
import { hardenPodSpec, RDMA_CAPABILITY } from "../security/pods";
import { preStopSave } from "./preStop";
import { LOG_VOLUMES, logShipperContainer, RAY_LOG_MOUNT, RAY_LOG_VOLUME } from "../monitoring/logs";
import { RAY_DASHBOARDS_TOKEN, rayDashboardsContainer, rayDashboardsTarget } from "../monitoring/rayDashboards";
import { RUN_RECORD_MOUNT, RUN_RECORD_VOLUME, runRecordConfigMapName, type RunPreconditions } from "./runRecord";
import { pullableImage } from "./image";

export type PodSpec = k8s.types.input.core.v1.PodSpec;
type Container = k8s.types.input.core.v1.Container;
export type EnvVarSpec = k8s.types.input.core.v1.EnvVar;

/** Where the run's Kubernetes objects go and what they mount. */
export interface TrainingContext {
    namespace: string;
    /** ReadWriteMany claim of the shared volume, mounted at SHARED_MOUNT_PATH. */
    claimName: string;
    serviceAccountName: string;
    /** Kubernetes Secret holding the run's secret values; undefined when the config has none. */
    secretName?: string;
    /** Monitoring and log shipping of the run's pods. @default none */
    observability?: TrainingObservability;
    /**
     * The EFA build's reference in the stack's ECR repository (ecrImageReference of the repository
     * URL, known at deploy); required when the run's image is the EFA build, ignored otherwise.
     */
    image?: pulumi.Input<string>;
    /**
     * The Kueue LocalQueue and priority class the run's GPU jobs (RayJob, convert Job) wait in;
     * undefined when the stack has no queue (`addons.kueue.enabled: false`).
     */
    queue?: QueueRef;
    /** Service account of the RayJob's submitter pod (no API token, no AWS role). Default: serviceAccountName. */
    submitterServiceAccountName?: string;
    /**
     * The queue may preempt the run (`addons.kueue.preemption: LowerPriority`): the head and GPU
     * workers get a preStop that makes the run save before they stop (domain/training/preStop.ts).
     * @default false
     */
    saveOnStop?: boolean;
    /**
     * ConfigMap with the run record's static part, its writer and the run's entrypoint script
     * (domain/training/runRecord.ts runRecordConfigMap); always mounted into the head, where Ray's
     * job supervisor runs the RayJob's entrypoint, `bash <mount>/entrypoint-<hash>.sh` (rayJob.ts
     * rayJobEntrypoint). MilesTrainingJob creates it; a program that builds the RayJob itself
     * creates `runRecordConfigMap(run, …)` too. @default `<run>-run-record` (runRecordConfigMapName)
     */
    runRecordConfigMap?: string;
    /**
     * What the run's entrypoint waits for before train.py (a queued run: the conversion's done file,
     * a passing fabric-gate verdict; domain/fabric/preconditions.ts runPreconditions). Part of the
     * entrypoint script, so the RayJob and the run-record ConfigMap must get the same value.
     * @default none (train.py starts at once)
     */
    preconditions?: RunPreconditions;
}

/** The image every container of the run that runs the miles image pulls (domain/training/image.ts pullableImage). */
export function runImage(r: ResolvedRun, ctx: TrainingContext): pulumi.Input<string> {
    return pullableImage(r.imageChoice, ctx.image);
}

/** The head's or a worker's spec with the save-before-stop preStop, when the context asks for it. */
function withSaveOnStop(r: ResolvedRun, ctx: TrainingContext, role: "head" | "worker", spec: PodSpec): PodSpec {
    if (!ctx.saveOnStop) return spec;
    const s = preStopSave(r.paths.saveSentinel, r.training.lifecycle.saveTimeoutMinutes, r.training.entry, role);
    const [first, ...rest] = spec.containers as Container[];
    return { ...spec, terminationGracePeriodSeconds: s.terminationGracePeriodSeconds, containers: [{ ...first, lifecycle: s.lifecycle }, ...rest] };
}

/**
 * Log shipping, Ray dashboards and run record volumes, mounts and the native sidecars of a Ray pod
 * (log shipper: every Ray pod; Ray dashboards: the head only); none when all are off.
 */
function observe(spec: PodSpec, ctx: TrainingContext, r: ResolvedRun, role: "head" | "worker"): void {
    const containers = spec.containers as Container[];
    const ray = containers[0];
    const volumes = [...((spec.volumes ?? []) as k8s.types.input.core.v1.Volume[])];
    const mounts = [...((ray.volumeMounts ?? []) as k8s.types.input.core.v1.VolumeMount[])];
    const logs = ctx.observability?.logs;
    if (logs) {
        volumes.push(...LOG_VOLUMES);
        mounts.push(RAY_LOG_MOUNT);
        spec.initContainers = [...((spec.initContainers ?? []) as Container[]), logShipperContainer(logs, r.runName)];
    }
    const dashboards = role === "head" ? ctx.observability?.rayDashboardsNamespace : undefined;
    if (dashboards !== undefined) {
        // The /tmp/ray volume the log shipper reads (the same one when logs are shipped too).
        if (!logs) {
            volumes.push(...LOG_VOLUMES.filter((v) => v.name === RAY_LOG_VOLUME));
            mounts.push(RAY_LOG_MOUNT);
        }
        volumes.push(RAY_DASHBOARDS_TOKEN);
        spec.initContainers = [...((spec.initContainers ?? []) as Container[]), rayDashboardsContainer(rayDashboardsTarget(r.runName, dashboards))];
    }
    if (role === "head") {
        // Always: the RayJob's entrypoint is a script in it (rayJob.ts rayJobEntrypoint).
        volumes.push({ name: RUN_RECORD_VOLUME, configMap: { name: ctx.runRecordConfigMap ?? runRecordConfigMapName(r.runName) } });
        mounts.push({ name: RUN_RECORD_VOLUME, mountPath: RUN_RECORD_MOUNT, readOnly: true });
    }
    containers[0] = { ...ray, volumeMounts: mounts };
    spec.containers = containers;
    spec.volumes = volumes;
}

/** /dev/shm of the head pod in GiB (it holds the head's Ray object store, half of it). */
export const HEAD_SHM_GIB = 2;

export const SHARED_VOLUME = "shared";
const SHM_VOLUME = "dshm";

export function runLabels(r: ResolvedRun, component: string): Record<string, string> {
    return {
        "app.kubernetes.io/name": RUN_APP_NAME,
        "app.kubernetes.io/instance": r.runName,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
    };
}

/** Tolerations of a pod on the group's nodes: each taint matched exactly (`Exists` for an empty value). */
export function podTolerations(g: GpuNodeGroupInfo | undefined): k8s.types.input.core.v1.Toleration[] {
    return (g?.taints ?? []).map((t) => (t.value === "" ? { key: t.key, operator: "Exists", effect: t.effect } : { key: t.key, operator: "Equal", value: t.value, effect: t.effect }));
}

export function sharedVolumes(ctx: TrainingContext, shmGiB: number): k8s.types.input.core.v1.Volume[] {
    return [
        { name: SHARED_VOLUME, persistentVolumeClaim: { claimName: ctx.claimName } },
        // Memory-backed /dev/shm sized explicitly (KubeRay would otherwise size it from the pod memory);
        // NCCL's shared-memory transport and the Ray object store live here.
        { name: SHM_VOLUME, emptyDir: { medium: "Memory", sizeLimit: `${shmGiB}Gi` } },
    ];
}

export const sharedMounts: k8s.types.input.core.v1.VolumeMount[] = [
    { name: SHARED_VOLUME, mountPath: SHARED_MOUNT_PATH },
    { name: SHM_VOLUME, mountPath: "/dev/shm" },
];

function podEnv(cmd: MilesCommand, ctx: TrainingContext, role: "head" | "worker"): EnvVarSpec[] {
    const env: EnvVarSpec[] = cmd.env.filter((e) => role === "worker" || !e.workersOnly).map((e) => ({ name: e.name, value: e.value }));
    if (ctx.secretName) for (const s of cmd.secretEnv) env.push({ name: s.name, valueFrom: { secretKeyRef: { name: ctx.secretName, key: s.secretKey } } });
    return env;
}

/**
 * The Ray head. It runs on a CPU-only pod, on the untainted system nodes: it hosts the train.py
 * driver and, with --pin-rollout-manager-to-head, the RolloutManager (1 Ray CPU), its router and
 * the dataset — none of which needs a GPU. Keeping it off the GPU nodes leaves every GPU node's
 * CPU/memory to one worker pod sized near the node's allocatable, and lets the head come up (and
 * the dashboard answer) while GPU nodes are still joining. It has no GPU toleration, so the GPU
 * taint keeps it off GPU nodes even without a selector; `resources.headNodeSelector` pins it
 * further (needed on bring-your-own clusters whose untainted nodes are not the system ones).
 */
export function headPod(r: ResolvedRun, ctx: TrainingContext): { metadata: object; spec: PodSpec } {
    const t = r.training;
    const cmd = r.command;
    const mem = `${r.head.memoryGiB}Gi`;
    const ports: k8s.types.input.core.v1.ContainerPort[] = [
        { name: "gcs-server", containerPort: 6379 },
        { name: "dashboard", containerPort: 8265 },
        { name: "client", containerPort: 10001 },
    ];
    if (r.prometheus) ports.push({ name: MILES_METRICS_PORT_NAME, containerPort: t.prometheus.port });
    const spec: PodSpec = {
        serviceAccountName: ctx.serviceAccountName,
        enableServiceLinks: false,
        containers: [
            {
                name: HEAD_COMPONENT,
                image: runImage(r, ctx),
                imagePullPolicy: t.image.pullPolicy,
                env: podEnv(cmd, ctx, "head"),
                ports,
                resources: { requests: { cpu: String(t.resources.headCpu), memory: mem }, limits: { memory: mem } },
                volumeMounts: sharedMounts,
            },
        ],
        volumes: sharedVolumes(ctx, HEAD_SHM_GIB),
    };
    if (ctx.observability?.monitoring) {
        const probe = { image: runImage(r, ctx), imagePullPolicy: t.image.pullPolicy, runName: r.runName, saveDir: r.paths.checkpointDir, saveInterval: t.checkpoints.saveInterval };
        spec.containers = [...(spec.containers as Container[]), checkpointProbeContainer(probe, sharedMounts.filter((v) => v.name === SHARED_VOLUME))];
    }
    observe(spec, ctx, r, "head");
    if (Object.keys(t.resources.headNodeSelector).length > 0) spec.nodeSelector = { ...t.resources.headNodeSelector };
    return { metadata: { labels: runLabels(r, HEAD_COMPONENT), annotations: { ...CA_SAFE_TO_EVICT } }, spec: hardenPodSpec(withSaveOnStop(r, ctx, "head", spec)) };
}

/** EFA devices each GPU worker pod requests (0 without EFA): the pods that need RDMA's IPC_LOCK. */
export function efaDevicesPerWorker(r: ResolvedRun): number {
    return r.training.network.efa ? (r.group?.efaPerNode ?? 0) : 0;
}

/**
 * One worker pod per GPU node: every GPU, every EFA device, huge pages for libfabric, CPU and
 * memory near the node's allocatable (see WORKER_CPU_HEADROOM / WORKER_MEMORY_FRACTION), memlock
 * for RDMA (IPC_LOCK). CPU has a request but no limit (no CFS throttling of the data loaders and
 * NCCL proxy threads); memory request = limit.
 */
export function workerPod(r: ResolvedRun, ctx: TrainingContext, group: GpuNodeGroupInfo | undefined = r.group): { metadata: object; spec: PodSpec } {
    const t = r.training;
    const cmd = r.command;
    const size = r.worker;
    // A run over several node groups has a worker group per node group: same pod, that group's nodes.
    const g = group;
    const efa = efaDevicesPerWorker(r);
    const limits: Record<string, string> = { memory: `${size.memoryGiB}Gi`, "nvidia.com/gpu": String(r.gpusPerNode) };
    if (efa > 0) limits["vpc.amazonaws.com/efa"] = String(efa);
    else if (g?.rdma) limits[g.rdma.resourceName] = String(g.rdma.perNode);
    if (size.hugepages2MiMi > 0) limits["hugepages-2Mi"] = `${size.hugepages2MiMi}Mi`;
    const requests: Record<string, string> = { cpu: String(size.cpu), ...limits };
    const container: Container = {
        name: WORKER_COMPONENT,
        image: runImage(r, ctx),
        imagePullPolicy: t.image.pullPolicy,
        env: podEnv(cmd, ctx, "worker"),
        resources: { requests, limits },
        volumeMounts: sharedMounts,
    };
    const spec: PodSpec = {
        serviceAccountName: ctx.serviceAccountName,
        enableServiceLinks: false,
        nodeSelector: { ...(g?.selector ?? {}) },
        tolerations: podTolerations(g),
        containers: [container],
        volumes: sharedVolumes(ctx, size.shmGiB),
    };
    observe(spec, ctx, r, "worker");
    // memlock for RDMA only where the pod really gets EFA devices; every other capability is dropped.
    return { metadata: { labels: runLabels(r, WORKER_COMPONENT), annotations: { ...CA_SAFE_TO_EVICT } }, spec: hardenPodSpec(withSaveOnStop(r, ctx, "worker", spec), { addCapabilities: efa > 0 ? [RDMA_CAPABILITY] : [], capabilityContainers: [String(container.name)] }) };
}

/**
 * The pod of the RayJob's submitter Kubernetes Job (`submitterPodTemplate`): KubeRay v1.7.0 would
 * otherwise run `ray job submit` as the namespace's `default` service account with no hardening
 * (ray-operator/controllers/ray/common/job.go GetDefaultSubmitterContainer). Same image as the head
 * (KubeRay's own default, to avoid Ray version skew), KubeRay's default resources (500m/200Mi
 * requested, 1 CPU/1 GiB limit), no command: KubeRay fills in `ray job submit` and, with token
 * authentication, the token env (rayjob_controller.go configureSubmitterContainer). Its own service
 * account, no API token, no AWS role: it only talks HTTP to the head's dashboard.
 */
export const SUBMITTER_CONTAINER = "ray-job-submitter";
export function submitterPod(r: ResolvedRun, ctx: TrainingContext): { metadata: object; spec: PodSpec } {
    const spec: PodSpec = {
        serviceAccountName: ctx.submitterServiceAccountName ?? ctx.serviceAccountName,
        restartPolicy: "Never",
        containers: [
            {
                name: SUBMITTER_CONTAINER,
                image: runImage(r, ctx),
                imagePullPolicy: r.training.image.pullPolicy,
                resources: { requests: { cpu: "500m", memory: "200Mi" }, limits: { cpu: "1", memory: "1Gi" } },
            },
        ],
    };
    if (Object.keys(r.training.resources.headNodeSelector).length > 0) spec.nodeSelector = { ...r.training.resources.headNodeSelector };
    return { metadata: { labels: runLabels(r, "ray-submitter") }, spec: hardenPodSpec(spec) };
}

/** Name of the submitter's own service account. */
export function submitterServiceAccountName(r: ResolvedRun): string {
    return `${r.runName}-submitter`;
}

/**
 * The ports Prometheus scrapes on a run's pods, which the run's NetworkPolicy opens to the metrics
 * namespaces: Ray's `metrics` (KubeRay adds it to every Ray container), miles' exporter on the head
 * when `--use-prometheus` is on, the head's checkpoint probe with the monitoring stack — the
 * conditions the head template adds those ports under.
 */
export function runMetricsPorts(r: ResolvedRun, ctx: Pick<TrainingContext, "observability">): number[] {
    return [RAY_METRICS_PORT.port, ...(r.prometheus ? [r.training.prometheus.port] : []), ...(ctx.observability?.monitoring ? [CHECKPOINT_PROBE_PORT] : [])];
}

/** Labels every pod of a run carries (head, workers, submitter, preparation Jobs): the NetworkPolicy selector. */
export function runSelector(r: ResolvedRun): Record<string, string> {
    const l = runLabels(r, "");
    return { "app.kubernetes.io/name": l["app.kubernetes.io/name"], "app.kubernetes.io/instance": l["app.kubernetes.io/instance"] };
}

/**
 * The Kubernetes objects of a training run, as plain manifests (pure functions, no Pulumi
 * resources): the KubeRay RayJob, and the two preparation Jobs (download the HF checkpoint and
 * dataset; convert to torch_dist and the FP8/INT4 rollout variants). components/trainingJob.ts and
 * components/modelPrep.ts register them; tests validate them against the KubeRay CRD schema and
 * kubernetes-models.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { MilesConfig } from "../config";
import type { GpuNodeGroupInfo } from "../components/contracts";
import { SHARED_MOUNT_PATH } from "./layout";
import { MEGATRON_ROOT, MILES_ROOT, SECRET_KEYS, milesCommand, shellQuote, type MilesCommand } from "./milesArgv";
import { archArgsWithoutMtp, resolveTraining, workerSizing, type ResolvedTraining, type WorkerSizing } from "./trainingResolve";

type PodSpec = k8s.types.input.core.v1.PodSpec;
type Container = k8s.types.input.core.v1.Container;
type EnvVarSpec = k8s.types.input.core.v1.EnvVar;

/** Where the run's Kubernetes objects go and what they mount. */
export interface TrainingContext {
    namespace: string;
    /** ReadWriteMany claim of the shared volume, mounted at SHARED_MOUNT_PATH. */
    claimName: string;
    serviceAccountName: string;
    /** Kubernetes Secret holding the run's secret values; undefined when the config has none. */
    secretName?: string;
}

/** /dev/shm of the head pod in GiB (it holds the head's Ray object store, half of it). */
export const HEAD_SHM_GIB = 2;
/** Marker the download job writes into a directory once a snapshot is complete. */
export const DOWNLOAD_MARKER = ".miles-cluster-download-complete";
/** Marker the convert job writes into a rollout-variant directory once it is complete. */
export const CONVERT_MARKER = ".miles-cluster-convert-complete";

const SHARED_VOLUME = "shared";
const SHM_VOLUME = "dshm";

export function runLabels(r: ResolvedTraining, component: string): Record<string, string> {
    return {
        "app.kubernetes.io/name": "miles",
        "app.kubernetes.io/instance": r.runName,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "miles-cluster",
    };
}

function tolerationsFor(g: GpuNodeGroupInfo | undefined): k8s.types.input.core.v1.Toleration[] {
    return (g?.taints ?? []).map((t) => (t.value === "" ? { key: t.key, operator: "Exists", effect: t.effect } : { key: t.key, operator: "Equal", value: t.value, effect: t.effect }));
}

function sharedVolumes(ctx: TrainingContext, shmGiB: number): k8s.types.input.core.v1.Volume[] {
    return [
        { name: SHARED_VOLUME, persistentVolumeClaim: { claimName: ctx.claimName } },
        // Memory-backed /dev/shm sized explicitly (KubeRay would otherwise size it from the pod memory);
        // NCCL's shared-memory transport and the Ray object store live here.
        { name: SHM_VOLUME, emptyDir: { medium: "Memory", sizeLimit: `${shmGiB}Gi` } },
    ];
}

const sharedMounts: k8s.types.input.core.v1.VolumeMount[] = [
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
function headPod(t: MilesConfig["training"], r: ResolvedTraining, cmd: MilesCommand, ctx: TrainingContext): { metadata: object; spec: PodSpec } {
    const mem = `${t.resources.headMemoryGiB}Gi`;
    const ports: k8s.types.input.core.v1.ContainerPort[] = [
        { name: "gcs-server", containerPort: 6379 },
        { name: "dashboard", containerPort: 8265 },
        { name: "client", containerPort: 10001 },
    ];
    if (t.prometheus.enabled) ports.push({ name: "miles-metrics", containerPort: t.prometheus.port });
    const spec: PodSpec = {
        serviceAccountName: ctx.serviceAccountName,
        enableServiceLinks: false,
        containers: [
            {
                name: "ray-head",
                image: r.image,
                imagePullPolicy: t.image.pullPolicy,
                env: podEnv(cmd, ctx, "head"),
                ports,
                resources: { requests: { cpu: String(t.resources.headCpu), memory: mem }, limits: { memory: mem } },
                volumeMounts: sharedMounts,
            },
        ],
        volumes: sharedVolumes(ctx, HEAD_SHM_GIB),
    };
    if (Object.keys(t.resources.headNodeSelector).length > 0) spec.nodeSelector = { ...t.resources.headNodeSelector };
    return { metadata: { labels: runLabels(r, "ray-head") }, spec };
}

/**
 * One worker pod per GPU node: every GPU, every EFA device, huge pages for libfabric, CPU and
 * memory near the node's allocatable (see WORKER_CPU_HEADROOM / WORKER_MEMORY_FRACTION), memlock
 * for RDMA (IPC_LOCK). CPU has a request but no limit (no CFS throttling of the data loaders and
 * NCCL proxy threads); memory request = limit.
 */
function workerPod(t: MilesConfig["training"], r: ResolvedTraining, size: WorkerSizing, cmd: MilesCommand, ctx: TrainingContext): { metadata: object; spec: PodSpec } {
    const g = r.group;
    const efa = t.network.efa ? (g?.efaPerNode ?? 0) : 0;
    const limits: Record<string, string> = { memory: `${size.memoryGiB}Gi`, "nvidia.com/gpu": String(r.gpusPerNode) };
    if (efa > 0) limits["vpc.amazonaws.com/efa"] = String(efa);
    if (size.hugepages2MiMi > 0) limits["hugepages-2Mi"] = `${size.hugepages2MiMi}Mi`;
    const requests: Record<string, string> = { cpu: String(size.cpu), ...limits };
    const container: Container = {
        name: "ray-worker",
        image: r.image,
        imagePullPolicy: t.image.pullPolicy,
        env: podEnv(cmd, ctx, "worker"),
        resources: { requests, limits },
        securityContext: { capabilities: { add: ["IPC_LOCK"] } },
        volumeMounts: sharedMounts,
    };
    const spec: PodSpec = {
        serviceAccountName: ctx.serviceAccountName,
        enableServiceLinks: false,
        nodeSelector: { ...(g?.selector ?? {}) },
        tolerations: tolerationsFor(g),
        containers: [container],
        volumes: sharedVolumes(ctx, size.shmGiB),
    };
    return { metadata: { labels: runLabels(r, "ray-worker") }, spec };
}

export interface RayJobManifest {
    apiVersion: "ray.io/v1";
    kind: "RayJob";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: Record<string, unknown>;
}

/** The KubeRay RayJob of a run. */
export function rayJobManifest(cfg: MilesConfig, ctx: TrainingContext, r: ResolvedTraining = resolveTraining(cfg)): RayJobManifest {
    const t = cfg.training;
    const cmd = milesCommand(cfg, r);
    const size = workerSizing(t, r.group);
    const lc = t.lifecycle;
    const GiB = 1024 ** 3;
    const rayClusterSpec: Record<string, unknown> = {
        enableInTreeAutoscaling: false,
        headGroupSpec: {
            serviceType: "ClusterIP",
            // The object store is kept inside the head's /dev/shm (half of it); Ray's default (30% of the pod memory) would not fit and fall back to disk.
            rayStartParams: { "dashboard-host": "0.0.0.0", "num-cpus": String(t.resources.headCpu), "num-gpus": "0", "object-store-memory": String((HEAD_SHM_GIB / 2) * GiB) },
            template: headPod(t, r, cmd, ctx),
        },
        workerGroupSpecs: [
            {
                groupName: "gpu",
                replicas: r.nodesNeeded,
                minReplicas: r.nodesNeeded,
                maxReplicas: r.nodesNeeded,
                rayStartParams: {
                    // Ray CPUs ≥ GPUs: miles' placement group asks 1 CPU + 1 GPU per bundle.
                    "num-cpus": String(size.cpu),
                    "num-gpus": String(r.gpusPerNode),
                    // Inside /dev/shm (half of it), so Ray never falls back to a disk-backed store.
                    "object-store-memory": String(size.objectStoreGiB * GiB),
                },
                template: workerPod(t, r, size, cmd, ctx),
            },
        ],
    };
    if (t.image.rayVersion) rayClusterSpec.rayVersion = t.image.rayVersion;
    const spec: Record<string, unknown> = {
        entrypoint: cmd.entrypoint,
        submissionMode: "K8sJobMode",
        // Each retry is a new Ray cluster; --load = --save makes it resume from the last checkpoint.
        backoffLimit: lc.backoffLimit,
        shutdownAfterJobFinishes: lc.shutdownAfterJobFinishes,
        ttlSecondsAfterFinished: lc.ttlSecondsAfterFinished,
        preRunningDeadlineSeconds: lc.preRunningDeadlineSeconds,
        submitterConfig: { backoffLimit: lc.submitterBackoffLimit },
        rayClusterSpec,
    };
    if (lc.activeDeadlineSeconds !== undefined) spec.activeDeadlineSeconds = lc.activeDeadlineSeconds;
    // Always explicit, so that resuming (true -> false) is an in-place change KubeRay acts on.
    spec.suspend = lc.suspend;
    return { apiVersion: "ray.io/v1", kind: "RayJob", metadata: { name: r.runName, namespace: ctx.namespace, labels: runLabels(r, "rayjob") }, spec };
}

/**
 * RayJob spec fields whose change must recreate the job: KubeRay ignores spec changes to a running
 * RayJob, so a changed run is deleted and created again (resuming from the last checkpoint). Every
 * field this module sets is here except `suspend`, which KubeRay applies in place (pause / resume).
 */
export const RAYJOB_REPLACE_ON_CHANGES: readonly string[] = [
    "entrypoint",
    "submissionMode",
    "backoffLimit",
    "shutdownAfterJobFinishes",
    "ttlSecondsAfterFinished",
    "preRunningDeadlineSeconds",
    "activeDeadlineSeconds",
    "submitterConfig",
    "rayClusterSpec",
].map((f) => `spec.${f}`);

// ---------------------------------------------------------------------------------------------
// Preparation Jobs
// ---------------------------------------------------------------------------------------------

export interface JobManifest {
    apiVersion: "batch/v1";
    kind: "Job";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: k8s.types.input.batch.v1.JobSpec & { template: { metadata: object; spec: PodSpec } };
}

/** A repo to fetch with huggingface_hub into a directory of the shared volume. */
interface Download {
    repo: string;
    dir: string;
    type: "model" | "dataset";
}

function downloads(r: ResolvedTraining, t: MilesConfig["training"]): Download[] {
    const out: Download[] = [];
    if (r.model.hfRepo && r.paths.hfDownload) out.push({ repo: r.model.hfRepo, dir: r.paths.hfDownload, type: "model" });
    if (t.data.hfDataset && r.paths.datasetDir) out.push({ repo: t.data.hfDataset, dir: r.paths.datasetDir, type: "dataset" });
    return out;
}

/** Whether the run has anything to download. */
export function hasDownloads(cfg: MilesConfig, r: ResolvedTraining = resolveTraining(cfg)): boolean {
    return cfg.training.modelPrep.download && downloads(r, cfg.training).length > 0;
}

/**
 * Shell script of the download Job. Idempotent: a directory with the marker file is skipped;
 * `snapshot_download` itself resumes partial downloads. The token comes from HF_TOKEN (optional).
 */
export function downloadScript(cfg: MilesConfig, r: ResolvedTraining = resolveTraining(cfg)): string {
    const lines = [
        "set -euo pipefail",
        "fetch() {",
        '  repo="$1"; dir="$2"; kind="$3"',
        `  if [ -f "$dir/${DOWNLOAD_MARKER}" ]; then echo "skip $repo: $dir is complete"; return 0; fi`,
        '  mkdir -p "$dir"',
        '  echo "downloading $kind $repo to $dir"',
        "  python3 -c 'import sys; from huggingface_hub import snapshot_download; snapshot_download(repo_id=sys.argv[1], local_dir=sys.argv[2], repo_type=sys.argv[3])' \"$repo\" \"$dir\" \"$kind\"",
        `  touch "$dir/${DOWNLOAD_MARKER}"`,
        "}",
        ...downloads(r, cfg.training).map((d) => `fetch ${shellQuote(d.repo)} ${shellQuote(d.dir)} ${d.type}`),
    ];
    return lines.join("\n");
}

/** Whether the run has anything to convert. */
export function hasConversions(cfg: MilesConfig, r: ResolvedTraining = resolveTraining(cfg)): boolean {
    return cfg.training.modelPrep.convert && conversionSteps(cfg, r).length > 0;
}

function conversionSteps(cfg: MilesConfig, r: ResolvedTraining): string[] {
    const t = cfg.training;
    const p = r.paths;
    const steps: string[] = [];
    if (!p.hfDownload || !p.hfBf16) return steps;
    const q = shellQuote;
    if (t.model.hfCheckpointIsFp8) {
        steps.push(
            // Node 0 casts; the other nodes of a multi-node conversion wait for its marker.
            `if [ "$NODE_RANK" != 0 ]; then until [ -f ${q(p.hfBf16)}/${CONVERT_MARKER} ]; do echo "waiting for node 0 to cast FP8 to BF16"; sleep 30; done; fi`,
            `if [ -f ${q(p.hfBf16)}/${CONVERT_MARKER} ]; then echo "skip FP8->BF16 cast: done"; else`,
            `  python3 tools/fp8_cast_bf16.py --input-fp8-hf-path ${q(p.hfDownload)} --output-bf16-hf-path ${q(p.hfBf16)}`,
            // The cast writes weights only; copy config and tokenizer files and drop the FP8 quantization config.
            `  for f in ${q(p.hfDownload)}/*; do case "$f" in *.safetensors|*.safetensors.index.json) ;; *) [ -f "$f" ] && cp -n "$f" ${q(p.hfBf16)}/ ;; esac; done`,
            `  python3 -c 'import json,sys; p=sys.argv[1]+"/config.json"; c=json.load(open(p)); c.pop("quantization_config", None); json.dump(c, open(p, "w"), indent=2)' ${q(p.hfBf16)}`,
            `  touch ${q(p.hfBf16)}/${CONVERT_MARKER}`,
            "fi",
        );
    }
    if (p.refLoad && t.model.megatronToHfMode === "raw" && p.refLoad !== p.hfBf16) {
        const arch = archArgsWithoutMtp(r.model).map(q).join(" ");
        const mtp = r.model.mtpLayers > 0 ? ` --mtp-num-layers ${r.model.mtpLayers}` : "";
        steps.push(
            `if grep -qx release ${q(p.refLoad)}/latest_checkpointed_iteration.txt 2>/dev/null; then echo "skip torch_dist conversion: ${p.refLoad} says release"; else`,
            `  torchrun ${torchrunLayout(r, convertServiceName(r))} tools/convert_hf_to_torch_dist.py ${arch}${mtp} ${convertParallelismArgs(t, r).join(" ")} --hf-checkpoint ${q(p.hfBf16)} --save ${q(p.refLoad)}`,
            "fi",
        );
    }
    const rollout = p.rolloutCheckpoint;
    if (rollout && rollout !== p.hfBf16 && (t.features.fp8Rollout || t.features.int4Qat.enabled)) {
        // Unsure of the converters' full option sets: only the options miles-launch.md §5 lists are used.
        const convert = t.features.fp8Rollout
            ? `python3 tools/convert_hf_to_fp8.py --model-dir ${q(p.hfBf16)} --save-dir ${q(rollout)} --strategy block`
            : `python3 tools/convert_hf_to_int4_direct.py --model-dir ${q(p.hfBf16)} --save-dir ${q(rollout)} --group-size ${t.features.int4Qat.groupSize}`;
        // Skipped when done, or when the directory already holds a checkpoint (e.g. FP8 release weights).
        steps.push(
            // Node 0 only (the other nodes of a multi-node conversion are done after torchrun).
            `if [ "$NODE_RANK" != 0 ]; then :; elif [ -f ${q(rollout)}/${CONVERT_MARKER} ] || [ -f ${q(rollout)}/config.json ]; then echo "skip rollout checkpoint: ${rollout} exists"; else`,
            `  ${convert}`,
            `  touch ${q(rollout)}/${CONVERT_MARKER}`,
            "fi",
        );
    }
    return steps;
}

/**
 * Nodes of the torch_dist conversion: the actor's. The converter loads the whole model onto the
 * GPUs (BF16 weights, no optimizer), so the layout that trains the model always holds it, while one
 * node may not (DeepSeek-V3: 1.34 TB of BF16 weights vs 8 × 141 GB on a p5en).
 */
export function convertNodes(r: ResolvedTraining): number {
    return r.actorNodes;
}

/** Master port of the multi-node conversion's torchrun rendezvous. */
export const CONVERT_MASTER_PORT = 29500;

/** Headless Service giving the convert pods stable DNS names (`<job>-<index>.<service>`); same name as the Job. */
export function convertServiceName(r: ResolvedTraining): string {
    return `${r.runName}-convert`;
}

/**
 * torchrun's layout: one process per actor GPU; on several nodes, node rank = the Indexed Job's
 * completion index and the rendezvous on pod 0 (`<job>-0.<service>`).
 */
function torchrunLayout(r: ResolvedTraining, service: string): string {
    const n = convertNodes(r);
    const perNode = `--nproc-per-node ${r.actorGpusPerNode}`;
    if (n === 1) return perNode;
    return `${perNode} --nnodes ${n} --node-rank "$NODE_RANK" --master-addr ${service}-0.${service} --master-port ${CONVERT_MASTER_PORT}`;
}

/**
 * The run's own Megatron parallelism for the converter (world size = actor GPUs, as in training), so
 * the model is split exactly as in training. Sequence parallelism is passed because Megatron refuses
 * EP > 1 with TP > 1 without it; CP only changes the data-parallel size and is left at 1.
 */
function convertParallelismArgs(t: MilesConfig["training"], r: ResolvedTraining): string[] {
    const p = t.parallelism;
    return [
        "--tensor-model-parallel-size", String(r.tp),
        "--pipeline-model-parallel-size", String(r.pp),
        "--expert-model-parallel-size", String(r.ep),
        "--expert-tensor-parallel-size", String(r.etp),
        ...(p.sequenceParallel && r.tp > 1 ? ["--sequence-parallel"] : []),
        ...(p.decoderFirstPipelineNumLayers !== undefined ? ["--decoder-first-pipeline-num-layers", String(p.decoderFirstPipelineNumLayers)] : []),
        ...(p.decoderLastPipelineNumLayers !== undefined ? ["--decoder-last-pipeline-num-layers", String(p.decoderLastPipelineNumLayers)] : []),
    ];
}

/**
 * Shell script of the convert Job: FP8→BF16 cast (when the download is FP8; node 0 only), HF→
 * torch_dist with torchrun on the actor's GPUs and parallelism (skipped when
 * latest_checkpointed_iteration.txt says release, which the converter writes last), then the FP8 or
 * INT4 rollout checkpoint (node 0 only). `CONVERT_KEEP_PP1` stops the converter from replacing PP 1
 * with PP = world size, which would not divide the world with TP > 1.
 */
export function convertScript(cfg: MilesConfig, r: ResolvedTraining = resolveTraining(cfg)): string {
    return [
        "set -euo pipefail",
        `cd ${MILES_ROOT}`,
        `export PYTHONPATH=${MILES_ROOT}:${MEGATRON_ROOT}`,
        "export CONVERT_KEEP_PP1=1",
        'NODE_RANK="${JOB_COMPLETION_INDEX:-0}"',
        ...conversionSteps(cfg, r),
    ].join("\n");
}

function jobManifest(name: string, component: string, r: ResolvedTraining, ctx: TrainingContext, pod: PodSpec, backoffLimit: number): JobManifest {
    return {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name, namespace: ctx.namespace, labels: runLabels(r, component) },
        spec: { backoffLimit, template: { metadata: { labels: runLabels(r, component) }, spec: pod } },
    };
}

/**
 * The download Job. It runs on a node of the run's GPU group (tolerating its taint, requesting no
 * GPU): those nodes have the network bandwidth, and pulling the miles image there warms the cache
 * for the convert Job and the Ray workers that follow.
 */
export function downloadJobManifest(cfg: MilesConfig, ctx: TrainingContext, r: ResolvedTraining = resolveTraining(cfg)): JobManifest {
    const t = cfg.training;
    const env: EnvVarSpec[] = [{ name: "HF_HUB_DISABLE_PROGRESS_BARS", value: "1" }];
    if (ctx.secretName && t.hfToken) env.push({ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: ctx.secretName, key: SECRET_KEYS.hfToken } } });
    const pod: PodSpec = {
        restartPolicy: "OnFailure",
        serviceAccountName: ctx.serviceAccountName,
        enableServiceLinks: false,
        nodeSelector: { ...(r.group?.selector ?? {}) },
        tolerations: tolerationsFor(r.group),
        containers: [
            {
                name: "download",
                image: r.image,
                imagePullPolicy: t.image.pullPolicy,
                command: ["bash", "-c", downloadScript(cfg, r)],
                env,
                resources: { requests: { cpu: "4", memory: "16Gi" }, limits: { memory: "16Gi" } },
                volumeMounts: [{ name: SHARED_VOLUME, mountPath: SHARED_MOUNT_PATH }],
            },
        ],
        volumes: [{ name: SHARED_VOLUME, persistentVolumeClaim: { claimName: ctx.claimName } }],
    };
    return jobManifest(`${r.runName}-download`, "download", r, ctx, pod, 4);
}

/**
 * The convert Job: one pod per actor node, each with the actor's GPUs of one node of the run's
 * group. On several nodes it is an Indexed Job (completion index = node rank) whose pods all run at
 * once and find pod 0 through the headless Service of `convertServiceManifest`.
 */
export function convertJobManifest(cfg: MilesConfig, ctx: TrainingContext, r: ResolvedTraining = resolveTraining(cfg)): JobManifest {
    const t = cfg.training;
    const size = workerSizing(t, r.group);
    const mem = `${size.memoryGiB}Gi`;
    const gpus = String(r.actorGpusPerNode);
    const nodes = convertNodes(r);
    const pod: PodSpec = {
        restartPolicy: "OnFailure",
        serviceAccountName: ctx.serviceAccountName,
        enableServiceLinks: false,
        ...(nodes > 1 ? { subdomain: convertServiceName(r) } : {}),
        nodeSelector: { ...(r.group?.selector ?? {}) },
        tolerations: tolerationsFor(r.group),
        containers: [
            {
                name: "convert",
                image: r.image,
                imagePullPolicy: t.image.pullPolicy,
                command: ["bash", "-c", convertScript(cfg, r)],
                env: [
                    { name: "PYTHONUNBUFFERED", value: "1" },
                    { name: "CUDA_DEVICE_MAX_CONNECTIONS", value: "1" },
                ],
                resources: { requests: { cpu: String(size.cpu), memory: mem, "nvidia.com/gpu": gpus }, limits: { memory: mem, "nvidia.com/gpu": gpus } },
                volumeMounts: sharedMounts,
                ...(nodes > 1 ? { ports: [{ name: "torchrun", containerPort: CONVERT_MASTER_PORT }] } : {}),
            },
        ],
        volumes: sharedVolumes(ctx, size.shmGiB),
    };
    const job = jobManifest(`${r.runName}-convert`, "convert", r, ctx, pod, 2);
    if (nodes > 1) Object.assign(job.spec, { completionMode: "Indexed", completions: nodes, parallelism: nodes });
    return job;
}

export interface ServiceManifest {
    apiVersion: "v1";
    kind: "Service";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: k8s.types.input.core.v1.ServiceSpec;
}

/**
 * Headless Service of a multi-node convert Job (undefined for one node): DNS records for its pods
 * even before they are ready, so the other nodes reach torchrun's rendezvous on pod 0.
 */
export function convertServiceManifest(cfg: MilesConfig, ctx: TrainingContext, r: ResolvedTraining = resolveTraining(cfg)): ServiceManifest | undefined {
    if (convertNodes(r) <= 1) return undefined;
    const labels = runLabels(r, "convert");
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: convertServiceName(r), namespace: ctx.namespace, labels },
        spec: { clusterIP: "None", publishNotReadyAddresses: true, selector: labels, ports: [{ name: "torchrun", port: CONVERT_MASTER_PORT, targetPort: CONVERT_MASTER_PORT }] },
    };
}

/** The secret values of the run (Secret key → value); empty when it has none. */
export function secretValues(cfg: MilesConfig): Record<string, string> {
    const t = cfg.training;
    const out: Record<string, string> = {};
    if (t.wandb.enabled && t.wandb.apiKey) out[SECRET_KEYS.wandbApiKey] = t.wandb.apiKey;
    if (t.hfToken) out[SECRET_KEYS.hfToken] = t.hfToken;
    return out;
}

export interface SecretManifest {
    apiVersion: "v1";
    kind: "Secret";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    type: "Opaque";
    stringData: Record<string, string>;
}

/** Name of the run's Secret. */
export function secretName(r: ResolvedTraining): string {
    return `${r.runName}-secrets`;
}

/** The run's Secret (plaintext values: the component wraps `stringData` in pulumi.secret); undefined when there is nothing secret. */
export function secretManifest(cfg: MilesConfig, namespace: string, r: ResolvedTraining = resolveTraining(cfg)): SecretManifest | undefined {
    const values = secretValues(cfg);
    if (Object.keys(values).length === 0) return undefined;
    return { apiVersion: "v1", kind: "Secret", metadata: { name: secretName(r), namespace, labels: runLabels(r, "secrets") }, type: "Opaque", stringData: values };
}

/** Commands to follow a run (stack outputs and docs). */
export function followCommands(r: ResolvedTraining, namespace: string): Record<string, string> {
    const ns = `-n ${namespace}`;
    return {
        status: `kubectl ${ns} get rayjob ${r.runName} -w`,
        logs: `kubectl ${ns} logs -f job/${r.runName}`,
        pods: `kubectl ${ns} get pods -l app.kubernetes.io/instance=${r.runName} -o wide`,
        dashboard: `kubectl ${ns} port-forward svc/$(kubectl ${ns} get rayjob ${r.runName} -o jsonpath='{.status.rayClusterName}')-head-svc 8265:8265`,
    };
}

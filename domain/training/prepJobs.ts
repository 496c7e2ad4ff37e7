/**
 * The preparation Jobs of a run, as plain manifests: download the Hugging Face checkpoint and
 * dataset to the shared volume, then convert to torch_dist and the FP8/INT4 rollout variants. Both
 * are idempotent (finished steps are detected on the volume and skipped).
 */
import { createHash } from "node:crypto";
import type * as k8s from "@pulumi/kubernetes";
import { SHARED_MOUNT_PATH } from "../../catalog/sharedPaths";
import { hardenPodSpec } from "../security/pods";
import { MEGATRON_ROOT, MILES_ROOT, SECRET_KEYS, shellQuote } from "./argv";
import type { TrainingConfig } from "../../config";
import { archArgsWithoutMtp } from "./resolve";
import type { ResolvedRun } from "./run";
import { queuedJob } from "../kueue";
import { podTolerations, runImage, runLabels, SHARED_VOLUME, sharedMounts, sharedVolumes, type EnvVarSpec, type PodSpec, type TrainingContext } from "./pod";

/** Marker the download job writes into a directory once a snapshot is complete. */
export const DOWNLOAD_MARKER = ".miles-cluster-download-complete";
/** Marker the convert job writes into a rollout-variant directory once it is complete. */
export const CONVERT_MARKER = ".miles-cluster-convert-complete";

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

function downloads(r: ResolvedRun, t: TrainingConfig): Download[] {
    const out: Download[] = [];
    if (r.model.hfRepo && r.paths.hfDownload) out.push({ repo: r.model.hfRepo, dir: r.paths.hfDownload, type: "model" });
    if (t.data.hfDataset && r.paths.datasetDir) out.push({ repo: t.data.hfDataset, dir: r.paths.datasetDir, type: "dataset" });
    return out;
}

/** Directories the run's preparation Jobs write (downloads, BF16 cast, torch_dist, rollout variant): runs sharing one must not prepare it at once. */
export function prepDirectories(r: ResolvedRun): string[] {
    const p = r.paths;
    const dirs: string[] = [];
    if (hasDownloads(r)) dirs.push(...downloads(r, r.training).map((d) => d.dir));
    if (hasConversions(r)) for (const d of [p.hfBf16, p.refLoad, p.rolloutCheckpoint]) if (d && d !== p.hfDownload) dirs.push(d);
    return [...new Set(dirs)];
}

/** Whether the run has anything to download. */
export function hasDownloads(r: ResolvedRun): boolean {
    return r.training.modelPrep.download && downloads(r, r.training).length > 0;
}

/**
 * Shell script of the download Job. Idempotent: a directory with the marker file is skipped;
 * `snapshot_download` itself resumes partial downloads. The token comes from HF_TOKEN (optional).
 */
export function downloadScript(r: ResolvedRun): string {
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
        ...downloads(r, r.training).map((d) => `fetch ${shellQuote(d.repo)} ${shellQuote(d.dir)} ${d.type}`),
    ];
    return lines.join("\n");
}

/** Whether the run has anything to convert. */
export function hasConversions(r: ResolvedRun): boolean {
    return r.training.modelPrep.convert && conversionSteps(r).length > 0;
}

function conversionSteps(r: ResolvedRun): string[] {
    const t = r.training;
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
export function convertNodes(r: ResolvedRun): number {
    return r.actorNodes;
}

/** Master port of the multi-node conversion's torchrun rendezvous. */
export const CONVERT_MASTER_PORT = 29500;

/** The convert Job's name. */
export function convertJobName(r: ResolvedRun): string {
    return `${r.runName}-convert`;
}

/** Headless Service giving the convert pods stable DNS names (`<job>-<index>.<service>`); same name as the Job. */
export function convertServiceName(r: ResolvedRun): string {
    return `${r.runName}-convert`;
}

/**
 * torchrun's layout: one process per actor GPU; on several nodes, node rank = the Indexed Job's
 * completion index and the rendezvous on pod 0 (`<job>-0.<service>`).
 */
function torchrunLayout(r: ResolvedRun, service: string): string {
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
function convertParallelismArgs(t: TrainingConfig, r: ResolvedRun): string[] {
    const p = t.parallelism;
    return [
        "--tensor-model-parallel-size", String(r.tp),
        "--pipeline-model-parallel-size", String(r.pp),
        "--expert-model-parallel-size", String(r.ep),
        "--expert-tensor-parallel-size", String(r.etp),
        ...(r.effective.sequenceParallel && r.tp > 1 ? ["--sequence-parallel"] : []),
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
export function convertScript(r: ResolvedRun): string {
    const done = r.paths.convertDone;
    return [
        "set -euo pipefail",
        `cd ${MILES_ROOT}`,
        `export PYTHONPATH=${MILES_ROOT}:${MEGATRON_ROOT}`,
        "export CONVERT_KEEP_PP1=1",
        'NODE_RANK="${JOB_COMPLETION_INDEX:-0}"',
        ...conversionSteps(r),
        // Last, on node 0 (the other nodes' part ends with torchrun, which node 0 waits for): the done
        // file the run's entrypoint waits for (runRecord.ts), holding this conversion's hash so a file
        // left by another conversion does not count. `set -e` above: only after every step succeeded.
        `if [ "$NODE_RANK" = 0 ]; then mkdir -p ${shellQuote(dirOf(done))} && echo ${conversionHash(r)} > ${shellQuote(done)}.tmp && mv ${shellQuote(done)}.tmp ${shellQuote(done)}; fi`,
    ].join("\n");
}

function dirOf(p: string): string {
    return p.slice(0, p.lastIndexOf("/"));
}

/** A short hash of the conversion's steps: what the done file holds and the run's entrypoint expects. */
export function conversionHash(r: ResolvedRun): string {
    return createHash("sha256").update(conversionSteps(r).join("\n")).digest("hex").slice(0, 16);
}

function jobManifest(name: string, component: string, r: ResolvedRun, ctx: TrainingContext, pod: PodSpec, backoffLimit: number): JobManifest {
    return {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name, namespace: ctx.namespace, labels: runLabels(r, component) },
        // Hardened like every pod of the run; the Jobs need no Kubernetes API and no RDMA.
        spec: { backoffLimit, template: { metadata: { labels: runLabels(r, component) }, spec: hardenPodSpec(pod) } },
    };
}

/**
 * The download Job. It runs on a node of the run's GPU group (tolerating its taint, requesting no
 * GPU): those nodes have the network bandwidth, and pulling the miles image there warms the cache
 * for the convert Job and the Ray workers that follow.
 */
export function downloadJobManifest(r: ResolvedRun, ctx: TrainingContext): JobManifest {
    const t = r.training;
    const env: EnvVarSpec[] = [{ name: "HF_HUB_DISABLE_PROGRESS_BARS", value: "1" }];
    if (ctx.secretName && t.hfToken) env.push({ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: ctx.secretName, key: SECRET_KEYS.hfToken } } });
    const pod: PodSpec = {
        restartPolicy: "OnFailure",
        serviceAccountName: ctx.serviceAccountName,
        enableServiceLinks: false,
        nodeSelector: { ...(r.group?.selector ?? {}) },
        tolerations: podTolerations(r.group),
        containers: [
            {
                name: "download",
                image: runImage(r, ctx),
                imagePullPolicy: t.image.pullPolicy,
                command: ["bash", "-c", downloadScript(r)],
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
export function convertJobManifest(r: ResolvedRun, ctx: TrainingContext): JobManifest {
    const t = r.training;
    const size = r.worker;
    const mem = `${size.memoryGiB}Gi`;
    const gpus = String(r.actorGpusPerNode);
    const nodes = convertNodes(r);
    const pod: PodSpec = {
        restartPolicy: "OnFailure",
        serviceAccountName: ctx.serviceAccountName,
        enableServiceLinks: false,
        ...(nodes > 1 ? { subdomain: convertServiceName(r) } : {}),
        nodeSelector: { ...(r.group?.selector ?? {}) },
        tolerations: podTolerations(r.group),
        containers: [
            {
                name: "convert",
                image: runImage(r, ctx),
                imagePullPolicy: t.image.pullPolicy,
                command: ["bash", "-c", convertScript(r)],
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
    const job = jobManifest(convertJobName(r), "convert", r, ctx, pod, 2);
    if (nodes > 1) Object.assign(job.spec, { completionMode: "Indexed", completions: nodes, parallelism: nodes });
    // The conversion takes GPUs too: it waits in the run's queue (created suspended, admitted
    // whole by Kueue) instead of taking GPUs an admitted run was promised.
    return ctx.queue ? queuedJob(job, ctx.queue) : job;
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
export function convertServiceManifest(r: ResolvedRun, ctx: TrainingContext): ServiceManifest | undefined {
    if (convertNodes(r) <= 1) return undefined;
    const labels = runLabels(r, "convert");
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: convertServiceName(r), namespace: ctx.namespace, labels },
        spec: { clusterIP: "None", publishNotReadyAddresses: true, selector: labels, ports: [{ name: "torchrun", port: CONVERT_MASTER_PORT, targetPort: CONVERT_MASTER_PORT }] },
    };
}

/**
 * The KubeRay RayJob of a run (`ray.io/v1`): a CPU-only head on the system nodes and one GPU worker
 * pod per node, the miles entrypoint, and the lifecycle fields; plus how to follow it.
 */
import type { ResolvedRun } from "./run";
import { CHAIN_SAFE, runEntrypoint, type RunPreconditions } from "./runRecord";
import { HEAD_SHM_GIB, headPod, runLabels, submitterPod, workerPod, type TrainingContext } from "./pod";
import { queueLabels } from "../kueue";
import type { TrainingConfig } from "../../config";
import type { GpuNodeGroupInfo } from "../gpuNodes";

/**
 * Ray token authentication needs Ray >= 2.52.0 in the image ("Token authentication is available in
 * Ray 2.52.0 or later", https://docs.ray.io/en/latest/ray-security/token-auth.html) and KubeRay >=
 * 1.5.1 for `authOptions.mode: token`, which requires `rayVersion` >= 2.52.0 (KubeRay v1.5.1 release
 * notes; the pinned 1.7.0 CRD has the field). The miles image's Ray version is not pinned by its
 * source (radixark/miles v0.1.0 requirements.txt: bare `ray[default]`, installed by
 * docker/Dockerfile), so token auth turns on only when `training.image.rayVersion` says 2.52.0 or
 * newer; the NetworkPolicies limit who reaches the head either way.
 */
export const RAY_TOKEN_AUTH_MIN_VERSION = "2.52.0";
export function rayTokenAuth(t: TrainingConfig): boolean {
    if (!t.image.rayVersion) return false;
    const [a, b, c] = t.image.rayVersion.split(".").map(Number);
    const [x, y, z] = RAY_TOKEN_AUTH_MIN_VERSION.split(".").map(Number);
    return a !== x ? a > x : b !== y ? b > y : c >= z;
}

export interface RayJobManifest {
    apiVersion: "ray.io/v1";
    kind: "RayJob";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: Record<string, unknown>;
}

/** The Ray worker groups of a run: `gpu` on its one node group, or `gpu-<node group>` for each group it spans. */
export function workerGroups(r: ResolvedRun): Array<{ name: string; group?: GpuNodeGroupInfo; nodes: number }> {
    if (r.groups.length <= 1) return [{ name: "gpu", group: r.group, nodes: r.nodesNeeded }];
    return r.groups.map(({ group, nodes }) => ({ name: `gpu-${group.name}`, group, nodes }));
}

/**
 * The RayJob's `spec.entrypoint`, decided here only: `bash <run-record mount>/entrypoint-<hash>.sh`,
 * the script (record start, python3 train.py <argv>, record end) in the run-record ConfigMap the head
 * always mounts (pod.ts, runRecordConfigMapOf). The entrypoint passes three shells before train.py
 * starts (KubeRay's submitter bash, `ray job submit`'s re-join, the head's `sh -c`: see
 * domain/training/runRecord.ts recordedEntrypointScript), so it holds CHAIN_SAFE words only; the
 * command itself, whatever its characters, stays in the file.
 */
export function rayJobEntrypoint(r: ResolvedRun, pre?: RunPreconditions): string {
    const e = runEntrypoint(r, undefined, pre);
    if (!e.split(" ").every((w) => CHAIN_SAFE.test(w))) throw new Error(`run ${r.runName}: entrypoint ${JSON.stringify(e)} has a word that is not CHAIN_SAFE`);
    return e;
}

/** The KubeRay RayJob of a run. */
export function rayJobManifest(r: ResolvedRun, ctx: TrainingContext): RayJobManifest {
    const t = r.training;
    const size = r.worker;
    const lc = t.lifecycle;
    const GiB = 1024 ** 3;
    const rayClusterSpec: Record<string, unknown> = {
        enableInTreeAutoscaling: false,
        headGroupSpec: {
            serviceType: "ClusterIP",
            // The object store is kept inside the head's /dev/shm (half of it); Ray's default (30% of the pod memory) would not fit and fall back to disk.
            rayStartParams: { "dashboard-host": "0.0.0.0", "num-cpus": String(t.resources.headCpu), "num-gpus": "0", "object-store-memory": String((HEAD_SHM_GIB / 2) * GiB) },
            template: headPod(r, ctx),
        },
        // One worker group per node group the run spans (one group: "gpu", as always). Kueue makes each a
        // PodSet and gives it the flavor whose node labels its nodeSelector matches (kueue v0.19.2
        // pkg/scheduler/flavorassigner/flavorassigner.go: "flavor ... doesn't match node affinity").
        workerGroupSpecs: workerGroups(r).map(({ name, group, nodes }) => ({
            groupName: name,
            replicas: nodes,
            minReplicas: nodes,
            maxReplicas: nodes,
            rayStartParams: {
                // Ray CPUs ≥ GPUs: miles' placement group asks 1 CPU + 1 GPU per bundle.
                "num-cpus": String(size.cpu),
                "num-gpus": String(r.gpusPerNode),
                // Inside /dev/shm (half of it), so Ray never falls back to a disk-backed store.
                "object-store-memory": String(size.objectStoreGiB * GiB),
            },
            template: workerPod(r, ctx, group),
        })),
    };
    if (t.image.rayVersion) rayClusterSpec.rayVersion = t.image.rayVersion;
    if (rayTokenAuth(t)) rayClusterSpec.authOptions = { mode: "token" };
    const spec: Record<string, unknown> = {
        entrypoint: rayJobEntrypoint(r, ctx.preconditions),
        submissionMode: "K8sJobMode",
        // Each retry is a new Ray cluster; --load = --save makes it resume from the last checkpoint.
        backoffLimit: lc.backoffLimit,
        shutdownAfterJobFinishes: lc.shutdownAfterJobFinishes,
        ttlSecondsAfterFinished: lc.ttlSecondsAfterFinished,
        preRunningDeadlineSeconds: lc.preRunningDeadlineSeconds,
        submitterConfig: { backoffLimit: lc.submitterBackoffLimit },
        submitterPodTemplate: submitterPod(r, ctx),
        rayClusterSpec,
    };
    if (lc.activeDeadlineSeconds !== undefined) spec.activeDeadlineSeconds = lc.activeDeadlineSeconds;
    // Always explicit, so that resuming (true -> false) is an in-place change KubeRay acts on.
    // In a queue the RayJob is created suspended and Kueue unsuspends it when it admits all of its
    // pods at once (it owns `suspend` from then on: kueue site docs tasks/run/rayjobs.md).
    spec.suspend = ctx.queue ? true : lc.suspend;
    const labels = { ...runLabels(r, "rayjob"), ...(ctx.queue ? queueLabels(ctx.queue) : {}) };
    return { apiVersion: "ray.io/v1", kind: "RayJob", metadata: { name: r.runName, namespace: ctx.namespace, labels }, spec };
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
    "submitterPodTemplate",
    "rayClusterSpec",
].map((f) => `spec.${f}`);

/**
 * Fields of a queued RayJob that Pulumi leaves to Kueue after creation. Kueue controls `spec.suspend`:
 * "When a RayJob is admitted by Kueue, Kueue will unsuspend it by setting spec.suspend to false,
 * regardless of its previous value" (kubernetes-sigs/kueue v0.19.2 site/content/en/docs/tasks/run/
 * rayjobs.md, "Suspend control"). Pulumi creates the RayJob with `suspend: true`; on a later update
 * (a metadata change, which does not replace the RayJob) Server-Side Apply would either conflict
 * with Kueue's ownership of the field or, forced, suspend the admitted run again. With
 * `ignoreChanges` the provider keeps the live value and leaves the field to its other manager
 * (pulumi/pulumi-kubernetes#2566, "Gracefully handle ignoreChanges": ignored fields managed by
 * another field manager are not sent). Replacing the RayJob (any other spec change) creates it
 * suspended again, which is what Kueue expects of a new job.
 */
export const RAYJOB_QUEUED_IGNORE_CHANGES: readonly string[] = ["spec.suspend"];

/** kubectl commands to follow a run (stack outputs and docs): its status, the submitter's logs, its pods, the Ray dashboard. */
export interface FollowCommands {
    status: string;
    logs: string;
    pods: string;
    dashboard: string;
}

export function followCommands(r: ResolvedRun, namespace: string): FollowCommands {
    const ns = `-n ${namespace}`;
    return {
        status: `kubectl ${ns} get rayjob ${r.runName} -w`,
        logs: `kubectl ${ns} logs -f job/${r.runName}`,
        pods: `kubectl ${ns} get pods -l app.kubernetes.io/instance=${r.runName} -o wide`,
        dashboard: `kubectl ${ns} port-forward svc/$(kubectl ${ns} get rayjob ${r.runName} -o jsonpath='{.status.rayClusterName}')-head-svc 8265:8265`,
    };
}

/**
 * The Kubernetes objects of a run's lifecycle, as pure manifests (components/runLifecycle.ts
 * registers them):
 *
 * - the pre-replacement save Job: created whenever the RayJob's spec changes (its name carries a
 *   hash of that spec) and before the RayJob is replaced, it makes a Running run save (the
 *   sentinel), waits for the checkpoint and its export to S3, or refuses (training.lifecycle.
 *   onRunningChange). Pulumi awaits a Job's completion, so a failed save stops the deployment with
 *   the old RayJob still running.
 * - on a Capacity Block: the end-of-block save CronJob (sentinel → checkpoint → export → suspend
 *   the RayJob) before EKS drains the group, and the resume CronJob at the block's start.
 */
import { hardenPodSpec } from "../security/pods";
import { createHash } from "node:crypto";
import type * as k8s from "@pulumi/kubernetes";
import { IMAGES, imageRef } from "../../catalog/versions";
import { SHARED_MOUNT_PATH } from "../../catalog/sharedPaths";
import type { ResolvedRun } from "../training/run";
import type { GpuNodeGroupInfo } from "../gpuNodes";
import { runLabels } from "../training/pod";
import { DEACTIVATE_SCRIPT, MARK_SAVED_SCRIPT, REACTIVATE_SCRIPT, RESUME_SCRIPT, STATE_DIR, SUSPEND_SCRIPT, TRIGGER_SAVE_SCRIPT, WAIT_EXPORT_SCRIPT } from "./scripts";
import { blockSchedule, cronAt, type BlockWindow } from "./capacityBlock";

type PodSpec = k8s.types.input.core.v1.PodSpec;
type Container = k8s.types.input.core.v1.Container;
export type EnvVar = { name: string; value: string } | { name: string; valueFrom: { configMapKeyRef: { name: string; key: string } } };

export interface LifecycleContext {
    namespace: string;
    /** The shared volume's claim (the sentinel lives on it). */
    claimName: string;
    /** Service account of the lifecycle pods (RBAC on this one RayJob; Pod Identity for CloudWatch). */
    serviceAccountName: string;
    /**
     * ConfigMap holding FILE_SYSTEM_ID and AWS_REGION of the FSx for Lustre file system whose export
     * queue is waited on (its id is only known after deploy, so the Job specs stay fully known);
     * none = no export wait (EFS, an existing claim).
     */
    exportConfigMap?: string;
    /**
     * Kueue manages the RayJob (it is in a queue): Kueue owns `spec.suspend`, so the end-of-block stop
     * deactivates the run's Workload instead and the resume reactivates it (scripts.ts DEACTIVATE_SCRIPT).
     * @default false
     */
    queued?: boolean;
    /**
     * The run's pods save when they stop (preStop, domain/lifecycle/preStop.ts): a save here records
     * itself so that the deletion that follows it does not save a second time.
     * @default false
     */
    podsSaveOnStop?: boolean;
}

export const lifecycleName = (r: ResolvedRun, what: string) => `${r.runName}-${what}`;

/** A short hash of everything Pulumi replaces the RayJob on (all but `spec.suspend`). */
export function rayJobSpecHash(manifest: { metadata: unknown; spec: Record<string, unknown> }): string {
    const { suspend: _suspend, ...spec } = manifest.spec;
    return createHash("sha256").update(JSON.stringify({ metadata: manifest.metadata, spec })).digest("hex").slice(0, 10);
}

const securityContext = {
    // Root, as the training pods are: the sentinel goes next to what they write on the shared volume.
    runAsUser: 0,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
};
const resources = { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } };

export function step(name: string, image: string, script: string, env: EnvVar[]): Container {
    return {
        name,
        image,
        command: ["/bin/sh", "-c", script],
        env,
        resources,
        securityContext,
        volumeMounts: [
            { name: "shared", mountPath: SHARED_MOUNT_PATH },
            { name: "state", mountPath: STATE_DIR },
        ],
    };
}

/**
 * The steps' pod, hardened like every pod of the project; it patches the RayJob, so it keeps its API
 * token. A Job's pod never restarts; a Deployment's (the run's node watcher) always does.
 */
export function podSpec(ctx: LifecycleContext, steps: Container[], restartPolicy: "Never" | "Always" = "Never"): PodSpec {
    const init = steps.slice(0, -1);
    return hardenPodSpec({
        serviceAccountName: ctx.serviceAccountName,
        restartPolicy,
        enableServiceLinks: false,
        ...(init.length > 0 ? { initContainers: init } : {}),
        containers: [steps[steps.length - 1]],
        volumes: [
            { name: "shared", persistentVolumeClaim: { claimName: ctx.claimName } },
            { name: "state", emptyDir: { sizeLimit: "16Mi" } },
        ],
    }, { apiAccess: true });
}

const epoch = (d: Date) => String(Math.floor(d.getTime() / 1000));

function saveSteps(r: ResolvedRun, ctx: LifecycleContext, env: EnvVar[]): Container[] {
    const base = [{ name: "NAMESPACE", value: ctx.namespace }, { name: "RAYJOB", value: r.runName }, { name: "SENTINEL", value: r.paths.saveSentinel }, ...env];
    const steps = [step("save", imageRef(IMAGES.curl), TRIGGER_SAVE_SCRIPT, base)];
    const cm = ctx.exportConfigMap;
    if (cm) {
        const fromMap = (key: string): EnvVar => ({ name: key, valueFrom: { configMapKeyRef: { name: cm, key } } });
        steps.push(step("wait-export", imageRef(IMAGES.awsCli), WAIT_EXPORT_SCRIPT, [fromMap("FILE_SYSTEM_ID"), fromMap("AWS_REGION"), ...env]));
    }
    if (ctx.podsSaveOnStop) steps.push(step("mark-saved", imageRef(IMAGES.curl), MARK_SAVED_SCRIPT, [{ name: "SENTINEL", value: r.paths.saveSentinel }]));
    return steps;
}

/**
 * The pre-replacement save Job, or undefined with onRunningChange `restart`. Its name changes with
 * the RayJob spec, so a spec change creates (and Pulumi awaits) a new one before the replacement.
 */
export function preReplaceSaveJob(r: ResolvedRun, ctx: LifecycleContext, rayJobHash: string) {
    const lc = r.training.lifecycle;
    if (lc.onRunningChange === "restart") return undefined;
    const timeout = lc.saveTimeoutMinutes * 60;
    const env: EnvVar[] = [
        { name: "SAVE_TIMEOUT_SECONDS", value: String(timeout) },
        { name: "EXPORT_TIMEOUT_SECONDS", value: String(timeout) },
        { name: "ON_TIMEOUT", value: "fail" },
        { name: "REFUSE_RUNNING", value: String(lc.onRunningChange === "refuse") },
    ];
    return {
        apiVersion: "batch/v1" as const,
        kind: "Job" as const,
        metadata: {
            name: `${r.runName}-presave-${rayJobHash}`.slice(0, 63),
            namespace: ctx.namespace,
            labels: runLabels(r, "pre-replace-save"),
            // A save that failed (timed out, refused) is tried again by the next `pulumi up` instead of
            // blocking every later deployment on a Failed Job.
            annotations: { "pulumi.com/replaceUnready": "true" },
        },
        spec: {
            backoffLimit: 0,
            activeDeadlineSeconds: 2 * timeout + 300,
            template: { metadata: { labels: runLabels(r, "pre-replace-save") }, spec: podSpec(ctx, saveSteps(r, ctx, env)) },
        },
    };
}

function cronJob(r: ResolvedRun, ctx: LifecycleContext, what: string, schedule: string, startingDeadlineSeconds: number, activeDeadlineSeconds: number, steps: Container[]) {
    const labels = runLabels(r, what);
    return {
        apiVersion: "batch/v1" as const,
        kind: "CronJob" as const,
        metadata: { name: lifecycleName(r, what), namespace: ctx.namespace, labels },
        spec: {
            schedule,
            timeZone: "Etc/UTC",
            concurrencyPolicy: "Forbid",
            startingDeadlineSeconds,
            successfulJobsHistoryLimit: 3,
            failedJobsHistoryLimit: 3,
            jobTemplate: { metadata: { labels }, spec: { backoffLimit: 1, activeDeadlineSeconds, template: { metadata: { labels }, spec: podSpec(ctx, steps) } } },
        },
    };
}

/** A cron expression that never fires (February 30th): the window is unknown (plan without capacity.window). */
export const NEVER = "0 0 30 2 *";

/**
 * End of a Capacity Block: at `saveTrigger` create the sentinel, wait for the checkpoint until
 * `saveDeadline`, for the export until `suspendBy`, then suspend the RayJob (whatever was saved)
 * before EKS drains the group at T-40 min.
 */
export function blockEndSaveCronJob(r: ResolvedRun, ctx: LifecycleContext, w: BlockWindow | undefined, saveLeadMinutes: number) {
    const s = w ? blockSchedule(w, saveLeadMinutes) : undefined;
    const env: EnvVar[] = [
        { name: "SAVE_DEADLINE", value: s ? epoch(s.saveDeadline) : "0" },
        { name: "EXPORT_DEADLINE", value: s ? epoch(s.suspendBy) : "0" },
        { name: "BLOCK_END", value: s ? epoch(s.end) : "0" },
        { name: "ON_TIMEOUT", value: "continue" },
    ];
    // Under Kueue the RayJob's suspend is Kueue's: deactivate its Workload instead (scripts.ts DEACTIVATE_SCRIPT).
    const stopEnv = [{ name: "NAMESPACE", value: ctx.namespace }, { name: "RAYJOB", value: r.runName }];
    const suspend = ctx.queued ? step("deactivate", imageRef(IMAGES.curl), DEACTIVATE_SCRIPT, stopEnv) : step("suspend", imageRef(IMAGES.curl), SUSPEND_SCRIPT, stopEnv);
    return cronJob(r, ctx, "block-end-save", s ? cronAt(s.saveTrigger) : NEVER, 300, saveLeadMinutes * 60, [...saveSteps(r, ctx, env), suspend]);
}

/** Start of a Capacity Block: wait for the run's nodes to be Ready, then resume a RayJob the end-of-block save suspended. */
export function blockResumeCronJob(r: ResolvedRun, ctx: LifecycleContext, w: BlockWindow | undefined) {
    const s = w ? blockSchedule(w, 10) : undefined;
    const { selector, nodes } = blockNodes(r);
    const env: EnvVar[] = [
        { name: "NAMESPACE", value: ctx.namespace },
        { name: "RAYJOB", value: r.runName },
        { name: "NODE_SELECTOR", value: encodeURIComponent(selector) },
        { name: "NODES_NEEDED", value: String(nodes) },
        { name: "BLOCK_END", value: s ? epoch(s.drain) : "0" },
    ];
    return cronJob(r, ctx, "block-resume", s ? cronAt(s.resume) : NEVER, 3600, 3 * 3600, [step(ctx.queued ? "reactivate" : "resume", imageRef(IMAGES.curl), ctx.queued ? REACTIVATE_SCRIPT : RESUME_SCRIPT, env)]);
}

/**
 * The Capacity Block group whose window schedules a run's end-of-block save and resume: its one
 * group, or the first Capacity Block group of a run over several (the rules make them share one
 * window). Undefined when the run has none.
 */
export function blockGroupOf(r: ResolvedRun): GpuNodeGroupInfo | undefined {
    if (r.groups.length <= 1) return r.group?.capacityBlock ? r.group : undefined;
    return r.groups.find((x) => x.group.capacityBlock)?.group;
}

/**
 * Which nodes the resume waits for: the run's nodes (one group: its selector, all the run's nodes),
 * or over several groups the nodes it takes from its Capacity Block groups (a set-based selector on
 * their one label; on-demand groups of the run scale up only once its pods ask for them).
 */
export function blockNodes(r: ResolvedRun): { selector: string; nodes: number } {
    const eq = (sel: Record<string, string>) => Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(",");
    if (r.groups.length <= 1) return { selector: eq(r.group?.selector ?? {}), nodes: r.nodesNeeded };
    const blocks = r.groups.filter((x) => x.group.capacityBlock);
    const keys = [...new Set(blocks.flatMap((x) => Object.keys(x.group.selector)))];
    const nodes = blocks.reduce((n, x) => n + x.nodes, 0);
    if (blocks.length > 1 && keys.length === 1 && blocks.every((x) => Object.keys(x.group.selector).length === 1)) {
        return { selector: `${keys[0]} in (${blocks.map((x) => x.group.selector[keys[0]]).join(",")})`, nodes };
    }
    return { selector: eq(blocks[0]?.group.selector ?? {}), nodes: blocks[0]?.nodes ?? 0 };
}

/**
 * The service account the cluster stack (ClusterAddons → NodeWatchAccess) creates in the training
 * namespace for every run's node watcher: runs in a run stack (`cluster.clusterStack`) may create no
 * cluster-scoped object, so the node grant lives with the cluster.
 */
export const NODE_WATCH_SERVICE_ACCOUNT = "miles-node-watch";

/**
 * What the node watcher may do. In the namespace: list the run's pods and delete those on a node it
 * keeps out (KubeRay names the pods: RBAC cannot name them, nor narrow by label). On nodes (cluster-
 * scoped; a ClusterRole cannot be narrowed by label or to "the run's nodes"): get (the run's nodes),
 * list (the run's groups) and patch — the unhealthy taint and its reason, so that no pod lands on the
 * node before EKS auto repair acts (docs/lifecycle.md "Node health during a run"). The watcher itself: nodeWatch.ts.
 */
export const NODE_WATCH_RULES = {
    namespaced: [{ apiGroups: [""], resources: ["pods"], verbs: ["list", "delete"] }],
    nodes: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "patch"] }],
};

/** Whether a run takes nodes from a spot group: then its node watcher also reacts to the interruption handler's taints (nodeWatch.ts). */
export const runOnSpot = (r: Pick<ResolvedRun, "groups">) => r.groups.some((x) => x.group.spot === true);

/**
 * Least privilege: read and patch this one RayJob (suspend/resume, status). Under Kueue also list
 * and patch Workloads in the namespace: the run's Workload is named by Kueue (a hash of the RayJob's
 * uid), so RBAC cannot name it in advance; the stop and resume only patch `spec.active` of the one
 * labelled with this RayJob's uid.
 */
export function lifecycleRole(r: ResolvedRun, namespace: string, queued = false, watcherGrant = false) {
    const rules: Array<{ apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }> = [{ apiGroups: ["ray.io"], resources: ["rayjobs"], resourceNames: [r.runName], verbs: ["get", "patch"] }];
    if (queued) rules.push({ apiGroups: ["kueue.x-k8s.io"], resources: ["workloads"], verbs: ["list", "patch"] });
    // The run's node watcher runs as this account only when the cluster provides no node-watch account.
    if (watcherGrant) rules.push(...NODE_WATCH_RULES.namespaced);
    return { metadata: { name: lifecycleName(r, "lifecycle"), namespace, labels: runLabels(r, "lifecycle") }, rules };
}

/**
 * The resume counts the block's Ready nodes: list nodes (cluster-scoped; RBAC cannot narrow it by
 * label). When the run's node watcher runs as the run's own account (no node-watch account from the
 * cluster): also its node grant (NODE_WATCH_RULES: get, list, patch).
 */
export function lifecycleNodeReaderRole(r: ResolvedRun, namespace: string, watcherGrant = false) {
    // The watcher's grant includes the resume's list. Created only for a block run or a watcher grant (components/runLifecycle.ts).
    const verbs = watcherGrant ? [...NODE_WATCH_RULES.nodes[0].verbs] : ["list"];
    return {
        metadata: { name: `${namespace}-${lifecycleName(r, "nodes")}`, labels: runLabels(r, "lifecycle") },
        rules: [{ apiGroups: [""], resources: ["nodes"], verbs }],
    };
}

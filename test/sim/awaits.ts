/**
 * Deployment simulation, layers "what `pulumi up` waits for can finish" and "admission order"
 * (issue 20). It executes a plan's resources the way `pulumi up` and the cluster would, at our pins,
 * and says which await can never complete and why.
 *
 * Upstream behaviour modelled (file:line at the stored snapshot of each repository):
 *
 * pulumi/pulumi-kubernetes (package-lock pins @pulumi/kubernetes 4.34.2; the stored snapshot is
 * commit 94977969d of 2026-07-01, whose await and diff code is what 4.3x ships):
 * - provider/pkg/await/awaiters.go:184-246 — the kinds with await logic: batch/v1 Job (until
 *   Complete, fails on Failed; job.go:49-56), Deployment, StatefulSet, DaemonSet, PVC, Pod,
 *   Service, ServiceAccount, Secret…; ConfigMap, RBAC, StorageClass: none. A kind not in the table
 *   (every CustomResource: RayJob, Kueue's objects, PodMonitor…) is ready at once unless it has
 *   `pulumi.com/waitFor` (provider/pkg/metadata/overrides.go:100-118, ReadyCondition:
 *   "Otherwise we no-op").
 * - provider/pkg/metadata/overrides.go:39-42, await.go:1096-1102 — `pulumi.com/skipAwait: "true"`
 *   turns any of them into "ready at once".
 * - provider/pkg/await/await.go:306-309 (create) and 491-494 (update) — the await's timeout:
 *   customTimeouts, else `pulumi.com/timeoutSeconds` (overrides.go:49-66), else 10 minutes.
 * - provider/pkg/await/awaiters.go:288-324 — a PVC is ready when Bound, or when Pending if its
 *   StorageClass binds WaitForFirstConsumer (5-minute watch).
 * - provider/pkg/await/service.go:385-409 — a Service waits for ready endpoints unless it is
 *   headless, ExternalName or has no selector.
 * - provider/pkg/provider/diff.go:178-186 — a Job is replaced when spec.completions, parallelism,
 *   selector or template change (plus metadata.name/namespace, provider.go:1560); provider.go:
 *   1645-1662 — a replaced object that keeps its name is deleted before it is re-created.
 *
 * Pulumi engine: a resource is registered once the resources of its `dependsOn` have been created
 * (a component in dependsOn stands for all of its children); a deleteBeforeReplace replacement
 * deletes the old object at that point, i.e. after its dependencies; resources the new program no
 * longer declares are deleted after every create and update.
 *
 * kubernetes-sigs/kueue v0.19.2 (commit c3785e52):
 * - pkg/controller/jobframework/utils.go:131-157 (WorkloadShouldBeSuspended) — a Job or RayJob
 *   with the `kueue.x-k8s.io/queue-name` label is suspended at creation and runs only when admitted;
 *   one without it only when manageJobsWithoutQueueName (ours: false, domain/kueue.ts) and its
 *   namespace matches managedJobsNamespaceSelector (default: all but kube-system and Kueue's own,
 *   apis/config/v1beta2/defaults.go:124-129).
 * - charts/kueue/templates/webhook/manifests.yaml:150-170 (mjob.kb.io) and :404-425
 *   (mrayjob.kb.io) — the mutating webhooks that suspend them, failurePolicy Fail, on every
 *   namespace the same selector matches: a Job created while the webhook is registered but not
 *   serving is rejected, and a queued one created before it exists is never suspended (it runs
 *   outside the quota).
 * - Admission is all-or-nothing per Workload against the ClusterQueue's nominal quota per flavor
 *   (pkg/scheduler/flavorassigner: every PodSet must fit); a ClusterQueue with
 *   `preemption.withinClusterQueue: Never` never evicts an admitted Workload.
 */
import { parse as parseYaml } from "yaml";
import type { Plan } from "../../plan/run";
import type { RecordedResource } from "../../plan/evaluate";
import { gpuNodeGroupsFromConfig, type GpuNodeGroupInfo } from "../../domain/gpuNodes";
import { stackPlan } from "./world";

export const GPU = "nvidia.com/gpu";
export const EFA = "vpc.amazonaws.com/efa";
export const QUEUE_LABEL = "kueue.x-k8s.io/queue-name";

export const keyOf = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
/** "Kind name" for messages. */
export const label = (r: RecordedResource) => `${kindOf(r)} ${r.name}`;

export function kindOf(r: RecordedResource): string {
    return String(r.inputs.kind ?? r.type.split(":").pop());
}
const meta = (r: RecordedResource) => (r.inputs.metadata ?? {}) as { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };

// ---------------------------------------------------------------------------------------------
// Creation order

export interface Graph {
    byKey: Map<string, RecordedResource>;
    /** Direct prerequisites of each resource (dependsOn; a component expanded to its custom descendants). */
    deps: Map<string, Set<string>>;
    /** Resources in an order `pulumi up` may create them (dependencies first, program order otherwise). */
    order: RecordedResource[];
}

export function graph(resources: RecordedResource[]): Graph {
    const byKey = new Map(resources.map((r) => [keyOf(r), r]));
    const children = new Map<string, string[]>();
    for (const r of resources) if (r.parent) children.set(keyOf(r.parent), [...(children.get(keyOf(r.parent)) ?? []), keyOf(r)]);
    const expand = (k: string, out: Set<string>) => {
        const r = byKey.get(k);
        if (!r) return;
        if (r.custom) out.add(k);
        for (const c of children.get(k) ?? []) expand(c, out);
    };
    const deps = new Map<string, Set<string>>();
    for (const r of resources) {
        const s = new Set<string>();
        for (const d of r.dependsOn ?? []) expand(keyOf(d), s);
        s.delete(keyOf(r));
        deps.set(keyOf(r), s);
    }
    const order: RecordedResource[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (k: string, path: string[]) => {
        if (state.get(k) === "done") return;
        if (state.get(k) === "visiting") throw new Error(`dependency cycle: ${[...path, k].join(" → ")}`);
        state.set(k, "visiting");
        for (const d of deps.get(k) ?? []) visit(d, [...path, k]);
        state.set(k, "done");
        order.push(byKey.get(k)!);
    };
    for (const r of resources) visit(keyOf(r), []);
    return { byKey, deps, order };
}

/** Whether `a` is created only after `b` (a path of dependsOn edges from a to b). */
export function after(g: Graph, a: string, b: string): boolean {
    const seen = new Set<string>();
    const stack = [a];
    while (stack.length) {
        const k = stack.pop()!;
        for (const d of g.deps.get(k) ?? []) {
            if (d === b) return true;
            if (!seen.has(d)) {
                seen.add(d);
                stack.push(d);
            }
        }
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// What Pulumi awaits

export interface Await {
    /** What the provider waits for; "none" = ready at once. */
    until: "none" | "job-complete" | "pvc-bound" | "service-endpoints" | "rollout" | "helm-ready" | "waitFor";
    /** Seconds before the provider gives up. */
    timeoutSeconds: number;
}

function durationSeconds(s: string | undefined): number | undefined {
    if (!s) return undefined;
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
    if (!m) return undefined;
    return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as "ms" | "s" | "m" | "h"];
}

/** What `pulumi up` waits for when it creates (or replaces) this resource, and for how long. */
export function awaitOf(r: RecordedResource, op: "create" | "update" = "create"): Await {
    const ann = meta(r).annotations ?? {};
    const timeout = durationSeconds(r.customTimeouts?.[op]) ?? (ann["pulumi.com/timeoutSeconds"] ? Number(ann["pulumi.com/timeoutSeconds"]) : 600);
    if (r.type.startsWith("kubernetes:helm.sh/")) {
        // helm.sh/v3 Release: Helm's --wait unless skipAwait; its own `timeout` (seconds, default 300).
        return r.inputs.skipAwait === true ? { until: "none", timeoutSeconds: 0 } : { until: "helm-ready", timeoutSeconds: Number(r.inputs.timeout ?? 300) };
    }
    if (!r.custom || !r.type.startsWith("kubernetes:") || r.type === "pulumi:providers:kubernetes") return { until: "none", timeoutSeconds: 0 };
    if (ann["pulumi.com/skipAwait"] === "true") return { until: "none", timeoutSeconds: 0 };
    if (ann["pulumi.com/waitFor"]) return { until: "waitFor", timeoutSeconds: timeout };
    const apiVersion = String(r.inputs.apiVersion ?? "");
    const kind = kindOf(r);
    if (apiVersion === "batch/v1" && kind === "Job") return { until: "job-complete", timeoutSeconds: timeout };
    if (apiVersion === "v1" && kind === "PersistentVolumeClaim") return { until: "pvc-bound", timeoutSeconds: 300 };
    if (apiVersion === "v1" && kind === "Service") {
        const spec = (r.inputs.spec ?? {}) as { clusterIP?: string; type?: string; selector?: Record<string, string> };
        if (spec.clusterIP === "None" || spec.type === "ExternalName" || !spec.selector || Object.keys(spec.selector).length === 0) return { until: "none", timeoutSeconds: 0 };
        return { until: "service-endpoints", timeoutSeconds: timeout };
    }
    if (apiVersion === "apps/v1" && ["Deployment", "StatefulSet", "DaemonSet"].includes(kind)) return { until: "rollout", timeoutSeconds: timeout };
    return { until: "none", timeoutSeconds: 0 };
}

// ---------------------------------------------------------------------------------------------
// GPUs, node groups, Kueue

type PodSpec = { nodeSelector?: Record<string, string>; affinity?: any; containers?: any[]; initContainers?: any[]; volumes?: any[]; serviceAccountName?: string };

/** Pods of an object that need devices: count, per-pod GPUs/EFA, node groups they may land on, images. */
export interface Needs {
    pods: Array<{ count: number; gpus: number; efa: number; groups: string[]; images: string[] }>;
    gpus: number;
    efa: number;
}

function podRequests(spec: PodSpec, resource: string): number {
    const sum = (cs: any[] | undefined) => (cs ?? []).reduce((n, c) => n + Number(c?.resources?.limits?.[resource] ?? c?.resources?.requests?.[resource] ?? 0), 0);
    const init = Math.max(0, ...(spec.initContainers ?? []).filter((c) => c.restartPolicy !== "Always").map((c: any) => Number(c?.resources?.limits?.[resource] ?? 0)));
    const sidecars = (spec.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
    return Math.max(init, sum(spec.containers) + sum(sidecars));
}

function groupsFor(spec: PodSpec, groups: GpuNodeGroupInfo[]): string[] {
    const matches = (sel: Record<string, string>, g: GpuNodeGroupInfo) => Object.entries(sel).every(([k, v]) => (g.labels[k] ?? g.selector[k]) === v);
    const terms: Array<{ matchExpressions?: Array<{ key: string; operator: string; values: string[] }> }> =
        spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    return groups
        .filter((g) => matches(spec.nodeSelector ?? {}, g))
        .filter((g) => terms.length === 0 || terms.some((t) => (t.matchExpressions ?? []).every((e) => e.operator !== "In" || e.values.includes(g.labels[e.key] ?? g.selector[e.key]))))
        .map((g) => g.name);
}

function templates(r: RecordedResource): Array<{ count: number; spec: PodSpec }> {
    const spec = (r.inputs.spec ?? {}) as any;
    const kind = kindOf(r);
    if (kind === "Job") return [{ count: Number(spec.parallelism ?? 1), spec: spec.template?.spec ?? {} }];
    if (kind === "RayJob") {
        const rc = spec.rayClusterSpec ?? {};
        return [
            { count: 1, spec: rc.headGroupSpec?.template?.spec ?? {} },
            ...(rc.workerGroupSpecs ?? []).map((w: any) => ({ count: Number(w.replicas ?? w.minReplicas ?? 1) * Number(w.numOfHosts ?? 1), spec: w.template?.spec ?? {} })),
        ];
    }
    return [];
}

export function needsOf(r: RecordedResource, groups: GpuNodeGroupInfo[]): Needs {
    const pods = templates(r).map(({ count, spec }) => ({
        count,
        gpus: podRequests(spec, GPU),
        efa: podRequests(spec, EFA),
        groups: groupsFor(spec, groups),
        images: [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c: any) => String(c.image ?? "")),
    }));
    return { pods, gpus: pods.reduce((n, p) => n + p.count * p.gpus, 0), efa: pods.reduce((n, p) => n + p.count * p.efa, 0) };
}

/** The cluster a plan deploys into: its GPU node groups, and what Kueue does there. */
export interface World {
    groups: GpuNodeGroupInfo[];
    kueue?: {
        /** The Kueue release of this plan (undefined: installed by the cluster stack before). */
        release?: RecordedResource;
        manageJobsWithoutQueueName: boolean;
        /** Namespaces the webhooks skip (default selector: kube-system and Kueue's own). */
        unmanagedNamespaces: string[];
        /** Nominal quota per node group (flavor → its node labels → group). */
        quota: Map<string, { gpus: number; efa: number }>;
        preemption: string;
    };
}

/** The world of a plan; a run stack's node groups and queue come from its cluster stack's plan. */
export async function worldOf(p: Plan): Promise<World> {
    const cfg = p.config!;
    const ref = cfg.cluster.clusterStack;
    const clusterPlan = ref ? await stackPlan(ref.planFrom ?? ref.name.split("/").pop()!) : p;
    const groups = gpuNodeGroupsFromConfig(clusterPlan.config!);
    const release = clusterPlan.resources.find((r) => r.type.startsWith("kubernetes:helm.sh/") && String(r.inputs.chart ?? "").includes("kueue"));
    const cq = clusterPlan.resources.find((r) => r.inputs.kind === "ClusterQueue");
    if (!release || !cq) return { groups };
    const yaml = (release.inputs.values as any)?.managerConfig?.controllerManagerConfigYaml;
    const mc = typeof yaml === "string" ? (parseYaml(yaml) as Record<string, any>) : {};
    const flavors = clusterPlan.resources.filter((r) => r.inputs.kind === "ResourceFlavor");
    const quota = new Map<string, { gpus: number; efa: number }>();
    const spec = cq.inputs.spec as any;
    for (const rg of spec.resourceGroups ?? [])
        for (const f of rg.flavors ?? []) {
            const fl = flavors.find((x) => meta(x).name === f.name);
            const labels = ((fl?.inputs.spec as any)?.nodeLabels ?? {}) as Record<string, string>;
            const g = groups.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
            if (!g) continue;
            const q = (n: string) => Number((f.resources ?? []).find((x: any) => x.name === n)?.nominalQuota ?? 0);
            quota.set(g.name, { gpus: q(GPU), efa: q(EFA) });
        }
    const sel = mc.managedJobsNamespaceSelector?.matchExpressions?.find((e: any) => e.key === "kubernetes.io/metadata.name" && e.operator === "NotIn")?.values;
    return {
        groups,
        kueue: {
            release: ref ? undefined : release,
            manageJobsWithoutQueueName: mc.manageJobsWithoutQueueName === true,
            unmanagedNamespaces: sel ?? ["kube-system", String(release.inputs.namespace ?? "kueue-system")],
            quota,
            preemption: String(spec.preemption?.withinClusterQueue ?? "Never"),
        },
    };
}

/** Whether Kueue manages this object (suspends it until admitted). */
export function queued(r: RecordedResource, w: World): boolean {
    if (!w.kueue || !["Job", "RayJob"].includes(kindOf(r))) return false;
    if (meta(r).labels?.[QUEUE_LABEL]) return true;
    return w.kueue.manageJobsWithoutQueueName && !w.kueue.unmanagedNamespaces.includes(meta(r).namespace ?? "default");
}

// ---------------------------------------------------------------------------------------------
// Walking a deployment

/** An await that cannot finish: the stack, the resource, why. */
export interface Blocked {
    resource: string;
    reason: string;
    /** Bounded: the object itself fails after this many seconds (activeDeadlineSeconds), `pulumi up` then fails. */
    failsAfterSeconds?: number;
}

/** Something worth knowing that does not block (recorded, not failed on). */
export interface Finding {
    resource: string;
    note: string;
}

export interface Walk {
    order: string[];
    blocked: Blocked[];
    findings: Finding[];
}

/** A holder of GPUs that Pulumi never waits to finish (a RayJob trains for days). */
interface Holder {
    key: string;
    needs: Needs;
    queued: boolean;
}

/** Free GPUs and EFA devices per node of each group, after the holders' pods took theirs (first node that fits). */
function freeNodes(held: Holder[], w: World): Map<string, Array<{ gpus: number; efa: number }>> {
    const free = new Map(w.groups.map((g) => [g.name, Array.from({ length: g.nodes }, () => ({ gpus: g.gpusPerNode, efa: g.efaPerNode }))]));
    for (const h of held) place(h.needs, free);
    return free;
}

/** Places the pods of `n` on free nodes (mutating `free`); returns the pod set that found no room. */
function place(n: Needs, free: Map<string, Array<{ gpus: number; efa: number }>>): Needs["pods"][number] | undefined {
    for (const p of n.pods) {
        if (p.gpus === 0 && p.efa === 0) continue;
        for (let i = 0; i < p.count; i++) {
            const node = p.groups.flatMap((gname) => free.get(gname) ?? []).find((x) => x.gpus >= p.gpus && x.efa >= p.efa);
            if (!node) return p;
            node.gpus -= p.gpus;
            node.efa -= p.efa;
        }
    }
    return undefined;
}

/** Why the device-needing pods of `n` cannot all run beside the holders (undefined: they can). */
function fits(n: Needs, held: Holder[], w: World, isQueued: boolean): string | undefined {
    const p = place(n, freeNodes(held, w));
    if (p) {
        const by = held.filter((h) => h.needs.pods.some((x) => x.gpus > 0 && x.groups.some((gname) => p.groups.includes(gname)))).map((h) => h.key.split("::")[1]);
        return `its ${p.count} pod(s) need ${p.gpus} ${GPU}${p.efa ? ` and ${p.efa} ${EFA}` : ""} each on ${p.groups.join("/") || "no GPU group"}, and ${by.length ? `${by.join(", ")} hold(s) them and Pulumi never waits for ${by.length > 1 ? "them" : "it"} to finish` : "these nodes do not have that many"}`;
    }
    // Kueue admits a queued Workload only when all of it fits the quota left by admitted ones (no preemption with Never).
    if (isQueued && w.kueue) {
        const groups = [...new Set(n.pods.flatMap((x) => x.groups))];
        const quota = groups.reduce((s, gname) => s + (w.kueue!.quota.get(gname)?.gpus ?? 0), 0);
        const used = held.filter((h) => h.queued).reduce((s, h) => s + h.needs.pods.filter((x) => x.groups.some((gname) => groups.includes(gname))).reduce((t, x) => t + x.count * x.gpus, 0), 0);
        if (used + n.gpus > quota) return `Kueue admits it only when ${n.gpus} ${GPU} of quota are free on ${groups.join("/")} (${quota} nominal, ${used} admitted to runs Pulumi never waits for; preemption ${w.kueue.preemption})`;
    }
    return undefined;
}

/** Objects a Job's pods need before they can start (same namespace, by name): ServiceAccount, PVCs, ConfigMaps, Secrets. */
function prerequisites(r: RecordedResource, g: Graph): RecordedResource[] {
    const ns = meta(r).namespace;
    const out: RecordedResource[] = [];
    const find = (kind: string, name: string | undefined) => {
        if (!name) return;
        const x = g.order.find((o) => kindOf(o) === kind && meta(o).name === name && (meta(o).namespace ?? ns) === ns && o.custom && o.type.startsWith("kubernetes:"));
        if (x) out.push(x);
    };
    for (const { spec } of templates(r)) {
        find("ServiceAccount", spec.serviceAccountName);
        for (const v of spec.volumes ?? []) {
            find("PersistentVolumeClaim", v.persistentVolumeClaim?.claimName);
            find("ConfigMap", v.configMap?.name);
            find("Secret", v.secret?.secretName);
        }
    }
    return out;
}

/**
 * The stack's own ECR images and the steps that produce them (issue 21). An image in an ECR
 * repository this deployment creates (an ImageRepository component) exists only once a step of the
 * deployment has pushed it: a Job Pulumi awaits under an image-build component (a
 * `miles-cluster:images:*` component other than the repository), complete only when the tag is in
 * ECR (domain/training/imageBuild.ts EFA_BUILD_TRIGGER_SCRIPT). A pod template pulling such an image
 * (its reference is the repository's URL, known only after deploy, or names the repository) whose
 * object is not created after such a step would pull an image nothing has pushed: the kubelet
 * retries the pull (ImagePullBackOff) and Pulumi waits until the Job's timeout.
 */
export function imageSteps(resources: RecordedResource[], g: Graph): { producers: RecordedResource[]; unproduced: (r: RecordedResource) => string | undefined } {
    const repos = resources.filter((r) => r.type === "miles-cluster:images:ImageRepository");
    const builders = new Set(resources.filter((r) => r.type.startsWith("miles-cluster:images:") && !r.custom && r.type !== "miles-cluster:images:ImageRepository").map(keyOf));
    const under = (r: RecordedResource): boolean => {
        for (let p = r.parent, i = 0; p && i < 20; i++) {
            if (builders.has(keyOf(p))) return true;
            p = g.byKey.get(keyOf(p))?.parent;
        }
        return false;
    };
    const producers = resources.filter((r) => r.custom && under(r) && kindOf(r) === "Job" && awaitOf(r).until === "job-complete");
    const unproduced = (r: RecordedResource): string | undefined => {
        if (producers.includes(r)) return undefined;
        const pulled = templates(r).flatMap(({ spec }) => [...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c: any) => String(c.image ?? "")));
        const repo = repos.find((x) => pulled.some((im) => im.includes("(known after deploy)") || im.includes(x.name)));
        if (!repo) return undefined;
        if (producers.some((x) => after(g, keyOf(r), keyOf(x)))) return undefined;
        return `pulls the image of ImageRepository ${repo.name} (ECR), and no step of this deployment ordered before it pushes that image (issue 21)`;
    };
    return { producers, unproduced };
}

/**
 * Walks the resources of `plan` in creation order, as a first deploy into an empty cluster (its
 * nodes up, nothing running) or, with `running`, as an update while those RayJobs hold their GPUs.
 * `steps` limits the walk to the resources `pulumi up` creates or replaces (undefined: all).
 */
export function walk(p: { resources: RecordedResource[] }, w: World, opts: { running?: RecordedResource[]; steps?: Map<string, Step> } = {}): Walk {
    const g = graph(p.resources);
    const blocked: Blocked[] = [];
    const findings: Finding[] = [];
    const order: string[] = [];
    const held: Holder[] = (opts.running ?? []).map((r) => ({ key: keyOf(r), needs: needsOf(r, w.groups), queued: queued(r, w) }));
    // Objects of this deployment that hold devices for as long as they run and that Pulumi does not
    // wait for (a RayJob trains for days): any of them not ordered after an awaited Job may be running
    // before that Job's pods start.
    const holders: Holder[] = g.order
        .filter((r) => (opts.steps ? ["create", "replace"].includes(opts.steps.get(keyOf(r)) ?? "") : true) && awaitOf(r).until === "none")
        .map((r) => ({ key: keyOf(r), needs: needsOf(r, w.groups), queued: queued(r, w) }))
        .filter((h) => h.needs.gpus > 0 || h.needs.efa > 0);
    /** Holders that may run while `k` waits: the running ones, then new ones not ordered after it, queued ones only as far as the quota admits them. */
    const competing = (k: string): Holder[] => {
        const out = [...held];
        for (const h of holders) {
            if (h.key === k || after(g, h.key, k)) continue;
            if (h.queued && fits(h.needs, out, w, true)) continue; // Kueue does not admit it while the others hold the quota
            if (!h.queued && place(h.needs, freeNodes(out, w))) continue; // no room: its pods stay Pending
            out.push(h);
        }
        return out;
    };
    const images = imageSteps(p.resources, g);
    for (const r of g.order) {
        const k = keyOf(r);
        const step = opts.steps ? opts.steps.get(k) : "create";
        if (!step || step === "same") continue;
        order.push(k);
        if (step === "replace" && kindOf(r) === "RayJob") {
            // deleteBeforeReplace: the old RayJob (and its Ray cluster's GPUs) goes now, after its dependencies.
            const i = held.findIndex((h) => h.key === k);
            if (i >= 0) held.splice(i, 1);
        }
        const a = awaitOf(r, step === "update" ? "update" : "create");
        const n = needsOf(r, w.groups);
        if (a.until === "job-complete" && step !== "update") {
            if (n.gpus > 0 || n.efa > 0) {
                const why = fits(n, competing(k), w, queued(r, w));
                if (why) {
                    const deadline = Number((r.inputs.spec as any)?.activeDeadlineSeconds ?? 0);
                    blocked.push({ resource: k, reason: `Pulumi awaits this Job (up to ${a.timeoutSeconds / 60} min) but ${why}`, ...(deadline > 0 ? { failsAfterSeconds: Math.min(deadline, a.timeoutSeconds) } : {}) });
                }
            }
            for (const x of prerequisites(r, g)) if (after(g, keyOf(x), k)) blocked.push({ resource: k, reason: `its pods need ${label(x)}, which is created only after this Job completes` });
        }
        if (step !== "update" && templates(r).length > 0) {
            const why = images.unproduced(r);
            if (why) findings.push({ resource: k, note: why });
        }
        if (a.until === "service-endpoints") {
            const sel = ((r.inputs.spec as any)?.selector ?? {}) as Record<string, string>;
            const producers = g.order.filter((o) => templates(o).length > 0 && Object.entries(sel).every(([kk, v]) => ((o.inputs.spec as any)?.template?.metadata?.labels ?? {})[kk] === v));
            if (producers.length > 0 && producers.every((o) => after(g, keyOf(o), k))) blocked.push({ resource: k, reason: `Pulumi waits for ready endpoints, and the pods behind them (${producers.map(label).join(", ")}) are created only after it` });
        }
        if (a.until === "pvc-bound") {
            const pv = (r.inputs.spec as any)?.volumeName;
            const x = pv ? g.order.find((o) => kindOf(o) === "PersistentVolume" && meta(o).name === pv) : undefined;
            if (x && after(g, keyOf(x), k)) blocked.push({ resource: k, reason: `Pulumi waits until it is Bound, and its PersistentVolume ${pv} is created only after it` });
        }
    }
    return { order, blocked, findings };
}

// ---------------------------------------------------------------------------------------------
// Updates: what `pulumi up` does to each resource

export type Step = "create" | "same" | "update" | "replace";

/** Fields whose change replaces the object (pulumi-kubernetes provider/pkg/provider/diff.go). */
const FORCE_NEW: Record<string, string[]> = {
    Job: ["spec.completions", "spec.parallelism", "spec.selector", "spec.template"],
    PersistentVolumeClaim: ["spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName"],
    RoleBinding: ["roleRef"],
    ClusterRoleBinding: ["roleRef"],
    StorageClass: ["parameters", "provisioner"],
};

function changedPaths(a: unknown, b: unknown, path: string, out: string[]): void {
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
        for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) changedPaths((a as any)[k], (b as any)[k], path ? `${path}.${k}` : k, out);
        return;
    }
    out.push(path);
}

const under = (p: string, prefix: string) => p === prefix || p.startsWith(`${prefix}.`);

/** Create, update or replace of each resource of `next`, deployed over `prev`. */
export function steps(prev: RecordedResource[], next: RecordedResource[]): Map<string, Step> {
    const old = new Map(prev.map((r) => [keyOf(r), r]));
    const out = new Map<string, Step>();
    for (const r of next) {
        const o = old.get(keyOf(r));
        if (!o) {
            out.set(keyOf(r), "create");
            continue;
        }
        const paths: string[] = [];
        changedPaths(o.inputs, r.inputs, "", paths);
        const ignore = r.options?.ignoreChanges ?? [];
        const changed = paths.filter((p) => !ignore.some((i) => under(p, i)));
        if (changed.length === 0) {
            out.set(keyOf(r), "same");
            continue;
        }
        const force = [...(FORCE_NEW[kindOf(r)] ?? []), "metadata.name", "metadata.namespace", ...(r.options?.replaceOnChanges ?? [])];
        out.set(keyOf(r), changed.some((p) => force.some((f) => under(p, f))) ? "replace" : "update");
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Admission order

/** Which object installs the CRDs or serves the admission webhook an object needs, by API group. */
export interface Gatekeeper {
    why: string;
    /** The resource that must exist (be ready) first. */
    by: (p: RecordedResource[]) => RecordedResource | undefined;
}

const release = (chart: string) => (rs: RecordedResource[]) => rs.find((r) => r.type.startsWith("kubernetes:helm.sh/") && String(r.inputs.chart ?? "").includes(chart));

/** The admission gatekeeper of an object, if any. */
export function gatekeeperOf(r: RecordedResource, w: World): Gatekeeper | undefined {
    const api = String(r.inputs.apiVersion ?? "");
    if (api.startsWith("ray.io/")) {
        if (queued(r, w) && w.kueue?.release) return { why: "Kueue's mrayjob.kb.io webhook must suspend it (it is queued) and the KubeRay CRDs must exist", by: () => w.kueue!.release };
        return { why: "the RayJob CRD is installed by the KubeRay CRD Job", by: (rs) => rs.find((x) => kindOf(x) === "Job" && /kuberay-crds$/.test(x.name)) };
    }
    if (api.startsWith("kueue.x-k8s.io/")) return { why: "Kueue's CRDs and webhooks come with its release", by: release("kueue") };
    if (api.startsWith("monitoring.coreos.com/")) return { why: "the prometheus-operator CRDs and its PrometheusRule webhook come with kube-prometheus-stack", by: release("kube-prometheus-stack") };
    if (api === "batch/v1" && kindOf(r) === "Job" && w.kueue?.release && meta(r).labels?.[QUEUE_LABEL]) return { why: "Kueue's mjob.kb.io webhook must suspend it (it is queued)", by: () => w.kueue!.release };
    return undefined;
}

/** Objects created before (or not ordered after) what must admit them. */
export function admissionOrder(resources: RecordedResource[], w: World): { blocked: Blocked[]; findings: Finding[] } {
    const g = graph(resources);
    const blocked: Blocked[] = [];
    const findings: Finding[] = [];
    for (const r of g.order) {
        if (!r.custom || !r.type.startsWith("kubernetes:") || r.type.startsWith("kubernetes:helm.sh/")) continue;
        const gk = gatekeeperOf(r, w);
        if (gk) {
            const by = gk.by(resources);
            if (by && !after(g, keyOf(r), keyOf(by))) blocked.push({ resource: keyOf(r), reason: `${gk.why}, but it does not depend on ${label(by)}` });
            continue;
        }
        // Any other Job in a namespace Kueue's mjob.kb.io webhook (failurePolicy Fail) intercepts:
        // created while the webhook is registered but not serving, the API server rejects it.
        const k = w.kueue;
        if (k?.release && kindOf(r) === "Job" && String(r.inputs.apiVersion) === "batch/v1" && !k.unmanagedNamespaces.includes(meta(r).namespace ?? "default")) {
            if (!after(g, keyOf(r), keyOf(k.release)) && !after(g, keyOf(k.release), keyOf(r)))
                findings.push({ resource: keyOf(r), note: `not ordered against ${label(k.release)}: Kueue's mjob.kb.io webhook (failurePolicy Fail) sees every Job of namespace ${meta(r).namespace}; created while Kueue installs, the API server may reject it` });
        }
    }
    return { blocked, findings };
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/** A committed stack planned with its raw config changed by `edit` (e.g. a training hyper-parameter). */
export async function planEdited(name: string, edit: (values: Record<string, unknown>) => void): Promise<Plan> {
    const path = await import("node:path");
    const { readStackFile } = await import("../../plan/stackFile");
    const { plan } = await import("../../plan/run");
    const { ROOT } = await import("../harness");
    const raw = readStackFile(path.join(ROOT, "stacks", `Pulumi.${name}.yaml`), "miles-cluster");
    const values: Record<string, unknown> = Object.fromEntries(Object.entries(raw.values).map(([k, v]) => [k, k.startsWith("miles-cluster:") ? JSON.parse(v) : v]));
    edit(values);
    const p = await plan(name, { ...raw, values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])) });
    if (p.problems.length > 0) throw new Error(`edited ${name} does not plan: ${p.problems.map((x) => `${x.path}: ${x.message}`).join("; ")}`);
    return p;
}

/**
 * The RayJobs of a deployed plan as runs that hold every GPU and EFA device of the node groups their
 * pods select (as many as fit, in program order: a second run on the same nodes waits in the queue).
 */
export function runningRuns(p: { resources: RecordedResource[] }, w: World): RecordedResource[] {
    const out: RecordedResource[] = [];
    const taken = new Set<string>();
    for (const r of p.resources.filter((x) => kindOf(x) === "RayJob" && x.custom)) {
        const groups = [...new Set(needsOf(r, w.groups).pods.filter((x) => x.gpus > 0).flatMap((x) => x.groups))];
        if (groups.length === 0 || groups.some((gname) => taken.has(gname))) continue;
        groups.forEach((gname) => taken.add(gname));
        out.push(r);
    }
    return out;
}

/** Needs of a run holding all of its groups (for `walk`'s `running`). */
export function holdingWholeGroups(r: RecordedResource, w: World): RecordedResource {
    const groups = [...new Set(needsOf(r, w.groups).pods.filter((x) => x.gpus > 0).flatMap((x) => x.groups))];
    const spec = { rayClusterSpec: { headGroupSpec: { template: { spec: {} } }, workerGroupSpecs: groups.map((gname) => {
        const g = w.groups.find((x) => x.name === gname)!;
        return { replicas: g.nodes, template: { spec: { nodeSelector: g.selector, containers: [{ image: "", resources: { limits: { [GPU]: g.gpusPerNode, ...(g.efaPerNode ? { [EFA]: g.efaPerNode } : {}) } } }] } } };
    }) } };
    return { ...r, inputs: { ...r.inputs, spec } };
}

/**
 * Why Kueue does not admit the queued object `r` now, while `running` (RayJobs holding their GPUs,
 * admitted before it) keep theirs (undefined: it is admitted at once). Quota and free nodes, as `walk`.
 */
export function queueHoldsBack(r: RecordedResource, running: RecordedResource[], w: World): string | undefined {
    const held = running.map((x) => ({ key: keyOf(x), needs: needsOf(x, w.groups), queued: queued(x, w) }));
    return fits(needsOf(r, w.groups), held, w, queued(r, w));
}

/** An update of a deployed plan `prev` to `next` while the runs of `prev` hold their GPUs. */
export function update(prev: Plan, next: Plan, w: World): Walk & { steps: Map<string, Step> } {
    const s = steps(prev.resources, next.resources);
    const running = runningRuns(prev, w).map((r) => holdingWholeGroups(r, w));
    return { ...walk(next, w, { running, steps: s }), steps: s };
}

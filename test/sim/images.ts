/**
 * Deployment simulation, images layer: every container of every pod the stack makes the cluster
 * run, and whether a node can pull its image. A node's containerd resolves an image reference the
 * way github.com/distribution/reference does (v0.6.0, commit ff14faf, normalize.go:126-160
 * splitDockerDomain): a first path component without "." or ":" (and not "localhost") is not a
 * registry host, so the reference means Docker Hub (docker.io), "library/" prefixed when it has one
 * component. A reference passes when
 *   - its registry is one a catalog pin lives in (catalog/versions.ts IMAGES: registry.k8s.io,
 *     cr.fluentbit.io, docker.io, …) or the registry of the image the stack's config names, and
 *   - it is exactly a pinned image (`repository:tag` of IMAGES) or the image a run's config names,
 *   - or, for the EFA build, the reference in the stack's ECR repository: under the plan that is an
 *     unknown value, accepted only for a run whose image is the EFA build in a stack (or its cluster
 *     stack) that registers that ECR repository and exports its still-unknown URL.
 * A bare `miles-cluster/<stack>/miles-efa:…` normalises to docker.io/miles-cluster/<stack>/miles-efa,
 * which is neither pinned nor configured (and Docker Hub has no three-part repositories).
 */
import type { Plan } from "../../plan/run";
import { UNKNOWN } from "../../plan/evaluate";
import { IMAGES, imageRef } from "../../catalog/versions";
import type { ResolvedRun } from "../../domain/training/run";
import { stackPlan, type K8sObject } from "./world";

// ---------------------------------------------------------------------------------------------
// Pod templates and containers of the registered objects

export interface Container {
    name: string;
    image?: unknown;
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
    restartPolicy?: string;
    [k: string]: unknown;
}

export interface PodSpecLike {
    containers: Container[];
    initContainers?: Container[];
    nodeSelector?: Record<string, string>;
    affinity?: unknown;
    tolerations?: unknown[];
    [k: string]: unknown;
}

/** One pod template of an object: which object, where in it, and how many pods of it must run at once. */
export interface PodTemplate {
    object: K8sObject;
    /** e.g. `RayJob qwen3/head`, `Job qwen3-fabric`, `CronJob qwen3-block-save`. */
    id: string;
    /** head, worker:<group>, submitter, job, cronjob, daemonset, deployment… */
    role: string;
    /** The pod's labels (template metadata). */
    labels: Record<string, string>;
    spec: PodSpecLike;
    /** Pods of this template that run at the same time (replicas, Job parallelism). */
    pods: number;
}

function obj(v: unknown): Record<string, any> {
    return v !== null && typeof v === "object" ? (v as Record<string, any>) : {};
}

function template(o: K8sObject, role: string, t: unknown, pods: number, suffix = ""): PodTemplate | undefined {
    const tt = obj(t);
    if (!tt.spec) return undefined;
    return { object: o, id: `${o.kind} ${o.metadata.name ?? "?"}${suffix}`, role, labels: { ...obj(obj(tt.metadata).labels) }, spec: tt.spec as PodSpecLike, pods };
}

/** Kinds whose pods this layer knows how to find; any other object with containers fails `unmodelledContainers`. */
export const POD_KINDS = ["Pod", "Job", "CronJob", "RayJob", "DaemonSet", "Deployment", "StatefulSet", "ReplicaSet"] as const;

/** Every pod template of an object (none for objects without pods). */
export function podTemplatesOf(o: K8sObject): PodTemplate[] {
    const spec = obj(o.spec);
    const out: Array<PodTemplate | undefined> = [];
    switch (o.kind) {
        case "Pod":
            out.push({ object: o, id: `Pod ${o.metadata.name}`, role: "pod", labels: { ...(o.metadata.labels ?? {}) }, spec: spec as PodSpecLike, pods: 1 });
            break;
        case "Job":
            // A Job runs `parallelism` pods at once (default 1), never more than `completions` (batch/v1 JobSpec).
            out.push(template(o, "job", spec.template, Math.min(spec.parallelism ?? 1, spec.completions ?? spec.parallelism ?? 1)));
            break;
        case "CronJob": {
            const js = obj(obj(spec.jobTemplate).spec);
            out.push(template(o, "cronjob", js.template, Math.min(js.parallelism ?? 1, js.completions ?? js.parallelism ?? 1)));
            break;
        }
        case "RayJob": {
            const rc = obj(spec.rayClusterSpec);
            out.push(template(o, "head", obj(rc.headGroupSpec).template, 1, "/head"));
            for (const w of (rc.workerGroupSpecs ?? []) as Array<Record<string, any>>) {
                out.push(template(o, `worker:${w.groupName}`, w.template, (w.replicas ?? w.minReplicas ?? 1) * (w.numOfHosts ?? 1), `/worker ${w.groupName}`));
            }
            // KubeRay runs the submitter as a Kubernetes Job (submissionMode K8sJobMode, the default).
            if (spec.submitterPodTemplate) out.push(template(o, "submitter", spec.submitterPodTemplate, 1, "/submitter"));
            break;
        }
        case "DaemonSet":
            out.push(template(o, "daemonset", spec.template, 1));
            break;
        case "Deployment":
        case "StatefulSet":
        case "ReplicaSet":
            out.push(template(o, o.kind.toLowerCase(), spec.template, spec.replicas ?? 1));
            break;
    }
    return out.filter((t): t is PodTemplate => t !== undefined);
}

/** Every container and init container of a template, with whether it is an init container. */
export function containersOf(t: PodTemplate): Array<{ container: Container; init: boolean }> {
    return [...(t.spec.initContainers ?? []).map((c) => ({ container: c, init: true })), ...(t.spec.containers ?? []).map((c) => ({ container: c, init: false }))];
}

/** Objects holding a `containers` list that no pod template above reaches (a kind this layer does not model). */
export function unmodelledContainers(objects: ReadonlyArray<K8sObject>): string[] {
    const count = (v: unknown): number => {
        if (Array.isArray(v)) return v.reduce((n: number, x) => n + count(x), 0);
        if (v === null || typeof v !== "object") return 0;
        let n = 0;
        for (const [k, x] of Object.entries(v)) if (k !== "resource") n += (k === "containers" || k === "initContainers") && Array.isArray(x) ? x.length + count(x) : count(x);
        return n;
    };
    const out: string[] = [];
    for (const o of objects) {
        const found = count(o);
        const modelled = podTemplatesOf(o).reduce((n, t) => n + containersOf(t).length, 0);
        if (found !== modelled) out.push(`${o.kind} ${o.metadata.name}: ${found} containers, ${modelled} reached through its pod templates`);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Image references

export interface ImageName {
    /** The registry host, `docker.io` for a familiar name. */
    registry: string;
    /** The repository path in that registry (`library/` prefixed for one-component Docker Hub names). */
    repository: string;
    tag?: string;
    digest?: string;
}

/** Parses a reference and normalises its registry as distribution/reference splitDockerDomain does. */
export function parseImage(ref: string): ImageName | undefined {
    const m = /^(.+?)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(ref);
    if (!m) return undefined;
    const parts = m[1].split("/");
    const first = parts[0];
    const hasDomain = parts.length > 1 && (first === "localhost" || /[.:]/.test(first) || first.toLowerCase() !== first);
    const path = hasDomain ? parts.slice(1) : parts;
    // Path components: lowercase alphanumerics separated by ".", "_", "__" or dashes (distribution/reference regexp.go).
    if (path.length === 0 || !path.every((c) => /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(c))) return undefined;
    const registry = hasDomain ? (first === "index.docker.io" ? "docker.io" : first) : "docker.io";
    const repository = registry === "docker.io" && path.length === 1 ? `library/${path[0]}` : path.join("/");
    return { registry, repository, tag: m[2], digest: m[3] };
}

/** `registry/repository[:tag][@digest]`, the fully qualified form. */
export function qualified(n: ImageName): string {
    return `${n.registry}/${n.repository}${n.tag ? `:${n.tag}` : ""}${n.digest ? `@${n.digest}` : ""}`;
}

/** What the stack's plan lets a node pull. */
export interface ImagePolicy {
    /** Fully qualified references a container may name: the catalog pins and the runs' configured images. */
    allowed: Set<string>;
    /** Registries those live in. */
    registries: Set<string>;
    /** Run names whose image is the EFA build in an ECR repository the stack (or its cluster stack) registers, with its URL unknown under the plan. */
    ecrRuns: Set<string>;
}

/** The enabled runs of a planned stack, resolved as the program resolved them (the one place this layer resolves runs). */
export function runsOf(p: Plan): ResolvedRun[] {
    return (p.resolved?.runs ?? []).map((x) => x.run);
}

/** The plan of the cluster stack a run stack runs on (the stack itself otherwise). */
export async function clusterPlanOf(p: Plan): Promise<Plan> {
    const ref = p.config?.cluster.clusterStack;
    return ref ? stackPlan(ref.planFrom ?? ref.name.split("/").pop()!) : p;
}

/** The ECR repository (name) a plan registers, and whether the stack exports its URL as a value known only after deploy. */
export function ecrRepositoryOf(p: Plan): { name: string; urlUnknown: boolean } | undefined {
    const repo = p.resources.find((r) => r.type === "aws:ecr/repository:Repository");
    if (!repo) return undefined;
    return { name: String(repo.inputs.name), urlUnknown: p.outputs.efaImageRepository === UNKNOWN };
}

/**
 * The image policy of a stack plan. `clusterPlan` is the plan of the cluster stack a run stack runs
 * on (its ECR repository), the plan itself otherwise.
 */
export function imagePolicy(p: Plan, clusterPlan: Plan = p): ImagePolicy {
    const allowed = new Set<string>();
    for (const pin of Object.values(IMAGES)) allowed.add(qualified(parseImage(imageRef(pin))!));
    const ecrRuns = new Set<string>();
    const ecr = ecrRepositoryOf(clusterPlan);
    for (const r of runsOf(p)) {
        if (r.imageChoice.source === "efa-build") {
            if (ecr && ecr.name === r.imageChoice.ecrRepositoryName && ecr.urlUnknown) ecrRuns.add(r.runName);
        } else {
            const n = r.imageChoice.ref === undefined ? undefined : parseImage(r.imageChoice.ref);
            if (n) allowed.add(qualified(n));
        }
    }
    const registries = new Set([...allowed].map((a) => a.slice(0, a.indexOf("/"))));
    return { allowed, registries, ecrRuns };
}

/** The run a pod belongs to (its `app.kubernetes.io/instance` label, set on every pod of a run). */
export function runOfTemplate(t: PodTemplate): string | undefined {
    return t.labels["app.kubernetes.io/instance"] ?? t.object.metadata.labels?.["app.kubernetes.io/instance"];
}

/** Why a node cannot pull this image for this pod; undefined when it can. */
export function imageProblem(image: unknown, run: string | undefined, policy: ImagePolicy): string | undefined {
    if (image === UNKNOWN) {
        if (run !== undefined && policy.ecrRuns.has(run)) return undefined;
        return `image known only after deploy, but run ${run ?? "(none)"} does not pull the EFA build from an ECR repository this stack registers`;
    }
    if (typeof image !== "string" || image === "") return "no image";
    const n = parseImage(image);
    if (!n) return `${image} is not a valid image reference`;
    if (!n.tag && !n.digest) return `${image} has neither tag nor digest (it would pull :latest)`;
    const q = qualified(n);
    if (!policy.registries.has(n.registry)) return `${image} resolves to ${q}: registry ${n.registry} is not one a pinned or configured image lives in`;
    if (n.registry === "docker.io" && n.repository.split("/").length !== 2) return `${image} has no registry host, so it resolves to Docker Hub (${q}), which has no such repository (Docker Hub repositories are <namespace>/<name>)`;
    if (!policy.allowed.has(q)) return `${image} resolves to ${q}, which is neither a catalog pin (catalog/versions.ts) nor a run's configured image`;
    return undefined;
}

export interface ImageFinding {
    template: string;
    container: string;
    init: boolean;
    image: unknown;
    problem?: string;
}

/** Every container of every pod template of these objects, judged. */
export function checkImages(objects: ReadonlyArray<K8sObject>, policy: ImagePolicy): ImageFinding[] {
    const out: ImageFinding[] = [];
    for (const o of objects) {
        for (const t of podTemplatesOf(o)) {
            const run = runOfTemplate(t);
            for (const { container, init } of containersOf(t)) out.push({ template: t.id, container: container.name, init, image: container.image, problem: imageProblem(container.image, run, policy) });
        }
    }
    return out;
}

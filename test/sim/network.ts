/**
 * The deployment simulation's network layer: the pods a stack's objects become once the upstream
 * controllers at our pins have created them, and Kubernetes NetworkPolicy (networking.k8s.io/v1)
 * evaluated over them the way a conforming CNI enforces it.
 *
 * NetworkPolicy semantics (https://kubernetes.io/docs/concepts/services-networking/network-policies/):
 * - a pod is isolated for ingress (egress) iff some policy of its namespace selects it
 *   (`spec.podSelector`) and has `Ingress` (`Egress`) in `policyTypes`; `policyTypes` defaults to
 *   `Ingress`, plus `Egress` when the policy has an `egress` section;
 * - a connection is allowed iff the source's egress allows it and the destination's ingress allows
 *   it; a non-isolated side allows everything; an isolated side allows what the union of the rules
 *   of every policy selecting it allows (policies are additive, order does not matter);
 * - a rule matches when one of its peers matches (absent or empty `from`/`to`: every peer) and one
 *   of its ports matches (absent or empty `ports`: every port and protocol);
 * - a peer: `podSelector` alone selects pods of the policy's own namespace; `namespaceSelector`
 *   alone every pod of the selected namespaces; both in one peer, the selected pods in the selected
 *   namespaces (AND); `ipBlock` a CIDR minus its `except` CIDRs. ipBlock is meant for
 *   cluster-external addresses and whether it matches pod IPs is up to the CNI, so here it matches
 *   external endpoints only (the stricter reading);
 * - a port: `protocol` defaults to TCP; no `port` means every port of that protocol; a number,
 *   with `endPort` a range; a name is looked up among the destination pod's container ports (of
 *   that protocol), for ingress and egress rules alike;
 * - every namespace carries `kubernetes.io/metadata.name: <name>` (set by the API server since
 *   Kubernetes 1.22, https://kubernetes.io/docs/reference/labels-annotations-taints/#kubernetes-io-metadata-name).
 *
 * Pods (what each controller creates from what the program registers; each source is cited where it
 * is modelled below): the RayJob's head and workers and its submitter Job (KubeRay v1.7.0), Jobs
 * and CronJobs (the Kubernetes Job controller), the KubeRay operator and Prometheus (their pinned
 * Helm charts), the DCGM exporter, kube-dns, and a stranger pod in `default` for negative controls.
 */
import type { Plan } from "../../plan/run";
import type { RecordedResource } from "../../plan/evaluate";
import { DCGM_EXPORTER_SERVICE } from "../../catalog/observability";
import { k8sObjects, stackPlan, type K8sObject } from "./world";

export type Labels = Record<string, string>;
export type Protocol = "TCP" | "UDP" | "SCTP";

export interface ContainerPort {
    name?: string;
    containerPort: number;
    protocol: Protocol;
}

/** A pod as the API server would hold it once its controller created it. */
export interface Pod {
    kind: "pod";
    name: string;
    namespace: string;
    labels: Labels;
    /** Ports of its containers and native sidecars (restartPolicy Always init containers). */
    ports: ContainerPort[];
    /** What it is: ray-head, ray-worker, ray-submitter, job, cronjob, kuberay-operator, prometheus, dcgm-exporter, kube-dns, stranger. */
    role: string;
    /** The object of the plan it comes from (kind/name). */
    from: string;
    /** The stack whose plan registered that object; undefined for pods outside any plan (kube-dns, stranger). */
    stack?: string;
    /** The RayJob it belongs to (Ray pods and the submitter). */
    rayJob?: string;
    /** The Ray group of a Ray pod (`headgroup` or the worker group's name). */
    group?: string;
}

/** An address outside the cluster. */
export interface External {
    kind: "external";
    name: string;
    ip: string;
}

export type Endpoint = Pod | External;

export interface LabelSelector {
    matchLabels?: Labels;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface PolicyPeer {
    podSelector?: LabelSelector;
    namespaceSelector?: LabelSelector;
    ipBlock?: { cidr: string; except?: string[] };
}

export interface PolicyPort {
    protocol?: Protocol;
    port?: number | string;
    endPort?: number;
}

export interface PolicyRule {
    from?: PolicyPeer[];
    to?: PolicyPeer[];
    ports?: PolicyPort[];
}

export interface NetworkPolicy {
    metadata: { name: string; namespace: string };
    spec: { podSelector: LabelSelector; policyTypes?: ("Ingress" | "Egress")[]; ingress?: PolicyRule[]; egress?: PolicyRule[] };
}

/** Everything the network layer sees: namespaces with their labels, pods, policies and the objects they came from. */
export interface World {
    /** The stack the world is built for (for a run stack, its cluster stack's objects are in it too). */
    stack: string;
    /** The stacks whose plans it holds (the cluster stack first). */
    stacks: string[];
    namespaces: Map<string, Labels>;
    pods: Pod[];
    policies: NetworkPolicy[];
    objects: Array<K8sObject & { stack: string }>;
    /** The Services the ServiceMonitors select that Helm releases create (not expanded in the plan). */
    releaseServices: SimService[];
}

export interface SimService {
    name: string;
    namespace: string;
    labels: Labels;
    selector: Labels;
    ports: { name?: string; port: number; targetPort: number | string; protocol: Protocol }[];
}

// ---------------------------------------------------------------------------------------------
// Selectors and addresses

/** Kubernetes label selector semantics: every matchLabels pair and every expression; {} selects everything. */
export function selects(sel: LabelSelector | undefined, labels: Labels): boolean {
    if (!sel) return true;
    for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
    for (const e of sel.matchExpressions ?? []) {
        const has = Object.prototype.hasOwnProperty.call(labels, e.key);
        const vals = e.values ?? [];
        switch (e.operator) {
            case "In":
                if (!has || !vals.includes(labels[e.key])) return false;
                break;
            case "NotIn":
                if (has && vals.includes(labels[e.key])) return false;
                break;
            case "Exists":
                if (!has) return false;
                break;
            case "DoesNotExist":
                if (has) return false;
                break;
            default:
                throw new Error(`unknown selector operator ${e.operator}`);
        }
    }
    return true;
}

function ipv4(ip: string): number {
    const parts = ip.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
    return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

/** Whether an IPv4 address lies in a CIDR. */
export function inCidr(ip: string, cidr: string): boolean {
    const [base, bits] = cidr.split("/");
    const n = Number(bits ?? 32);
    const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
    return ((ipv4(ip) & mask) >>> 0) === ((ipv4(base) & mask) >>> 0);
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export interface SideVerdict {
    /** Whether some policy selecting the pod has this direction in its policyTypes. */
    isolated: boolean;
    allowed: boolean;
    /** The policies selecting the pod for this direction; of those, the ones whose rules admit the flow. */
    selecting: string[];
    admittedBy: string[];
}

export interface Verdict {
    allowed: boolean;
    egress: SideVerdict;
    ingress: SideVerdict;
}

export interface Flow {
    from: Endpoint;
    to: Endpoint;
    port: number;
    protocol?: Protocol;
}

function policyTypes(p: NetworkPolicy): string[] {
    return p.spec.policyTypes ?? ["Ingress", ...(p.spec.egress ? ["Egress"] : [])];
}

function peerMatches(w: World, policyNs: string, peer: PolicyPeer, e: Endpoint): boolean {
    if (peer.ipBlock) {
        if (e.kind !== "external") return false;
        return inCidr(e.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((x) => inCidr(e.ip, x));
    }
    if (e.kind !== "pod") return false;
    if (!peer.podSelector && !peer.namespaceSelector) throw new Error("a NetworkPolicy peer needs podSelector, namespaceSelector or ipBlock");
    const nsOk = peer.namespaceSelector ? selects(peer.namespaceSelector, w.namespaces.get(e.namespace) ?? {}) : e.namespace === policyNs;
    return nsOk && selects(peer.podSelector, e.labels);
}

/** A named port resolved against the destination pod's container ports of that protocol; undefined when it has none. */
export function resolveNamedPort(dst: Endpoint, name: string, protocol: Protocol): number | undefined {
    if (dst.kind !== "pod") return undefined;
    return dst.ports.find((p) => p.name === name && p.protocol === protocol)?.containerPort;
}

function portMatches(pp: PolicyPort, dst: Endpoint, port: number, protocol: Protocol): boolean {
    if ((pp.protocol ?? "TCP") !== protocol) return false;
    if (pp.port === undefined) return true;
    if (typeof pp.port === "string" && !/^\d+$/.test(pp.port)) {
        if (pp.endPort !== undefined) throw new Error("endPort needs a numeric port");
        return resolveNamedPort(dst, pp.port, protocol) === port;
    }
    const lo = Number(pp.port);
    return pp.endPort !== undefined ? port >= lo && port <= pp.endPort : port === lo;
}

function ruleMatches(w: World, policyNs: string, rule: PolicyRule, peers: PolicyPeer[] | undefined, other: Endpoint, dst: Endpoint, port: number, protocol: Protocol): boolean {
    const peerOk = !peers || peers.length === 0 || peers.some((p) => peerMatches(w, policyNs, p, other));
    const portOk = !rule.ports || rule.ports.length === 0 || rule.ports.some((p) => portMatches(p, dst, port, protocol));
    return peerOk && portOk;
}

function side(w: World, pod: Endpoint, dir: "Ingress" | "Egress", other: Endpoint, dst: Endpoint, port: number, protocol: Protocol): SideVerdict {
    if (pod.kind !== "pod") return { isolated: false, allowed: true, selecting: [], admittedBy: [] };
    const selecting = w.policies.filter((p) => p.metadata.namespace === pod.namespace && selects(p.spec.podSelector, pod.labels) && policyTypes(p).includes(dir));
    const admittedBy = selecting.filter((p) =>
        (dir === "Ingress" ? p.spec.ingress ?? [] : p.spec.egress ?? []).some((r) => ruleMatches(w, p.metadata.namespace, r, dir === "Ingress" ? r.from : r.to, other, dst, port, protocol)),
    );
    return { isolated: selecting.length > 0, allowed: selecting.length === 0 || admittedBy.length > 0, selecting: selecting.map(policyName), admittedBy: admittedBy.map(policyName) };
}

function policyName(p: NetworkPolicy): string {
    return `${p.metadata.namespace}/${p.metadata.name}`;
}

/** Whether a connection from one endpoint to another's port is allowed, and by which policies. */
export function evaluate(w: World, f: Flow): Verdict {
    const protocol = f.protocol ?? "TCP";
    const egress = side(w, f.from, "Egress", f.to, f.to, f.port, protocol);
    const ingress = side(w, f.to, "Ingress", f.from, f.to, f.port, protocol);
    return { allowed: egress.allowed && ingress.allowed, egress, ingress };
}

export function endpointName(e: Endpoint): string {
    return e.kind === "pod" ? `${e.namespace}/${e.name}` : `${e.name} (${e.ip})`;
}

/** One line explaining a verdict, for assertion messages. */
export function explain(f: Flow, v: Verdict): string {
    const s = (x: SideVerdict, d: string) => (!x.isolated ? `${d}: not isolated` : `${d}: selected by ${x.selecting.join(", ")}; ${x.allowed ? `admitted by ${x.admittedBy.join(", ")}` : "no rule admits it"}`);
    return `${endpointName(f.from)} → ${endpointName(f.to)}:${f.port}/${f.protocol ?? "TCP"} ${v.allowed ? "allowed" : "DENIED"} (${s(v.egress, "egress")}; ${s(v.ingress, "ingress")})`;
}

// ---------------------------------------------------------------------------------------------
// Pods from objects

type Obj = Record<string, any>;

function containerPorts(spec: Obj | undefined): ContainerPort[] {
    const cs = [...((spec?.containers ?? []) as Obj[]), ...((spec?.initContainers ?? []) as Obj[]).filter((c) => c.restartPolicy === "Always")];
    return cs.flatMap((c) => ((c.ports ?? []) as Obj[]).map((p) => ({ ...(p.name ? { name: String(p.name) } : {}), containerPort: Number(p.containerPort), protocol: (p.protocol ?? "TCP") as Protocol })));
}

/**
 * KubeRay v1.7.0 label keys and values (ray-project/kuberay tag v1.7.0):
 * ray-operator/controllers/ray/utils/constant.go:17-23 (ray.io/originated-from-cr-name,
 * ray.io/originated-from-crd, ray.io/cluster, ray.io/node-type, ray.io/group, ray.io/is-ray-node,
 * ray.io/identifier), :98-99 (app.kubernetes.io/name, app.kubernetes.io/created-by), :126,129
 * (values `kuberay`, `kuberay-operator`), :352 (head group `headgroup`); utils/util.go:52 (CRD
 * value `RayJob`), :369-371 (RayCluster name: `<rayjob>-<5 random chars>`), :385-387 (identifier).
 */
export const KUBERAY = {
    originName: "ray.io/originated-from-cr-name",
    originCrd: "ray.io/originated-from-crd",
    cluster: "ray.io/cluster",
    nodeType: "ray.io/node-type",
    group: "ray.io/group",
    isRayNode: "ray.io/is-ray-node",
    identifier: "ray.io/identifier",
    appName: "app.kubernetes.io/name",
    createdBy: "app.kubernetes.io/created-by",
    headGroup: "headgroup",
    /** common/pod.go:289-296 (head), :689-696 (workers): a container port `metrics` 8080 when the Ray container has none (utils/constant.go:108,115). */
    metricsPort: { name: "metrics", containerPort: 8080 },
} as const;

/** The RayCluster a RayJob creates is named `<rayjob>-<rand.String(5)>` (rayjob_controller.go:904-909, utils/util.go:369-371); a fixed suffix here. */
export const RAYCLUSTER_SUFFIX = "sim42";

/**
 * The labels KubeRay v1.7.0 gives a Ray pod: common/pod.go `labelPod` (:1167-1191) — is-ray-node,
 * cluster, node-type, group, identifier, app.kubernetes.io/name=kuberay, created-by=kuberay-operator
 * — then the template's labels (merged with the group's top-level `labels`, :234-236 head,
 * :669-671 workers) override all but node-type, group and cluster.
 */
export function rayPodLabels(nodeType: "head" | "worker", cluster: string, group: string, template: Labels): Labels {
    const labels: Labels = {
        [KUBERAY.isRayNode]: "yes",
        [KUBERAY.cluster]: cluster,
        [KUBERAY.nodeType]: nodeType,
        [KUBERAY.group]: group,
        [KUBERAY.identifier]: `${cluster}-${nodeType}`.slice(0, 63),
        [KUBERAY.appName]: "kuberay",
        [KUBERAY.createdBy]: "kuberay-operator",
    };
    for (const [k, v] of Object.entries(template)) if (k !== KUBERAY.nodeType && k !== KUBERAY.group && k !== KUBERAY.cluster) labels[k] = v;
    return labels;
}

/** The Ray container (index 0) gets `metrics` 8080 when it has no port of that name (common/pod.go:289-296, 689-696). */
function rayPorts(spec: Obj | undefined): ContainerPort[] {
    const ray = (spec?.containers ?? [])[0] as Obj | undefined;
    const ports = containerPorts(spec);
    if (ray && !((ray.ports ?? []) as Obj[]).some((p) => p.name === KUBERAY.metricsPort.name)) ports.push({ ...KUBERAY.metricsPort, protocol: "TCP" });
    return ports;
}

/**
 * The labels the Kubernetes Job controller adds to a Job's pods (https://kubernetes.io/docs/concepts/workloads/controllers/job/,
 * "Job labels"; `batch.kubernetes.io/` prefixed since 1.27, the old keys kept): job-name and controller-uid.
 */
export function jobPodLabels(jobName: string, template: Labels): Labels {
    const uid = `uid-${jobName}`;
    return { ...template, "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": jobName, "controller-uid": uid, "job-name": jobName };
}

/** How many pods of a group to simulate: two when the group has two or more (enough for pod-to-pod flows inside it). */
function replicas(n: unknown): number {
    return Math.max(1, Math.min(Number(n ?? 1), 2));
}

function podsOfRayJob(o: K8sObject, stack: string): Pod[] {
    const spec = o.spec as Obj;
    const ns = o.metadata.namespace ?? "default";
    const name = o.metadata.name!;
    const cluster = `${name}-${RAYCLUSTER_SUFFIX}`;
    const rc = spec.rayClusterSpec as Obj;
    const base = { kind: "pod" as const, namespace: ns, stack, rayJob: name, from: `RayJob/${name}` };
    const head = rc.headGroupSpec as Obj;
    const pods: Pod[] = [
        { ...base, name: `${cluster}-head`, role: "ray-head", group: KUBERAY.headGroup, labels: rayPodLabels("head", cluster, KUBERAY.headGroup, { ...(head.template?.metadata?.labels ?? {}), ...(head.labels ?? {}) }), ports: rayPorts(head.template?.spec) },
    ];
    for (const g of (rc.workerGroupSpecs ?? []) as Obj[]) {
        for (let i = 0; i < replicas(g.replicas ?? g.minReplicas); i++) {
            pods.push({
                ...base,
                name: `${cluster}-${g.groupName}-worker-${i}`,
                role: "ray-worker",
                group: String(g.groupName),
                labels: rayPodLabels("worker", cluster, String(g.groupName), { ...(g.template?.metadata?.labels ?? {}), ...(g.labels ?? {}) }),
                ports: rayPorts(g.template?.spec),
            });
        }
    }
    // The submitter: a Job named after the RayJob (rayjob_controller.go:722-730) whose pod template is
    // submitterPodTemplate (common/job.go:215-228) plus three labels (rayjob_controller.go:599-604);
    // only in K8sJobMode, the default submission mode (rayjob_controller.go:230).
    if ((spec.submissionMode ?? "K8sJobMode") === "K8sJobMode") {
        const t = (spec.submitterPodTemplate ?? {}) as Obj;
        const labels = { ...(t.metadata?.labels ?? {}), [KUBERAY.originName]: name, [KUBERAY.originCrd]: "RayJob", [KUBERAY.createdBy]: "kuberay-operator" };
        pods.push({ ...base, name: `${name}-submitter`, role: "ray-submitter", labels: jobPodLabels(name, labels), ports: containerPorts(t.spec) });
    }
    return pods;
}

function podsOfJob(o: K8sObject, stack: string): Pod[] {
    const spec = o.spec as Obj;
    const name = o.metadata.name!;
    return Array.from({ length: replicas(spec.parallelism) }, (_, i) => ({
        kind: "pod" as const,
        name: `${name}-${i}`,
        namespace: o.metadata.namespace ?? "default",
        labels: jobPodLabels(name, spec.template?.metadata?.labels ?? {}),
        ports: containerPorts(spec.template?.spec),
        role: "job",
        from: `Job/${name}`,
        stack,
    }));
}

/** A CronJob's Job is named `<cronjob>-<scheduled minutes>` and labelled like any Job's pods (https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/). */
function podsOfCronJob(o: K8sObject, stack: string): Pod[] {
    const t = ((o.spec as Obj).jobTemplate?.spec ?? {}) as Obj;
    const job = `${o.metadata.name}-29000000`;
    return [{ kind: "pod", name: `${job}-0`, namespace: o.metadata.namespace ?? "default", labels: jobPodLabels(job, t.template?.metadata?.labels ?? {}), ports: containerPorts(t.template?.spec), role: "cronjob", from: `CronJob/${o.metadata.name}`, stack }];
}

/**
 * The pods of the Helm releases the network flows need (releases are not expanded in the plan):
 *
 * - kuberay-operator chart 1.7.0 (ray-project/kuberay v1.7.0 helm-chart/kuberay-operator/
 *   templates/deployment.yaml:21-24; _helpers.tpl:5 name `kuberay-operator`): name, instance
 *   (the release), component; the release's namespace.
 * - kube-prometheus-stack 88.5.3 (prometheus-community/helm-charts tag kube-prometheus-stack-88.5.3,
 *   charts/kube-prometheus-stack/templates/_helpers.tpl:14-25 fullname = `<release>-kube-prometheus-stack`
 *   truncated to 26 characters, :38-44 Prometheus CR `<fullname>-prometheus`; values.yaml:4619
 *   `podMetadata: {}`, :4346-4347 image prometheus/prometheus v3.14.0, :4892 `portName: "http-web"`):
 *   the operator (appVersion v0.93.1; read at prometheus-operator v0.93.0,
 *   pkg/prometheus/server/operator.go:1696-1704 makeSelectorLabels, statefulset.go:218-229,
 *   promcfg.go:1345-1352 `app.kubernetes.io/version`, common.go:65 shard label) labels the pod
 *   name=prometheus, managed-by=prometheus-operator, instance/operator.prometheus.io/name/prometheus
 *   = the CR name, shard 0, version 3.14.0; its container port `http-web` 9090.
 * - dcgm-exporter: the chart's selector labels and `metrics` port (catalog/observability.ts
 *   DCGM_EXPORTER_SERVICE), container port 9400.
 */
function podsOfRelease(r: RecordedResource, stack: string): { pods: Pod[]; services: SimService[] } {
    const i = r.inputs as Obj;
    const chart = String(i.chart ?? "");
    const release = String(i.name ?? r.name);
    const namespace = String(i.namespace ?? "default");
    const base = { kind: "pod" as const, namespace, stack, from: `Release/${release}` };
    if (chart === "kuberay-operator") {
        const labels = { "app.kubernetes.io/name": "kuberay-operator", "app.kubernetes.io/instance": release, "app.kubernetes.io/component": "kuberay-operator" };
        return { pods: [{ ...base, name: `${release}-0`, role: "kuberay-operator", labels, ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }] }], services: [] };
    }
    if (chart === "kube-prometheus-stack") {
        const full = `${release}-kube-prometheus-stack`.slice(0, 26).replace(/-+$/, "");
        const cr = `${full}-prometheus`;
        const labels = {
            "app.kubernetes.io/name": "prometheus",
            "app.kubernetes.io/managed-by": "prometheus-operator",
            "app.kubernetes.io/instance": cr,
            "app.kubernetes.io/version": "3.14.0",
            "operator.prometheus.io/name": cr,
            "operator.prometheus.io/shard": "0",
            prometheus: cr,
        };
        return { pods: [{ ...base, name: `prometheus-${cr}-0`, role: "prometheus", labels, ports: [{ name: "http-web", containerPort: 9090, protocol: "TCP" }] }], services: [] };
    }
    if (chart === "dcgm-exporter") {
        const labels = DCGM_EXPORTER_SERVICE.labels(release);
        const svc: SimService = { name: release, namespace, labels, selector: labels, ports: [{ name: DCGM_EXPORTER_SERVICE.port, port: 9400, targetPort: 9400, protocol: "TCP" }] };
        return { pods: [{ ...base, name: `${release}-node0`, role: "dcgm-exporter", labels, ports: [{ name: DCGM_EXPORTER_SERVICE.port, containerPort: 9400, protocol: "TCP" }] }], services: [svc] };
    }
    return { pods: [], services: [] };
}

/** kube-dns: the cluster DNS's pods carry `k8s-app: kube-dns` and serve 53/UDP and 53/TCP (coredns/deployment kubernetes/coredns.yaml.sed; EKS's CoreDNS add-on keeps the label). */
export const KUBE_DNS: Pod = {
    kind: "pod",
    name: "coredns-0",
    namespace: "kube-system",
    labels: { "k8s-app": "kube-dns" },
    ports: [
        { name: "dns", containerPort: 53, protocol: "UDP" },
        { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
        { name: "metrics", containerPort: 9153, protocol: "TCP" },
    ],
    role: "kube-dns",
    from: "cluster/kube-dns",
};

/** A pod of no stack, in a namespace of no stack: what must not reach a run. */
export const STRANGER: Pod = { kind: "pod", name: "stranger", namespace: "default", labels: { app: "stranger" }, ports: [], role: "stranger", from: "test/stranger" };

/** Public addresses: a download host (any public address), and the instance metadata service. */
export const INTERNET: External = { kind: "external", name: "download host", ip: "18.160.10.20" };
export const IMDS: External = { kind: "external", name: "instance metadata service", ip: "169.254.169.254" };

/** A world from plans (the cluster stack's first when the stack is a run stack). */
export function worldOf(stack: string, plans: Array<{ stack: string; plan: Plan }>): World {
    const objects = plans.flatMap(({ stack: s, plan }) => k8sObjects(plan).map((o) => Object.assign(o, { stack: s })));
    const pods: Pod[] = [KUBE_DNS, STRANGER];
    const releaseServices: SimService[] = [];
    for (const o of objects) {
        if (o.kind === "RayJob") pods.push(...podsOfRayJob(o, o.stack));
        else if (o.kind === "Job") pods.push(...podsOfJob(o, o.stack));
        else if (o.kind === "CronJob") pods.push(...podsOfCronJob(o, o.stack));
    }
    for (const { stack: s, plan } of plans) {
        for (const r of plan.resources.filter((x) => x.custom && x.type.startsWith("kubernetes:helm.sh/"))) {
            const x = podsOfRelease(r, s);
            pods.push(...x.pods);
            releaseServices.push(...x.services);
        }
    }
    const namespaces = new Map<string, Labels>();
    const ns = (name: string, labels: Labels = {}) => namespaces.set(name, { ...(namespaces.get(name) ?? {}), ...labels, "kubernetes.io/metadata.name": name });
    for (const o of objects.filter((x) => x.kind === "Namespace")) ns(o.metadata.name!, o.metadata.labels ?? {});
    for (const p of pods) if (!namespaces.has(p.namespace)) ns(p.namespace);
    const policies = objects.filter((o) => o.kind === "NetworkPolicy").map((o) => ({ metadata: { name: o.metadata.name!, namespace: o.metadata.namespace ?? "default" }, spec: o.spec as NetworkPolicy["spec"] }));
    return { stack, stacks: plans.map((p) => p.stack), namespaces, pods, policies, objects, releaseServices };
}

/** The cluster stack a run stack's plan runs on (the stack file plan derives its facts from), or undefined for a cluster stack. */
export function clusterStackOfPlan(p: Plan): string | undefined {
    const ref = p.config?.cluster.clusterStack;
    return ref ? (ref.planFrom ?? ref.name.split("/").pop()!) : undefined;
}

const worlds = new Map<string, Promise<World>>();

/** The world of a committed stack (memoised): its plan's objects, and its cluster stack's for a run stack. */
export function stackWorld(name: string): Promise<World> {
    let w = worlds.get(name);
    if (!w) {
        w = (async () => {
            const own = await stackPlan(name);
            const cluster = clusterStackOfPlan(own);
            const plans = cluster ? [{ stack: cluster, plan: await stackPlan(cluster) }, { stack: name, plan: own }] : [{ stack: name, plan: own }];
            return worldOf(name, plans);
        })();
        worlds.set(name, w);
    }
    return w;
}

// ---------------------------------------------------------------------------------------------
// What the stack's workload needs

/**
 * Ray's ports (https://docs.ray.io/en/latest/ray-core/configure.html#ports-configurations): head
 * `--port` (GCS, 6379), `--dashboard-port` 8265, `--ray-client-server-port` 10001; every node
 * `--node-manager-port` and `--object-manager-port` (random unless set), `--min-worker-port` 10002
 * to `--max-worker-port` 19999 (worker processes), `--dashboard-agent-listen-port` 52365,
 * `--dashboard-agent-grpc-port` and `--runtime-env-agent-port` (random), `--metrics-export-port`
 * (KubeRay sets 8080, common/pod.go:1373-1375). Read from the group's rayStartParams, else Ray's
 * default; a random port is represented by sample ports of Linux's ephemeral range
 * (net.ipv4.ip_local_port_range 32768-60999), where the kernel puts a port bound to 0.
 */
export interface RayNodePorts {
    /** Ports another Ray node connects to on this node. */
    node: number[];
    /** What each port is, for messages. */
    what: Record<number, string>;
}

export const EPHEMERAL_SAMPLES = [32768, 45000, 60999];

export function rayNodePorts(params: Record<string, string> | undefined): RayNodePorts {
    const p = params ?? {};
    const what: Record<number, string> = {};
    const add = (port: number, w: string) => (what[port] = what[port] ? `${what[port]}, ${w}` : w);
    const fixedOr = (key: string, w: string, dflt?: number) => {
        const v = p[key] !== undefined ? Number(p[key]) : dflt;
        if (v !== undefined && v !== 0) add(v, w);
        else for (const s of EPHEMERAL_SAMPLES) add(s, `${w} (random)`);
    };
    fixedOr("node-manager-port", "node manager");
    fixedOr("object-manager-port", "object manager");
    fixedOr("dashboard-agent-grpc-port", "dashboard agent gRPC");
    fixedOr("runtime-env-agent-port", "runtime env agent");
    fixedOr("dashboard-agent-listen-port", "dashboard agent HTTP", 52365);
    fixedOr("metrics-export-port", "metrics export", 8080);
    const lo = Number(p["min-worker-port"] ?? 10002);
    const hi = Number(p["max-worker-port"] ?? 19999);
    if (lo === 0) for (const s of EPHEMERAL_SAMPLES) add(s, "worker (random)");
    else for (const s of [lo, Math.floor((lo + hi) / 2), hi]) add(s, "worker process");
    return { node: Object.keys(what).map(Number).sort((a, b) => a - b), what };
}

/** The RayJob objects of the world's own stack. */
export function rayJobsOf(w: World): Array<K8sObject & { stack: string }> {
    return w.objects.filter((o) => o.kind === "RayJob" && o.stack === w.stack);
}

/** The head's GCS port and dashboard port from the head group's rayStartParams (Ray defaults 6379, 8265; KubeRay common/pod.go:54-59). */
export function headPorts(rayJob: K8sObject): { gcs: number; dashboard: number } {
    const p = ((rayJob.spec as Obj).rayClusterSpec?.headGroupSpec?.rayStartParams ?? {}) as Record<string, string>;
    return { gcs: Number(p.port ?? 6379), dashboard: Number(p["dashboard-port"] ?? 8265) };
}

export function groupParams(rayJob: K8sObject, group: string): Record<string, string> {
    const rc = (rayJob.spec as Obj).rayClusterSpec as Obj;
    if (group === KUBERAY.headGroup) return rc.headGroupSpec?.rayStartParams ?? {};
    return ((rc.workerGroupSpecs ?? []) as Obj[]).find((g) => g.groupName === group)?.rayStartParams ?? {};
}

/** Every pod of a run: its Ray pods and submitter, and the Jobs/CronJobs labelled with its instance. */
export function runPods(w: World, rayJob: K8sObject & { stack: string }): Pod[] {
    const instance = rayJob.metadata.labels?.["app.kubernetes.io/instance"];
    return w.pods.filter(
        (p) => p.stack === rayJob.stack && p.namespace === rayJob.metadata.namespace && (p.rayJob === rayJob.metadata.name || (instance !== undefined && (p.role === "job" || p.role === "cronjob") && p.labels["app.kubernetes.io/instance"] === instance)),
    );
}

export interface ScrapeTarget {
    monitor: string;
    prometheus: Pod;
    pod: Pod;
    portName: string;
    port: number;
}

/**
 * What Prometheus scrapes (prometheus-operator monitoring.coreos.com/v1): a PodMonitor's pods
 * (`selector` in the namespaces of `namespaceSelector` — `matchNames`, `any`, default the monitor's
 * own) on the container port named by each `podMetricsEndpoints[].port`; a ServiceMonitor's
 * Services (same selection) and, through each Service's selector (its Endpoints), their pods on the
 * target port of the Service port named by `endpoints[].port`. A pod without the named port is no
 * target. The scraper is the Prometheus pod of the release in the monitor's namespace.
 */
export function scrapeTargets(w: World): { targets: ScrapeTarget[]; unscraped: string[] } {
    const targets: ScrapeTarget[] = [];
    const unscraped: string[] = [];
    const services: SimService[] = [
        ...w.objects.filter((o) => o.kind === "Service").map((o) => {
            const s = o.spec as Obj;
            return { name: o.metadata.name!, namespace: o.metadata.namespace ?? "default", labels: o.metadata.labels ?? {}, selector: s.selector ?? {}, ports: ((s.ports ?? []) as Obj[]).map((p) => ({ name: p.name, port: Number(p.port), targetPort: p.targetPort ?? p.port, protocol: (p.protocol ?? "TCP") as Protocol })) };
        }),
        ...w.releaseServices,
    ];
    for (const m of w.objects.filter((o) => o.kind === "PodMonitor" || o.kind === "ServiceMonitor")) {
        const spec = m.spec as Obj;
        const own = m.metadata.namespace ?? "default";
        const prometheus = w.pods.find((p) => p.role === "prometheus" && p.namespace === own);
        const name = `${m.kind} ${own}/${m.metadata.name}`;
        if (!prometheus) {
            unscraped.push(`${name}: no Prometheus in ${own}`);
            continue;
        }
        const nsOk = (ns: string) => (spec.namespaceSelector?.any ? true : spec.namespaceSelector?.matchNames ? (spec.namespaceSelector.matchNames as string[]).includes(ns) : ns === own);
        if (m.kind === "PodMonitor") {
            for (const ep of (spec.podMetricsEndpoints ?? []) as Obj[]) {
                for (const pod of w.pods.filter((p) => nsOk(p.namespace) && selects(spec.selector ?? {}, p.labels))) {
                    const port = pod.ports.find((x) => x.name === ep.port);
                    if (port) targets.push({ monitor: `${name} port ${ep.port}`, prometheus, pod, portName: String(ep.port), port: port.containerPort });
                }
            }
        } else {
            for (const ep of (spec.endpoints ?? []) as Obj[]) {
                for (const svc of services.filter((s) => nsOk(s.namespace) && selects(spec.selector ?? {}, s.labels))) {
                    const sp = svc.ports.find((x) => x.name === ep.port);
                    if (!sp) continue;
                    for (const pod of w.pods.filter((p) => p.namespace === svc.namespace && Object.keys(svc.selector).length > 0 && selects({ matchLabels: svc.selector }, p.labels))) {
                        const port = typeof sp.targetPort === "number" || /^\d+$/.test(String(sp.targetPort)) ? Number(sp.targetPort) : pod.ports.find((x) => x.name === sp.targetPort)?.containerPort;
                        if (port !== undefined) targets.push({ monitor: `${name} port ${ep.port}`, prometheus, pod, portName: String(ep.port), port });
                    }
                }
            }
        }
    }
    return { targets, unscraped };
}

/**
 * Deployment simulation, scheduling layer: the nodes a stack's node groups really bring up, and
 * whether every pod the stack makes the cluster run lands on one (labels, taints) and fits it
 * (requests ≤ allocatable), and — for groups that scale from zero — whether the Cluster Autoscaler's
 * template node admits the pod, since the CA only scales a group up for a pod that fits it.
 *
 * Upstream behaviour modelled (files read at the tags named):
 *
 * - Kubelet reservations of the EKS AL2023 AMI, github.com/awslabs/amazon-eks-ami tag v20260724
 *   (commit 81fec2e), nodeadm/internal/kubelet/config.go:
 *     :110-113  evictionHard memory.available 100Mi
 *     :283-287  kubeReserved cpu = getCPUMillicoresToReserve, memory = getMemoryMebibytesToReserve(maxPods)
 *     :410-438  CPU: 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% of the rest
 *     :442-444  memory: 11 MiB × maxPods + 255 MiB
 *   maxPods comes from the instance's ENI limits (eni_max_pods.go:75, ENIs × (IPv4 per ENI − 1) + 2),
 *   which are not known offline: MAX_PODS_BOUND bounds the memory reservation from above.
 *   The kubelet also takes pre-allocated huge pages out of allocatable memory.
 * - Cluster Autoscaler AWS provider, github.com/kubernetes/autoscaler tag cluster-autoscaler-1.35.2
 *   (commit 2d42588), cluster-autoscaler/cloudprovider/aws/:
 *     aws_manager.go:268-342 buildNodeFromTemplate — capacity pods 110, cpu, nvidia.com/gpu and
 *       memory from the instance-type table (:283-286), then every `node-template/resources/<name>`
 *       ASG tag (:290-294, extractAllocatableResourcesFromAsg :441-461); allocatable = capacity
 *       (:296-297, no reservations); labels = generic labels (:299-300, buildGenericLabels
 *       :389-402) + `node-template/label/<k>` and `eks:<k>` ASG tags (:302-303,
 *       extractLabelsFromAsg :404-424); taints = `node-template/taint/<k>` tags whose value is
 *       `<v>:<Effect>` (:305, extractTaintsFromAsg :484-516); for an EKS managed node group (ASG tags
 *       eks:cluster-name / eks:nodegroup-name → labels cluster-name / nodegroup-name) the node
 *       group's labels, taints and `node-template/resources` tags from DescribeNodegroup (:307-338).
 *     aws_wrapper.go:71-140 getManagedNodegroupInfo — labels amiType, eks.amazonaws.com/capacityType,
 *       k8sVersion, eks.amazonaws.com/nodegroup + the node group's labels; only taints with both key
 *       and value (:124-137).
 *     ec2_instance_types.go:5089-5109 (p5.48xlarge, p5en.48xlarge: 192 vCPU, 2097152 MiB, 8 GPUs);
 *       types missing there (p5e) come from DescribeInstanceTypes at start (aws_cloud_provider.go:436-440).
 *   and cluster-autoscaler/utils/taints/taints.go:45-52,108-145: taints with the ignore-taint.,
 *   startup-taint. or status-taint.cluster-autoscaler.kubernetes.io/ prefixes, or named by
 *   --startup-taint/--ignore-taint/--status-taint, are removed from template nodes.
 * - Scheduling rules: domain/scheduling.ts (tolerations, nodeSelector, required node affinity).
 * - A pod's effective request with native sidecars (KEP-753, k8s.io/component-helpers resource
 *   PodRequests): max(Σ containers + Σ sidecars, max over init containers of (init + sidecars
 *   started before it)).
 */
import type { Plan } from "../../plan/run";
import type { Taint } from "../../catalog/nodeLabels";
import { FSX_STARTUP_TAINT } from "../../catalog/nodeLabels";
import { HEALTH_PENDING_TAINT } from "../../domain/health/nodeHealth";
import { INSTANCE_FACTS, isGpuInstanceType } from "../../catalog/instances";
import { systemInstanceFacts } from "../../catalog/systemInstances";
import { efaDevicesPerNode, EFA_HUGEPAGES_2MI_PER_NODE } from "../../catalog/efaLayout";
import { CA_NODE_TEMPLATE_TAG } from "../../catalog/autoscaler";
import { gpuNodeGroupsFromConfig } from "../../domain/gpuNodes";
import { dcgmExporterPlacement, efaDevicePluginPlacement, nvidiaDevicePluginPlacement } from "../../domain/chartPlacement";
import { blockingTaints, daemonSetLandsOn, matchesNodeSelector, matchesRequiredNodeAffinity, nodeShapeOf, type Affinity, type NodeShape, type Toleration } from "../../domain/scheduling";
import { containersOf, podTemplatesOf, type Container, type PodTemplate } from "./images";
import type { K8sObject } from "./world";

// ---------------------------------------------------------------------------------------------
// Quantities and requests

/** Resource amounts in base units: cores for cpu, bytes for memory, huge pages and storage, counts otherwise. */
export type Resources = Record<string, number>;

const SUFFIX: Record<string, number> = { m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/** A Kubernetes quantity (`184`, `500m`, `1802Gi`, `5120Mi`) as a number of base units. */
export function parseQuantity(q: string | number): number {
    if (typeof q === "number") return q;
    const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q.trim());
    if (!m) throw new Error(`not a quantity: ${q}`);
    return Number(m[1]) * SUFFIX[m[2] ?? ""];
}

const MI = 2 ** 20;

function add(a: Resources, b: Resources, sign = 1): Resources {
    const out = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + sign * v;
    return out;
}

function max(a: Resources, b: Resources): Resources {
    const out = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = Math.max(out[k] ?? 0, v);
    return out;
}

/** A container's requests; a resource with only a limit is requested at its limit (API defaulting). */
export function containerRequests(c: Container): Resources {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    const out: Resources = {};
    for (const [k, v] of Object.entries({ ...lim, ...req })) out[k] = parseQuantity(String(v));
    return out;
}

/** The pod's effective request (native sidecars included, see the file comment). */
export function podRequests(t: PodTemplate): Resources {
    let sidecars: Resources = {};
    let initPeak: Resources = {};
    for (const { container, init } of containersOf(t)) {
        if (!init) continue;
        const r = containerRequests(container);
        if (container.restartPolicy === "Always") {
            sidecars = add(sidecars, r);
            initPeak = max(initPeak, sidecars);
        } else initPeak = max(initPeak, add(r, sidecars));
    }
    let main: Resources = {};
    for (const { container, init } of containersOf(t)) if (!init) main = add(main, containerRequests(container));
    return max(add(main, sidecars), initPeak);
}

/** Resources the request exceeds on a node with this allocatable, in words. */
export function shortfalls(request: Resources, allocatable: Resources): string[] {
    const out: string[] = [];
    for (const [k, v] of Object.entries(request)) {
        if (v <= 0) continue;
        const have = allocatable[k] ?? 0;
        if (v > have + 1e-9) out.push(`${k}: requests ${fmt(k, v)}, the node has ${fmt(k, have)}${k in allocatable ? "" : " (no such resource)"}`);
    }
    return out;
}

function fmt(k: string, v: number): string {
    if (k === "cpu") return `${Math.round(v * 1000)}m`;
    if (k === "memory" || k.startsWith("hugepages-") || k === "ephemeral-storage") return `${Math.round(v / MI)}Mi`;
    return String(v);
}

/** How many pods of this request fit one node (∞ when it requests nothing the node counts). */
export function podsPerNode(request: Resources, allocatable: Resources): number {
    let n = Infinity;
    for (const [k, v] of Object.entries(request)) if (v > 0) n = Math.min(n, Math.floor((allocatable[k] ?? 0) / v + 1e-9));
    return n;
}

// ---------------------------------------------------------------------------------------------
// Kubelet reservations (amazon-eks-ami nodeadm, see the file comment)

/** nodeadm getCPUMillicoresToReserve (config.go:410-438). */
export function kubeReservedCpuMillis(vcpus: number): number {
    const total = vcpus * 1000;
    const ranges = [0, 1000, 2000, 4000, total];
    const basisPoints = [600, 100, 50, 25];
    let reserved = 0;
    for (let i = 0; i < basisPoints.length; i++) {
        if (total <= ranges[i]) continue;
        reserved += Math.floor(((Math.min(total, ranges[i + 1]) - ranges[i]) * basisPoints[i]) / 10000);
    }
    return reserved;
}

/** nodeadm getMemoryMebibytesToReserve (config.go:442-444). */
export function kubeReservedMemoryMi(maxPods: number): number {
    return 11 * maxPods + 255;
}

/** evictionHard memory.available (config.go:111). */
export const EVICTION_HARD_MEMORY_MI = 100;

/**
 * Upper bound of the kubelet's maxPods: nodeadm derives it from the instance's ENI limits
 * (eni_max_pods.go:75), which are not known offline; 250 is EKS's largest recommended value, so the
 * memory reservation is never underestimated.
 */
export const MAX_PODS_BOUND = 250;

// ---------------------------------------------------------------------------------------------
// Nodes of the stack's node groups

export interface NodeGroupModel {
    name: string;
    /** `system`: the untainted node group of controllers and CPU pods; `gpu`: a GPU node group. */
    role: "system" | "gpu";
    instanceType?: string;
    /** Nodes the group may have (ASG max, or the configured count on a bring-your-own cluster). */
    maxNodes: number;
    minNodes: number;
    /** The steady-state node: labels and taints once startup taints are gone. */
    shape: NodeShape;
    capacity: Resources;
    /** Capacity less the kubelet's reservations and pre-allocated huge pages (no DaemonSets yet). */
    allocatable: Resources;
    /** Only some resources of the node are known (a bring-your-own node of unknown instance type): check only those. */
    partial?: boolean;
    /** The aws:eks/nodeGroup:NodeGroup inputs (undefined on a bring-your-own cluster). */
    nodeGroup?: Record<string, any>;
}

/** EKS API taint effects (NO_SCHEDULE…) as Kubernetes names (CA aws_wrapper.go taintEksTranslator does the same). */
export function eksEffect(e: string): Taint["effect"] {
    const m: Record<string, Taint["effect"]> = { NO_SCHEDULE: "NoSchedule", NO_EXECUTE: "NoExecute", PREFER_NO_SCHEDULE: "PreferNoSchedule" };
    return m[e] ?? (e as Taint["effect"]);
}

/**
 * Taints removed once a node has started: the FSx CSI node plugin removes its taint when it can
 * mount; the node check (domain/health/nodeCheck.ts) removes the health-pending one when the node passed.
 */
export const STARTUP_TAINT_KEYS: ReadonlySet<string> = new Set([FSX_STARTUP_TAINT.key, HEALTH_PENDING_TAINT.key]);

function capacityOf(instanceType: string | undefined, gpu: { gpus: number; efa: number } | undefined, maxPods = MAX_PODS_BOUND): Resources | undefined {
    let vcpus: number | undefined;
    let memGiB: number | undefined;
    if (instanceType && isGpuInstanceType(instanceType)) ({ vcpus, memoryGiB: memGiB } = INSTANCE_FACTS[instanceType]);
    else if (instanceType) ({ vcpus, memoryGiB: memGiB } = systemInstanceFacts(instanceType) ?? {});
    if (vcpus === undefined || memGiB === undefined) return undefined;
    const cap: Resources = { cpu: vcpus, memory: memGiB * 2 ** 30, pods: maxPods };
    if (gpu) {
        cap["nvidia.com/gpu"] = gpu.gpus;
        if (gpu.efa > 0) {
            cap["vpc.amazonaws.com/efa"] = gpu.efa;
            cap["hugepages-2Mi"] = EFA_HUGEPAGES_2MI_PER_NODE * 2 * MI;
        }
    }
    return cap;
}

/** Capacity less kubeReserved, evictionHard and the pre-allocated huge pages (memory). */
export function allocatableOf(capacity: Resources): Resources {
    const maxPods = capacity.pods ?? MAX_PODS_BOUND;
    return {
        ...capacity,
        cpu: capacity.cpu - kubeReservedCpuMillis(capacity.cpu) / 1000,
        memory: capacity.memory - (kubeReservedMemoryMi(maxPods) + EVICTION_HARD_MEMORY_MI) * MI - (capacity["hugepages-2Mi"] ?? 0) - (capacity["hugepages-1Gi"] ?? 0),
    };
}

/**
 * The node groups of a stack as their nodes will be: from the plan's aws:eks/nodeGroup:NodeGroup
 * resources (the system group and every GPU group), or on a bring-your-own cluster from the config's
 * GPU nodes (the system nodes are the user's and unknown).
 */
export function nodeGroupsOf(p: Plan): NodeGroupModel[] {
    const ngs = p.resources.filter((r) => r.type === "aws:eks/nodeGroup:NodeGroup");
    if (ngs.length === 0 && p.config) {
        return gpuNodeGroupsFromConfig(p.config).map((g) => {
            const capacity = capacityOf(g.instanceType, { gpus: g.gpusPerNode, efa: g.efaPerNode }) ?? { "nvidia.com/gpu": g.gpusPerNode, ...(g.efaPerNode > 0 ? { "vpc.amazonaws.com/efa": g.efaPerNode } : {}) };
            const partial = capacity.cpu === undefined;
            return { name: g.name, role: "gpu" as const, instanceType: g.instanceType, maxNodes: g.nodes, minNodes: g.nodes, shape: nodeShapeOf(g), capacity, allocatable: partial ? capacity : allocatableOf(capacity), partial };
        });
    }
    return ngs.map((r) => {
        const i = r.inputs as Record<string, any>;
        // A Capacity Block group names its instance type in its launch template only (EKS rejects instanceTypes there).
        const lt = p.resources.find((x) => x.type === "aws:ec2/launchTemplate:LaunchTemplate" && x.parent?.name === r.parent?.name && x.parent?.type === r.parent?.type);
        const instanceType: string | undefined = i.instanceTypes?.[0] ?? (lt?.inputs.instanceType as string | undefined);
        const gpu = instanceType && isGpuInstanceType(instanceType) ? { gpus: INSTANCE_FACTS[instanceType].gpus, efa: i.labels?.["vpc.amazonaws.com/efa.present"] === "true" ? efaDevicesPerNode(instanceType) : 0 } : undefined;
        const capacity = capacityOf(instanceType, gpu);
        if (!capacity) throw new Error(`node group ${i.nodeGroupName}: instance type ${instanceType} has no facts in the catalog`);
        const labels: Record<string, string> = {
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "node.kubernetes.io/instance-type": instanceType!,
            "beta.kubernetes.io/instance-type": instanceType!,
            "eks.amazonaws.com/nodegroup": String(i.nodeGroupName),
            ...(i.capacityType ? { "eks.amazonaws.com/capacityType": String(i.capacityType) } : {}),
            ...(i.labels ?? {}),
        };
        const taints = ((i.taints ?? []) as Array<{ key: string; value?: string; effect: string }>).map((t) => ({ key: t.key, value: t.value ?? "", effect: eksEffect(t.effect) }));
        const sc = i.scalingConfig ?? {};
        return {
            name: String(i.nodeGroupName),
            role: gpu ? ("gpu" as const) : ("system" as const),
            instanceType,
            maxNodes: Number(sc.maxSize ?? sc.desiredSize ?? 0),
            minNodes: Number(sc.minSize ?? 0),
            shape: { labels, taints: taints.filter((t) => !STARTUP_TAINT_KEYS.has(t.key)) },
            capacity,
            allocatable: allocatableOf(capacity),
            nodeGroup: i,
        };
    });
}

// ---------------------------------------------------------------------------------------------
// DaemonSets

/** A DaemonSet's pod as the node sees it: placement and effective request. */
export interface DaemonSetPod {
    name: string;
    placement: { tolerations?: Toleration[]; nodeSelector?: Record<string, string>; affinity?: Affinity };
    request: Resources;
}

/**
 * The DaemonSet charts the stack installs as Helm releases whose pods' requests our values would
 * set (`resources.requests` of the chart's one container), with the chart's placement model
 * (domain/chartPlacement.ts). A chart whose values set no requests adds none: the brief of this layer
 * counts only requests we set (chart defaults of these three are `resources: {}` or unset).
 */
const DAEMONSET_CHARTS: Record<string, (values: Record<string, unknown>) => DaemonSetPod["placement"]> = {
    "nvidia-device-plugin": nvidiaDevicePluginPlacement,
    "aws-efa-k8s-device-plugin": efaDevicePluginPlacement,
    "dcgm-exporter": dcgmExporterPlacement,
};

export function helmDaemonSetsOf(p: Plan): DaemonSetPod[] {
    const out: DaemonSetPod[] = [];
    for (const r of p.resources) {
        if (!r.type.startsWith("kubernetes:helm.sh/")) continue;
        const placementOf = DAEMONSET_CHARTS[String(r.inputs.chart)];
        if (!placementOf) continue;
        const values = (r.inputs.values ?? {}) as Record<string, any>;
        const requests = (values.resources?.requests ?? {}) as Record<string, string>;
        out.push({ name: `${r.inputs.chart} (Helm release ${r.name})`, placement: placementOf(values), request: Object.fromEntries(Object.entries(requests).map(([k, v]) => [k, parseQuantity(String(v))])) });
    }
    return out;
}

/** DaemonSets the stack registers as objects. */
export function daemonSetsOf(objects: ReadonlyArray<K8sObject>): DaemonSetPod[] {
    return objects
        .filter((o) => o.kind === "DaemonSet")
        .flatMap((o) => podTemplatesOf(o))
        .map((t) => ({ name: t.id, placement: { tolerations: t.spec.tolerations as Toleration[], nodeSelector: t.spec.nodeSelector, affinity: t.spec.affinity as Affinity }, request: podRequests(t) }));
}

/** What is left of a node of the group for other pods once the DaemonSets that land there run. */
export function allocatableAfterDaemonSets(g: NodeGroupModel, ds: ReadonlyArray<DaemonSetPod>): Resources {
    let left = { ...g.allocatable };
    for (const d of ds) if (daemonSetLandsOn(d.placement, g.shape).lands) left = add(left, d.request, -1);
    return left;
}

// ---------------------------------------------------------------------------------------------
// Pods on nodes

export interface PlacementCheck {
    lands: boolean;
    reasons: string[];
}

/** Whether a (non-DaemonSet) pod may be scheduled on a node of this shape: taints, nodeSelector, required node affinity. */
export function podLandsOn(spec: PodTemplate["spec"], node: NodeShape): PlacementCheck {
    const reasons: string[] = [];
    for (const t of blockingTaints((spec.tolerations ?? []) as Toleration[], node.taints)) reasons.push(`no toleration for taint ${t.key}=${t.value}:${t.effect}`);
    if (!matchesNodeSelector(spec.nodeSelector, node.labels)) reasons.push(`nodeSelector ${JSON.stringify(spec.nodeSelector)} does not match`);
    if (!matchesRequiredNodeAffinity(spec.affinity as Affinity | undefined, node.labels)) reasons.push("required node affinity matches none of the node's labels");
    return { lands: reasons.length === 0, reasons };
}

export interface PodFit {
    template: string;
    role: string;
    pods: number;
    request: Resources;
    /** Groups whose nodes the pod may land on. */
    groups: string[];
    /** Groups it lands on and fits one node of. */
    fits: string[];
    /** Nodes the pods need at once (one node holds podsPerNode of them), and the nodes the groups it fits have. */
    nodesNeeded: number;
    nodesAvailable: number;
    problems: string[];
}

/** Where one pod template's pods land, whether one fits a node, and whether the groups have nodes enough for all of them. */
export function fitPod(t: PodTemplate, groups: ReadonlyArray<NodeGroupModel>, ds: ReadonlyArray<DaemonSetPod> = []): PodFit {
    const full = podRequests(t);
    const problems: string[] = [];
    const landing = groups.filter((g) => podLandsOn(t.spec, g.shape).lands);
    if (landing.length === 0) problems.push(`lands on no node group: ${groups.map((g) => `${g.name} (${podLandsOn(t.spec, g.shape).reasons.join("; ")})`).join(", ")}`);
    const fits: NodeGroupModel[] = [];
    const requestOn = (g: NodeGroupModel) => (g.partial ? Object.fromEntries(Object.entries(full).filter(([k]) => k in g.allocatable)) : full);
    for (const g of landing) {
        const left = allocatableAfterDaemonSets(g, ds);
        const short = shortfalls(requestOn(g), left);
        if (short.length === 0) fits.push(g);
        else if (landing.length > 0) problems.push(`does not fit a ${g.name} node (${g.instanceType ?? "?"}): ${short.join("; ")}`);
    }
    const perNode = Math.min(...fits.map((g) => podsPerNode(requestOn(g), allocatableAfterDaemonSets(g, ds))), Infinity);
    const nodesNeeded = fits.length === 0 ? t.pods : Number.isFinite(perNode) ? Math.ceil(t.pods / perNode) : 1;
    const nodesAvailable = fits.reduce((n, g) => n + g.maxNodes, 0);
    if (fits.length > 0 && nodesNeeded > nodesAvailable) problems.push(`${t.pods} pod(s) need ${nodesNeeded} node(s) at once, the groups it fits (${fits.map((g) => g.name).join(", ")}) have ${nodesAvailable}`);
    // A pod that lands somewhere but fits nowhere is the failure; one group it does not fit among others it fits is fine.
    const real = fits.length > 0 ? problems.filter((p) => !p.startsWith("does not fit")) : problems;
    return { template: t.id, role: t.role, pods: t.pods, request: full, groups: landing.map((g) => g.name), fits: fits.map((g) => g.name), nodesNeeded, nodesAvailable, problems: real };
}

/** Every pod template of the objects, checked against the node groups. */
export function fitAll(objects: ReadonlyArray<K8sObject>, groups: ReadonlyArray<NodeGroupModel>, ds: ReadonlyArray<DaemonSetPod> = daemonSetsOf(objects)): PodFit[] {
    return objects.filter((o) => o.kind !== "DaemonSet").flatMap((o) => podTemplatesOf(o)).map((t) => fitPod(t, groups, ds));
}

// ---------------------------------------------------------------------------------------------
// Scale from zero: the Cluster Autoscaler's template node (see the file comment)

/** Instance types of the CA's generated table (ec2_instance_types.go at cluster-autoscaler-1.35.2) that our groups use. */
export const CA_INSTANCE_TYPES: Readonly<Record<string, { vcpu: number; memoryMb: number; gpu: number; arch: string; line: number }>> = {
    "p5.48xlarge": { vcpu: 192, memoryMb: 2097152, gpu: 8, arch: "amd64", line: 5089 },
    "p5en.48xlarge": { vcpu: 192, memoryMb: 2097152, gpu: 8, arch: "amd64", line: 5103 },
};

/** The CA's view of an instance type: its table, else DescribeInstanceTypes at start (our catalog's facts stand in). */
export function caInstanceType(t: string): { vcpu: number; memoryMb: number; gpu: number; arch: string } | undefined {
    if (CA_INSTANCE_TYPES[t]) return CA_INSTANCE_TYPES[t];
    if (isGpuInstanceType(t)) return { vcpu: INSTANCE_FACTS[t].vcpus, memoryMb: INSTANCE_FACTS[t].memoryGiB * 1024, gpu: INSTANCE_FACTS[t].gpus, arch: "amd64" };
    return undefined;
}

/** The Cluster Autoscaler chart's settings that decide discovery and template taints (from the plan's Helm release). */
export interface AutoscalerSettings {
    discoveryTags: string[];
    clusterName: string;
    startupTaints: string[];
}

export function autoscalerOf(p: Plan): AutoscalerSettings | undefined {
    const rel = p.resources.find((r) => r.type.startsWith("kubernetes:helm.sh/") && r.inputs.chart === "cluster-autoscaler");
    if (!rel) return undefined;
    const v = rel.inputs.values as Record<string, any>;
    // The chart makes `--<key before "_">=<value>` of each extraArgs entry (chart 9.59.0 templates/deployment.yaml:136-142);
    // --startup-taint/--ignore-taint/--status-taint take one taint each (config/flags/flags.go:53-56).
    const flags = Object.entries((v.extraArgs ?? {}) as Record<string, unknown>).map(([k, x]) => [/^[^_]+/.exec(k)![0], String(x)] as const);
    const taintFlags = flags.filter(([k]) => k === "startup-taint" || k === "ignore-taint" || k === "status-taint").map(([, x]) => x);
    return { discoveryTags: v.autoDiscovery?.tags ?? [], clusterName: String(v.autoDiscovery?.clusterName ?? ""), startupTaints: taintFlags };
}

/**
 * The tags of a group's Auto Scaling group: the aws:autoscaling/tag:Tag resources the stack
 * registers for it (the ClusterAutoscaler component names them `<component>-<group>-tag-<i>`; their
 * ASG name is known only after deploy), plus the tags EKS puts on every managed node group's ASG
 * (EKS user guide, managed node groups: eks:cluster-name, eks:nodegroup-name and the two CA
 * auto-discovery tags).
 */
export function asgTagsOf(p: Plan, group: string, clusterName: string): Record<string, string> {
    const tags: Record<string, string> = {
        "eks:cluster-name": clusterName,
        "eks:nodegroup-name": group,
        "k8s.io/cluster-autoscaler/enabled": "true",
        [`k8s.io/cluster-autoscaler/${clusterName}`]: "owned",
    };
    for (const r of p.resources) {
        if (r.type !== "aws:autoscaling/tag:Tag" || r.parent?.type !== "miles-cluster:cluster:ClusterAutoscaler") continue;
        if (!r.name.startsWith(`${r.parent.name}-${group}-tag-`)) continue;
        const t = r.inputs.tag as { key: string; value: string };
        tags[t.key] = t.value;
    }
    return tags;
}

export interface TemplateNode {
    labels: Record<string, string>;
    taints: Taint[];
    allocatable: Resources;
}

/** buildNodeFromTemplate for an EKS managed node group's ASG (aws_manager.go:268-342), then the template-node taint sanitising. */
export function caTemplateNode(g: NodeGroupModel, asgTags: Record<string, string>, ca: AutoscalerSettings, zone = "zone-a"): TemplateNode {
    const it = g.instanceType ? caInstanceType(g.instanceType) : undefined;
    if (!it) throw new Error(`${g.name}: the CA knows no instance type ${g.instanceType}`);
    const alloc: Resources = { pods: 110, cpu: it.vcpu, "nvidia.com/gpu": it.gpu, memory: it.memoryMb * MI };
    const resourcePrefix = `${CA_NODE_TEMPLATE_TAG}/resources/`;
    for (const [k, v] of Object.entries(asgTags)) if (k.startsWith(resourcePrefix) && k.length > resourcePrefix.length) alloc[k.slice(resourcePrefix.length)] = parseQuantity(v);
    const labels: Record<string, string> = {
        "kubernetes.io/arch": it.arch,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": g.instanceType!,
        "topology.kubernetes.io/region": zone.slice(0, -1),
        "topology.kubernetes.io/zone": zone,
        "topology.ebs.csi.aws.com/zone": zone,
        "kubernetes.io/hostname": `${g.name}-asg-template`,
    };
    const labelPrefix = `${CA_NODE_TEMPLATE_TAG}/label/`;
    for (const [k, v] of Object.entries(asgTags)) {
        if (k.startsWith(labelPrefix) && k.length > labelPrefix.length) labels[k.slice(labelPrefix.length)] = v;
        else if (k.startsWith("eks:") && k.length > 4) labels[k.slice(4)] = v;
    }
    const taints: Taint[] = [];
    const taintPrefix = `${CA_NODE_TEMPLATE_TAG}/taint/`;
    for (const [k, v] of Object.entries(asgTags)) {
        if (!/(.*):(?:NoSchedule|NoExecute|PreferNoSchedule)/.test(v) || !k.startsWith(taintPrefix) || k.length === taintPrefix.length) continue;
        const [value, effect] = [v.slice(0, v.indexOf(":")), v.slice(v.indexOf(":") + 1)];
        taints.push({ key: k.slice(taintPrefix.length), value, effect: effect as Taint["effect"] });
    }
    const ng = g.nodeGroup;
    if (ng && labels["nodegroup-name"] && labels["cluster-name"]) {
        // DescribeNodegroup: its labels win over the tags' (joinNodeLabelsChoosingUserValuesOverAPIValues), taints are appended.
        const mng: Record<string, string> = { ...(ng.amiType ? { amiType: String(ng.amiType) } : {}), ...(ng.capacityType ? { "eks.amazonaws.com/capacityType": String(ng.capacityType) } : {}), "eks.amazonaws.com/nodegroup": String(ng.nodeGroupName), ...(ng.labels ?? {}) };
        Object.assign(labels, mng);
        for (const t of (ng.taints ?? []) as Array<{ key?: string; value?: string; effect: string }>) if (t.key !== undefined && t.value !== undefined) taints.push({ key: t.key, value: t.value, effect: eksEffect(t.effect) });
        for (const [k, v] of Object.entries((ng.tags ?? {}) as Record<string, string>)) if (k.startsWith(resourcePrefix) && k.length > resourcePrefix.length) alloc[k.slice(resourcePrefix.length)] = parseQuantity(v);
    }
    const prefixes = ["ignore-taint.cluster-autoscaler.kubernetes.io/", "startup-taint.cluster-autoscaler.kubernetes.io/", "status-taint.cluster-autoscaler.kubernetes.io/"];
    const sanitized = taints.filter((t) => !ca.startupTaints.includes(t.key) && !prefixes.some((p) => t.key.startsWith(p)));
    return { labels, taints: sanitized, allocatable: alloc };
}

/** Whether the stack registers Cluster Autoscaler tags for the group's ASG (it means the CA to scale it). */
export function caTagged(p: Plan, group: string): boolean {
    return p.resources.some((r) => r.type === "aws:autoscaling/tag:Tag" && r.parent?.type === "miles-cluster:cluster:ClusterAutoscaler" && r.name.startsWith(`${r.parent.name}-${group}-tag-`));
}

/** Whether EKS's scheduled action starts the group (a Capacity Block: desired 0 until the block starts). */
export function blockScheduled(p: Plan, group: string): boolean {
    return p.resources.some((r) => r.type === "aws:autoscaling/schedule:Schedule" && r.name.includes(`-gpu-${group}-block-start-`));
}

/** Whether the CA discovers the ASG: it carries every discovery tag (auto_scaling_groups.go, `asg:tag=` keys). */
export function discovered(asgTags: Record<string, string>, ca: AutoscalerSettings): string[] {
    return ca.discoveryTags.filter((k) => !(k in asgTags));
}

/**
 * Startup taints of the group's nodes (taints that go once the node has started, STARTUP_TAINT_KEYS)
 * the autoscaler is not told about: it would judge such a node ready, see the pending pod still not
 * admitted, and scale up again (FAQ.md:269-281 at cluster-autoscaler-1.35.2, "Startup taints").
 */
export function undeclaredStartupTaints(g: NodeGroupModel, ca: AutoscalerSettings): string[] {
    const keys = ((g.nodeGroup?.taints ?? []) as Array<{ key: string }>).map((t) => t.key).filter((k) => STARTUP_TAINT_KEYS.has(k));
    return keys.filter((k) => !ca.startupTaints.includes(k) && !k.startsWith("startup-taint.cluster-autoscaler.kubernetes.io/"));
}

/** Why the CA would not scale the group up from zero for this pod (empty when it would). */
export function scaleUpProblems(t: PodTemplate, node: TemplateNode): string[] {
    const placement = podLandsOn(t.spec, { labels: node.labels, taints: node.taints });
    return [...placement.reasons, ...shortfalls(podRequests(t), node.allocatable)];
}

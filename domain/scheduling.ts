/**
 * Will a DaemonSet's pod land on a node group's nodes? Pure functions that implement the
 * Kubernetes scheduling rules that decide it (taints and tolerations, `nodeSelector`, required
 * node affinity) and the labels EKS and the kubelet put on every node. How the charts we install
 * turn their Helm values into a pod's placement fields is modelled in domain/chartPlacement.ts.
 *
 * This is what proves, offline, that the device plugins don't end up as the classic "DaemonSet
 * with DESIRED 0" on tainted GPU nodes (k8s-device-plugin #1934, aws-do-eks #56).
 *
 * Sources for the rules: Kubernetes API `core/v1` `Toleration.ToleratesTaint` and
 * `component-helpers/scheduling/corev1/nodeaffinity` semantics.
 */
import type { Taint } from "../catalog/nodeLabels";
import type { GpuNodeGroupInfo } from "./gpuNodes";

// ---------------------------------------------------------------------------------------------
// Kubernetes types (the subset of core/v1 that decides placement)

export type TaintEffect = Taint["effect"];

export interface Toleration {
    /** Empty/undefined key with operator Exists tolerates every taint. */
    key?: string;
    /** Default `Equal`. */
    operator?: "Exists" | "Equal";
    value?: string;
    /** Empty/undefined effect matches every effect. */
    effect?: TaintEffect;
    tolerationSeconds?: number;
}

export interface NodeSelectorRequirement {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt";
    values?: string[];
}

export interface NodeSelectorTerm {
    matchExpressions?: NodeSelectorRequirement[];
    /** Only `metadata.name` exists; we never use it (a term with matchFields is reported as unsupported). */
    matchFields?: NodeSelectorRequirement[];
}

export interface Affinity {
    nodeAffinity?: {
        requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: NodeSelectorTerm[] };
        /** Soft preference: never decides whether a pod may land. */
        preferredDuringSchedulingIgnoredDuringExecution?: unknown[];
    };
    /** Pod (anti-)affinity is not modelled; none of our DaemonSets uses it. */
    podAffinity?: unknown;
    podAntiAffinity?: unknown;
}

/** The placement fields of a pod template, as a chart renders them. */
export interface PodPlacement {
    tolerations?: Toleration[];
    nodeSelector?: Record<string, string>;
    affinity?: Affinity;
}

/** What the scheduler sees of a node. */
export interface NodeShape {
    labels: Record<string, string>;
    taints: Taint[];
}

// ---------------------------------------------------------------------------------------------
// Rules

/** `Toleration.ToleratesTaint`: effect (if set) must match, key (if set) must match, then Exists or Equal on the value. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.key && t.key !== taint.key) return false;
    const op = t.operator ?? "Equal";
    if (op === "Exists") return true;
    // An empty key is only valid with Exists (API validation); treat it as matching nothing here.
    if (!t.key) return false;
    return (t.value ?? "") === taint.value;
}

/**
 * Taints that keep the pod off the node: NoSchedule and NoExecute taints no toleration matches.
 * PreferNoSchedule is a soft preference and never blocks.
 */
export function blockingTaints(tolerations: ReadonlyArray<Toleration>, taints: ReadonlyArray<Taint>): Taint[] {
    return taints.filter((taint) => taint.effect !== "PreferNoSchedule" && !tolerations.some((t) => toleratesTaint(t, taint)));
}

/** One node-selector requirement against a node's labels. NotIn and DoesNotExist match when the label is absent. */
export function matchesRequirement(req: NodeSelectorRequirement, labels: Record<string, string>): boolean {
    const has = Object.prototype.hasOwnProperty.call(labels, req.key);
    const value = labels[req.key];
    const values = req.values ?? [];
    switch (req.operator) {
        case "In":
            return has && values.includes(value);
        case "NotIn":
            return !has || !values.includes(value);
        case "Exists":
            return has;
        case "DoesNotExist":
            return !has;
        case "Gt":
        case "Lt": {
            if (!has || values.length !== 1) return false;
            const int = /^-?\d+$/;
            if (!int.test(value) || !int.test(values[0])) return false;
            const a = Number(value);
            const b = Number(values[0]);
            return req.operator === "Gt" ? a > b : a < b;
        }
    }
}

/** A term matches when all its expressions match (AND). An empty term matches no node (Kubernetes rule). */
export function matchesTerm(term: NodeSelectorTerm, labels: Record<string, string>): boolean {
    if (term.matchFields && term.matchFields.length > 0) throw new Error("nodeSelectorTerms with matchFields are not modelled");
    const exprs = term.matchExpressions ?? [];
    if (exprs.length === 0) return false;
    return exprs.every((e) => matchesRequirement(e, labels));
}

/** Required node affinity: terms are OR'ed. No required affinity at all allows every node. */
export function matchesRequiredNodeAffinity(affinity: Affinity | undefined, labels: Record<string, string>): boolean {
    const required = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    if (!required) return true;
    return (required.nodeSelectorTerms ?? []).some((t) => matchesTerm(t, labels));
}

/** `nodeSelector`: every key must be present with exactly that value. */
export function matchesNodeSelector(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
    return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

/**
 * Tolerations the DaemonSet controller adds to every DaemonSet pod (`pkg/controller/daemon/util`):
 * node conditions, so a DaemonSet still covers a not-ready or pressured node.
 */
export const DAEMONSET_AUTO_TOLERATIONS: ReadonlyArray<Toleration> = [
    { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
];

export interface PlacementVerdict {
    lands: boolean;
    /** Why not, in words a user can act on; empty when it lands. */
    reasons: string[];
}

/** Decides whether a DaemonSet pod with these placement fields is scheduled on a node of this shape. */
export function daemonSetLandsOn(pod: PodPlacement, node: NodeShape): PlacementVerdict {
    const reasons: string[] = [];
    const tolerations = [...(pod.tolerations ?? []), ...DAEMONSET_AUTO_TOLERATIONS];
    for (const t of blockingTaints(tolerations, node.taints)) reasons.push(`no toleration for taint ${t.key}=${t.value}:${t.effect}`);
    for (const [k, v] of Object.entries(pod.nodeSelector ?? {})) {
        if (node.labels[k] !== v) reasons.push(`nodeSelector ${k}=${v} does not match (node has ${k in node.labels ? `${k}=${node.labels[k]}` : `no ${k} label`})`);
    }
    if (!matchesRequiredNodeAffinity(pod.affinity, node.labels)) reasons.push("required node affinity matches none of the node's labels");
    return { lands: reasons.length === 0, reasons };
}

// ---------------------------------------------------------------------------------------------
// Node labels

/** Labels every EKS managed-node-group node carries besides the ones we set. */
export const EKS_LABEL_NODEGROUP = "eks.amazonaws.com/nodegroup";
/** Set to `auto` on EKS Auto Mode nodes (and `fargate`/`hybrid` elsewhere); absent on managed-node-group nodes. */
export const EKS_LABEL_COMPUTE_TYPE = "eks.amazonaws.com/compute-type";
export const LABEL_INSTANCE_TYPE = "node.kubernetes.io/instance-type";
export const LABEL_OS = "kubernetes.io/os";
export const LABEL_ARCH = "kubernetes.io/arch";

/**
 * The labels a node of this group really carries: the kubelet's well-known labels (os, and arch and
 * instance type when the instance type is known), the EKS managed-node-group label on groups
 * miles-cluster creates (those have an `amiFamily`), plus the group's own labels. On a
 * bring-your-own group only what its config states is assumed. `eks.amazonaws.com/compute-type`
 * is deliberately absent: EKS sets it only on Auto Mode, Fargate and hybrid nodes, never on
 * managed-node-group nodes.
 */
export function nodeLabelsOf(group: GpuNodeGroupInfo): Record<string, string> {
    const wellKnown: Record<string, string> = { [LABEL_OS]: "linux" };
    if (group.instanceType) {
        // Every supported instance type (p5, p5e, p5en) is x86_64.
        wellKnown[LABEL_ARCH] = "amd64";
        wellKnown[LABEL_INSTANCE_TYPE] = group.instanceType;
        wellKnown["beta.kubernetes.io/instance-type"] = group.instanceType;
    }
    // The value is the EKS node group's name, which the cluster component chooses; nothing selects on it.
    if (group.amiFamily) wellKnown[EKS_LABEL_NODEGROUP] = group.name;
    return { ...wellKnown, ...group.labels };
}

/** A node group's nodes as the scheduler sees them. */
export function nodeShapeOf(group: GpuNodeGroupInfo): NodeShape {
    return { labels: nodeLabelsOf(group), taints: [...group.taints] };
}

export interface GroupCoverage {
    group: string;
    nodes: number;
    lands: boolean;
    reasons: string[];
}

/** For each group: does the DaemonSet land on its nodes (then one pod per node, `nodes` pods in all)? */
export function daemonSetCoverage(pod: PodPlacement, groups: ReadonlyArray<GpuNodeGroupInfo>): GroupCoverage[] {
    return groups.map((g) => ({ group: g.name, nodes: g.nodes, ...daemonSetLandsOn(pod, nodeShapeOf(g)) }));
}

/** Tolerations matching exactly the given taints (key, Exists, effect): one per distinct key/effect. */
export function tolerationsForTaints(taints: ReadonlyArray<Taint>): Toleration[] {
    const seen = new Set<string>();
    const out: Toleration[] = [];
    for (const t of taints) {
        const id = `${t.key}:${t.effect}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push({ key: t.key, operator: "Exists", effect: t.effect });
    }
    return out;
}

/**
 * Models of how the charts we install turn their Helm values into a pod's placement fields: Helm's
 * value merge plus each chart's template, including the chart's own default affinity for values we
 * don't override. Chart templates read at the pinned versions (catalog/versions.ts):
 * nvidia-device-plugin 0.20.0 `templates/daemonset-device-plugin.yml` + `values.yaml`,
 * aws-efa-k8s-device-plugin v0.5.30 `templates/daemonset.yaml` + `values.yaml`, dcgm-exporter
 * 4.8.x `templates/daemonset.yaml` + `values.yaml`.
 */
import { EKS_LABEL_COMPUTE_TYPE, type Affinity, type NodeSelectorTerm, type PodPlacement, type Toleration } from "./scheduling";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Helm's value coalescing: user maps are merged into chart defaults key by key, recursively; any
 * other user value (lists included) replaces the default; a user `null` deletes the key.
 */
export function helmMerge(defaults: unknown, overrides: unknown): unknown {
    if (!isObject(defaults) || !isObject(overrides)) return overrides === undefined ? defaults : overrides;
    const out: Record<string, unknown> = { ...defaults };
    for (const [k, v] of Object.entries(overrides)) {
        if (v === null) delete out[k];
        else if (v !== undefined) out[k] = helmMerge(defaults[k], v);
    }
    return out;
}

/** Placement-relevant defaults of nvidia-device-plugin 0.20.0 `values.yaml`. */
export const NVIDIA_DEVICE_PLUGIN_CHART_DEFAULTS = {
    nodeSelector: {},
    affinity: {
        nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                    { matchExpressions: [{ key: "feature.node.kubernetes.io/pci-10de.present", operator: "In", values: ["true"] }] },
                    { matchExpressions: [{ key: "feature.node.kubernetes.io/cpu-model.vendor_id", operator: "In", values: ["NVIDIA"] }] },
                    { matchExpressions: [{ key: "nvidia.com/gpu.present", operator: "In", values: ["true"] }] },
                ],
            },
        },
    },
    tolerations: [
        { key: "CriticalAddonsOnly", operator: "Exists" },
        { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" },
    ],
};

/**
 * The device-plugin DaemonSet's placement for these values: the template copies `nodeSelector`,
 * `affinity` and `tolerations` verbatim (each only when non-empty).
 */
export function nvidiaDevicePluginPlacement(values: Record<string, unknown>): PodPlacement {
    const v = helmMerge(NVIDIA_DEVICE_PLUGIN_CHART_DEFAULTS, values) as Record<string, unknown>;
    return { nodeSelector: v.nodeSelector as Record<string, string>, affinity: v.affinity as Affinity, tolerations: v.tolerations as Toleration[] };
}

/**
 * Placement-relevant defaults of aws-efa-k8s-device-plugin v0.5.30 `values.yaml`. The default
 * instance-type allowlist has ~200 entries; only the ones that matter here are listed (the p5
 * family is in it at v0.5.30 — older charts lacked p5e/p5en, aws-do-eks PR #56).
 */
export const EFA_DEVICE_PLUGIN_CHART_DEFAULTS = {
    supportedInstanceLabels: { keys: ["node.kubernetes.io/instance-type"], values: ["p4d.24xlarge", "p4de.24xlarge", "p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge"] },
    nodeSelector: {},
    tolerations: [],
};

/**
 * The EFA plugin DaemonSet's placement for these values, as its template renders it: tolerations
 * are `CriticalAddonsOnly` plus `values.tolerations`; the required affinity has one term per key of
 * `supportedInstanceLabels.keys` (`key In supportedInstanceLabels.values`), and the
 * `eks.amazonaws.com/compute-type NotIn [auto]` expression is appended to the LAST term only
 * (it sits after the `range` in the template) — with one key, that is the only term.
 */
export function efaDevicePluginPlacement(values: Record<string, unknown>): PodPlacement {
    const v = helmMerge(EFA_DEVICE_PLUGIN_CHART_DEFAULTS, values) as {
        supportedInstanceLabels: { keys: string[]; values: string[] };
        nodeSelector?: Record<string, string>;
        tolerations?: Toleration[];
    };
    const terms: NodeSelectorTerm[] = (v.supportedInstanceLabels.keys ?? []).map((key) => ({
        matchExpressions: [{ key, operator: "In", values: [...(v.supportedInstanceLabels.values ?? [])] }],
    }));
    // With no key the template renders the NotIn expression as a dangling item: invalid YAML, the install fails.
    if (terms.length === 0) throw new Error("aws-efa-k8s-device-plugin: supportedInstanceLabels.keys is empty; the chart cannot render");
    terms[terms.length - 1].matchExpressions!.push({ key: EKS_LABEL_COMPUTE_TYPE, operator: "NotIn", values: ["auto"] });
    return {
        tolerations: [{ key: "CriticalAddonsOnly", operator: "Exists" }, ...(v.tolerations ?? [])],
        nodeSelector: v.nodeSelector,
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } },
    };
}

/** Placement-relevant defaults of dcgm-exporter 4.8.x `values.yaml`: no selector, a control-plane toleration only. */
export const DCGM_EXPORTER_CHART_DEFAULTS = {
    nodeSelector: {},
    affinity: {},
    tolerations: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }],
};

/** The DCGM exporter DaemonSet's placement: `affinity`, `nodeSelector`, `tolerations` copied when non-empty. */
export function dcgmExporterPlacement(values: Record<string, unknown>): PodPlacement {
    const v = helmMerge(DCGM_EXPORTER_CHART_DEFAULTS, values) as Record<string, unknown>;
    return { nodeSelector: v.nodeSelector as Record<string, string>, affinity: v.affinity as Affinity, tolerations: v.tolerations as Toleration[] };
}

/**
 * What Prometheus scrapes, as prometheus-operator `monitoring.coreos.com/v1` objects (validated in
 * test/monitoring.test.ts against ../shared/schemas/prometheus-operator/, v0.93.0; the pinned chart
 * runs operator v0.93.1):
 *
 * | object | selects | port |
 * |---|---|---|
 * | PodMonitor `miles-ray` | Ray head and workers of every run (training namespace) | `metrics` (8080, added by KubeRay) |
 * | PodMonitor `miles-train` | the Ray head: miles' exporter and the checkpoint probe | `miles-metrics`, `ckpt-metrics` |
 * | ServiceMonitor `dcgm-exporter` | the DCGM exporter Service (kube-system) | `metrics` (9400) |
 *
 * Node exporter and kube-state-metrics come with their own ServiceMonitors from the chart.
 * The selectors use the labels the training pods carry (domain/training/pod.ts `runLabels`) and
 * the label KubeRay adds (`ray.io/node-type`); the test builds the RayJob's pods the way KubeRay
 * v1.7.0 does and proves each selector matches them and each port exists on them.
 */
import { DCGM_EXPORTER_SERVICE, KUBERAY_POD_LABELS, MILES_RUN_LABEL, RAY_METRICS_PORT } from "../../catalog/observability";
import { HEAD_COMPONENT, MILES_METRICS_PORT_NAME, PART_OF, RUN_APP_NAME, RUN_LABELS } from "../../catalog/runLabels";
import { CHECKPOINT_PROBE_PORT_NAME } from "./probe";
import { MONITORING_RELEASE, type ResolvedMonitoring } from "./resolve";

/** Pod labels kube-state-metrics publishes (`kube_pod_labels`), so GPU and restart series can be joined to runs. */
export const RUN_POD_LABELS: readonly string[] = [RUN_LABELS.instance, RUN_LABELS.component, RUN_LABELS.partOf];

/** The DCGM exporter's Helm release name (components/dcgmExporter.ts). */
export const DCGM_RELEASE = "dcgm-exporter";
export const DCGM_NAMESPACE = "kube-system";

export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

interface Relabel {
    sourceLabels?: string[];
    targetLabel?: string;
    action?: string;
    regex?: string;
    replacement?: string;
}

export interface MonitorManifest {
    apiVersion: "monitoring.coreos.com/v1";
    kind: "PodMonitor" | "ServiceMonitor";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: {
        selector: LabelSelector;
        namespaceSelector: { matchNames: string[] };
        podMetricsEndpoints?: Endpoint[];
        endpoints?: Endpoint[];
    };
}

export interface Endpoint {
    port: string;
    path: string;
    interval: string;
    honorLabels?: boolean;
    relabelings: Relabel[];
}

/** `__meta_kubernetes_pod_label_<name>`: Prometheus' name of a pod label (non-alphanumerics become `_`). */
export function podLabelMeta(label: string): string {
    return `__meta_kubernetes_pod_label_${label.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}

/** Every target gets the run (`run_name`, miles' own label name), the Ray node type and the node. */
const RUN_RELABELS: Relabel[] = [
    { sourceLabels: [podLabelMeta(RUN_LABELS.instance)], targetLabel: MILES_RUN_LABEL, action: "replace" },
    { sourceLabels: [podLabelMeta(KUBERAY_POD_LABELS.nodeType)], targetLabel: "ray_node_type", action: "replace" },
    { sourceLabels: ["__meta_kubernetes_pod_node_name"], targetLabel: "node", action: "replace" },
];

const labels = { [RUN_LABELS.partOf]: PART_OF };

/** The Ray pods of every run: our app label plus KubeRay's node-type label. */
export function rayPodSelector(): LabelSelector {
    return {
        matchLabels: { [RUN_LABELS.name]: RUN_APP_NAME, [RUN_LABELS.partOf]: PART_OF },
        matchExpressions: [{ key: KUBERAY_POD_LABELS.nodeType, operator: "In", values: ["head", "worker"] }],
    };
}

/** The Ray head of every run. */
export function headPodSelector(): LabelSelector {
    return { matchLabels: { [RUN_LABELS.name]: RUN_APP_NAME, [RUN_LABELS.partOf]: PART_OF, [RUN_LABELS.component]: HEAD_COMPONENT } };
}

export function monitorManifests(m: ResolvedMonitoring): MonitorManifest[] {
    const interval = m.prometheus.scrapeInterval;
    const out: MonitorManifest[] = [
        {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "PodMonitor",
            metadata: { name: "miles-ray", namespace: m.namespace, labels },
            spec: {
                selector: rayPodSelector(),
                namespaceSelector: { matchNames: [m.trainingNamespace] },
                podMetricsEndpoints: [{ port: RAY_METRICS_PORT.name, path: "/metrics", interval, relabelings: RUN_RELABELS }],
            },
        },
        {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "PodMonitor",
            metadata: { name: "miles-train", namespace: m.namespace, labels },
            spec: {
                selector: headPodSelector(),
                namespaceSelector: { matchNames: [m.trainingNamespace] },
                // honorLabels keeps miles' own `run_name` (the same value as ours) on every sample.
                podMetricsEndpoints: [MILES_METRICS_PORT_NAME, CHECKPOINT_PROBE_PORT_NAME].map((port) => ({ port, path: "/metrics", interval, honorLabels: true, relabelings: RUN_RELABELS })),
            },
        },
    ];
    if (m.dcgm) {
        out.push({
            apiVersion: "monitoring.coreos.com/v1",
            kind: "ServiceMonitor",
            metadata: { name: "dcgm-exporter", namespace: m.namespace, labels },
            spec: {
                selector: { matchLabels: DCGM_EXPORTER_SERVICE.labels(DCGM_RELEASE) },
                namespaceSelector: { matchNames: [DCGM_NAMESPACE] },
                // honorLabels: the exporter's `namespace`/`pod`/`container` name the pod USING the GPU
                // (not the exporter pod); that is what joins GPU samples to runs.
                endpoints: [{ port: DCGM_EXPORTER_SERVICE.port, path: "/metrics", interval, honorLabels: true, relabelings: [{ sourceLabels: ["__meta_kubernetes_pod_node_name"], targetLabel: "node", action: "replace" }] }],
            },
        });
    }
    return out;
}

/** One line per scrape target kind, for the plan. */
export function scrapeSummary(m: ResolvedMonitoring, milesPrometheus: boolean): string[] {
    return [
        `Ray head + workers (${m.trainingNamespace}, port ${RAY_METRICS_PORT.name}/${RAY_METRICS_PORT.port}) — PodMonitor miles-ray`,
        `miles exporter on the head (port ${MILES_METRICS_PORT_NAME})${milesPrometheus ? "" : " — OFF: training.prometheus.enabled is false"} — PodMonitor miles-train`,
        `checkpoint probe on the head (port ${CHECKPOINT_PROBE_PORT_NAME}) — PodMonitor miles-train`,
        m.dcgm ? `DCGM exporter (kube-system, port ${DCGM_EXPORTER_SERVICE.port}/9400) — ServiceMonitor dcgm-exporter` : "DCGM exporter — OFF (addons.dcgmExporter.enabled is false): no GPU metrics, no GPU alerts",
        `node exporter (every node) and kube-state-metrics — ServiceMonitors of the ${MONITORING_RELEASE} release`,
    ];
}

/**
 * Alerts that matter for paid GPUs, as one PrometheusRule (validated against
 * ../shared/schemas/prometheus-operator/). The chart's default rules (nodes, Kubernetes) stay on.
 *
 * GPU samples are joined to runs through kube-state-metrics' `kube_pod_labels` (the DCGM exporter
 * labels each GPU sample with the pod using it; the run is that pod's `app.kubernetes.io/instance`).
 * The expressions are checked here for what they reference, not evaluated: PromQL semantics are
 * verified only on a real cluster (docs/observability.md).
 */
import { DCGM_METRICS, ksmLabelName, MILES_RUN_LABEL, MILES_KEYS, milesMetricName } from "../../catalog/observability";
import { HEAD_COMPONENT, PART_OF, RUN_LABELS, WORKER_COMPONENT } from "../../catalog/runLabels";
import { PROBE_METRICS } from "./probe";
import type { ResolvedMonitoring } from "./resolve";

export interface AlertRule {
    alert: string;
    expr: string;
    for: string;
    labels: { severity: "critical" | "warning" };
    annotations: { summary: string; description: string };
}

export interface PrometheusRuleManifest {
    apiVersion: "monitoring.coreos.com/v1";
    kind: "PrometheusRule";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: { groups: { name: string; rules: AlertRule[] }[] };
}

const RUN = ksmLabelName(RUN_LABELS.instance);
const COMPONENT = ksmLabelName(RUN_LABELS.component);
const PARTOF = ksmLabelName(RUN_LABELS.partOf);

/** `kube_pod_labels` of the run pods of a namespace, one series per pod, carrying the run label. */
function runPods(namespace: string, component?: string): string {
    const sel = [`namespace="${namespace}"`, `${PARTOF}="${PART_OF}"`, ...(component ? [`${COMPONENT}="${component}"`] : [])].join(", ");
    return `max by (namespace, pod, ${RUN}) (kube_pod_labels{${sel}})`;
}

export function alertRules(m: ResolvedMonitoring): AlertRule[] {
    const ns = m.trainingNamespace;
    const a = m.alerts;
    const step = milesMetricName(MILES_KEYS.rolloutStep);
    const loss = milesMetricName(MILES_KEYS.loss);
    const grad = milesMetricName(MILES_KEYS.gradNorm);
    const by = `by (${MILES_RUN_LABEL})`;
    const rules: AlertRule[] = [];
    if (m.dcgm) {
        rules.push(
            {
                alert: "MilesRunGpusIdle",
                expr: `avg by (${RUN}) (${DCGM_METRICS.gpuUtil} * on (namespace, pod) group_left (${RUN}) ${runPods(ns, WORKER_COMPONENT)}) < ${a.idleGpuPercent}`,
                for: `${a.idleGpuMinutes}m`,
                labels: { severity: "warning" },
                annotations: {
                    summary: `Run {{ $labels.${RUN} }}: GPUs under ${a.idleGpuPercent}% for ${a.idleGpuMinutes} minutes`,
                    description: "The run's GPU nodes are paid for but idle (mean utilisation {{ $value | printf \"%.1f\" }}%). Check the driver log for a crash loop, a wait on data or a stuck rollout; pause the run (training.lifecycle.suspend) if nothing is happening.",
                },
            },
            {
                alert: "MilesGpuXidError",
                expr: `max by (node, gpu) (${DCGM_METRICS.xid}) > 0`,
                for: "0m",
                labels: { severity: "critical" },
                annotations: {
                    summary: "GPU {{ $labels.gpu }} on {{ $labels.node }} reported XID {{ $value }}",
                    description: "An XID is a GPU driver error (48/63/64/74/79/94/95 usually mean a faulty GPU or NVLink). The run on this node will likely hang or crash; cordon the node and let the run resume on another (docs/observability.md).",
                },
            },
        );
    }
    rules.push(
        {
            alert: "MilesRayPodRestarting",
            expr: `increase(kube_pod_container_status_restarts_total{namespace="${ns}", container=~"${HEAD_COMPONENT}|${WORKER_COMPONENT}"}[15m]) > 0`,
            for: "0m",
            labels: { severity: "warning" },
            annotations: {
                summary: "Ray pod {{ $labels.pod }} restarted",
                description: "A Ray head or worker container restarted (OOMKilled, NCCL abort, node problem). Read its previous log: kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }} --previous.",
            },
        },
        {
            alert: "MilesRayPodPending",
            expr: `max by (namespace, pod, ${RUN}) (kube_pod_status_phase{namespace="${ns}", phase="Pending"} * on (namespace, pod) group_left (${RUN}) ${runPods(ns)}) > 0`,
            for: "15m",
            labels: { severity: "warning" },
            annotations: {
                summary: "Run {{ $labels.${RUN} }}: pod {{ $labels.pod }} Pending for 15 minutes",
                description: "The other pods of the run (and their GPU nodes) wait for this one. kubectl describe pod shows why (GPUs, EFA, capacity, volume).",
            },
        },
        {
            alert: "MilesRunNoProgress",
            expr: `max ${by} (changes(${step}[${a.noProgressMinutes}m])) == 0`,
            for: "5m",
            labels: { severity: "warning" },
            annotations: {
                summary: `Run {{ $labels.${MILES_RUN_LABEL} }}: no rollout step for ${a.noProgressMinutes} minutes`,
                description: "The rollout step has not advanced. A hung NCCL collective keeps GPUs at 100% so the idle alert stays quiet: look at the driver log and py-spy the actors (docs/observability.md).",
            },
        },
        {
            alert: "MilesCheckpointStale",
            expr:
                `(max ${by} (${step}) - max ${by} (${PROBE_METRICS.iteration})) > 2 * max ${by} (${PROBE_METRICS.saveInterval})` +
                ` or (max ${by} (${step}) > 2 * max ${by} (${PROBE_METRICS.saveInterval}) unless max ${by} (${PROBE_METRICS.iteration}))`,
            for: "10m",
            labels: { severity: "critical" },
            annotations: {
                summary: `Run {{ $labels.${MILES_RUN_LABEL} }}: last checkpoint more than two save intervals old`,
                description: "The run is training but not checkpointing (full or unwritable volume, failing save): a crash now loses everything since the last checkpoint. Check the driver log for save errors and the shared volume's free space.",
            },
        },
        {
            alert: "MilesLossNotFinite",
            // NaN is the only value not equal to itself.
            expr: `(${loss} != ${loss}) or (abs(${loss}) == Inf) or (${grad} != ${grad}) or (abs(${grad}) == Inf)`,
            for: "0m",
            labels: { severity: "critical" },
            annotations: {
                summary: `Run {{ $labels.${MILES_RUN_LABEL} }}: loss or gradient norm is NaN/Inf`,
                description: "Training has diverged; every further step is wasted GPU time. Stop or pause the run and resume from the last good checkpoint with a lower learning rate.",
            },
        },
    );
    return rules;
}

export function prometheusRuleManifest(m: ResolvedMonitoring): PrometheusRuleManifest {
    return {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: "miles-cluster", namespace: m.namespace, labels: { [RUN_LABELS.partOf]: PART_OF } },
        spec: { groups: [{ name: "miles-cluster", rules: alertRules(m) }] },
    };
}

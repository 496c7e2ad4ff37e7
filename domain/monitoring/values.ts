/**
 * Helm values of kube-prometheus-stack 88.5.3. Every key below exists in that chart's values.yaml
 * (prometheus-community/helm-charts tag kube-prometheus-stack-88.5.3) or in its grafana 12.11.1 and
 * kube-state-metrics 8.4.0 sub-charts; test/monitoring.test.ts checks each written path against the
 * chart's values.yaml (read from the chart repository at that tag, test/fixtures).
 */
import { DCGM_DASHBOARD_URL } from "../../catalog/observability";
import { GRAFANA_ADMIN_SECRET, ALERTMANAGER_STORAGE_GIB, type ResolvedMonitoring } from "./resolve";
import { RUN_POD_LABELS } from "./monitors";

/** Grafana dashboard provider (folder) the chart-downloaded dashboards go to; path per the grafana chart's rule `/var/lib/grafana/dashboards/<provider>`. */
export const GRAFANA_PROVIDER = "miles-cluster";

function pvc(storageClassName: string, gib: number): Record<string, unknown> {
    return { spec: { storageClassName, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: `${gib}Gi` } } } };
}

/**
 * The values. Choices, each a fix of a default that would hurt here:
 * - every pod but the node exporter on the system nodes (`nodeSelector`): Prometheus must not take
 *   a GPU node's memory, and must survive the GPU nodes scaling to zero;
 * - Prometheus, Alertmanager and Grafana on persistent volumes whose claims are retained when the
 *   StatefulSet is deleted or scaled (the chart's default is an emptyDir: a restart loses history);
 * - selectors that take every ServiceMonitor/PodMonitor/PrometheusRule (`*NilUsesHelmValues: false`),
 *   so ours (which carry no `release` label) are picked up;
 * - Grafana's admin credentials from our Secret (`admin.existingSecret`), never the chart default;
 * - the EKS control plane's scheduler, controller manager and etcd are not reachable from nodes and
 *   kube-proxy binds its metrics to 127.0.0.1: scraping them only raises TargetDown forever;
 * - kube-state-metrics publishes the run labels of pods, so GPU samples can be joined to runs.
 */
export function kubePrometheusStackValues(m: ResolvedMonitoring): Record<string, unknown> {
    const nodeSelector = m.nodeSelector;
    return {
        crds: { enabled: true },
        defaultRules: { create: true },
        kubeControllerManager: { enabled: false },
        kubeScheduler: { enabled: false },
        kubeEtcd: { enabled: false },
        kubeProxy: { enabled: false },
        windowsMonitoring: { enabled: false },
        prometheusOperator: {
            nodeSelector,
            admissionWebhooks: { deployment: { nodeSelector }, patch: { nodeSelector } },
        },
        prometheus: {
            prometheusSpec: {
                nodeSelector,
                retention: m.prometheus.retention,
                retentionSize: m.prometheus.retentionSize,
                scrapeInterval: m.prometheus.scrapeInterval,
                evaluationInterval: m.prometheus.scrapeInterval,
                storageSpec: { volumeClaimTemplate: pvc(m.storageClassName, m.prometheus.storageGiB) },
                persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
                ruleSelectorNilUsesHelmValues: false,
                serviceMonitorSelectorNilUsesHelmValues: false,
                podMonitorSelectorNilUsesHelmValues: false,
                probeSelectorNilUsesHelmValues: false,
                scrapeConfigSelectorNilUsesHelmValues: false,
                resources: { requests: { cpu: "500m", memory: "2Gi" }, limits: { memory: "6Gi" } },
            },
        },
        alertmanager: {
            alertmanagerSpec: {
                nodeSelector,
                storage: { volumeClaimTemplate: pvc(m.storageClassName, ALERTMANAGER_STORAGE_GIB) },
                persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
            },
        },
        grafana: {
            nodeSelector,
            defaultDashboardsEnabled: true,
            defaultDashboardsTimezone: "utc",
            admin: { existingSecret: GRAFANA_ADMIN_SECRET, userKey: "admin-user", passwordKey: "admin-password" },
            // One RWO EBS volume: a rolling update would start the new pod before the old one releases it.
            deploymentStrategy: { type: "Recreate" },
            persistence: { enabled: true, type: "pvc", storageClassName: m.storageClassName, accessModes: ["ReadWriteOnce"], size: `${m.grafana.storageGiB}Gi` },
            dashboardProviders: {
                "dashboardproviders.yaml": {
                    apiVersion: 1,
                    providers: [
                        { name: GRAFANA_PROVIDER, orgId: 1, folder: "miles-cluster", type: "file", disableDeletion: true, editable: false, options: { path: `/var/lib/grafana/dashboards/${GRAFANA_PROVIDER}` } },
                    ],
                },
            },
            dashboards: m.dcgm ? { [GRAFANA_PROVIDER]: { "nvidia-dcgm-exporter": { url: DCGM_DASHBOARD_URL } } } : {},
        },
        "kube-state-metrics": {
            nodeSelector,
            metricLabelsAllowlist: [`pods=[${RUN_POD_LABELS.join(",")}]`],
        },
    };
}

/**
 * The one resolution of the monitoring stack of a config: whether it is on, where it runs, what it
 * stores and for how long. Every monitoring manifest, the Helm values, the component and the plan
 * read this object.
 */
import type { MilesConfig } from "../../config";
import { SYSTEM_NODE_GROUP_NAME } from "../../config/cluster";
import { LABEL_NODE_GROUP } from "../../catalog/nodeLabels";
import { GP3_USD_PER_GB_MONTH } from "../../catalog/observability";
import { clusterWideAddonEnabled, isBringYourOwnCluster, logShippingEnabled, monitoringEnabled, type ClusterMode } from "../addons";

/** The StorageClass miles-cluster creates on its own EKS cluster for the monitoring volumes. */
export const MONITORING_STORAGE_CLASS = "miles-monitoring-gp3";
/** Helm release name of kube-prometheus-stack (prefix of its object names). */
export const MONITORING_RELEASE = "monitoring";
/** Kubernetes Secret (in the monitoring namespace) holding Grafana's admin user and password. */
export const GRAFANA_ADMIN_SECRET = "grafana-admin";
/** Alertmanager's volume: silences and notification state only. */
export const ALERTMANAGER_STORAGE_GIB = 5;

/** What watches a run's pods (given by the add-ons to the training job). */
export interface TrainingObservability {
    /** The monitoring stack runs: miles' exporter defaults to on and the head gets the checkpoint probe. */
    monitoring: boolean;
    /**
     * Namespace of the monitoring stack, where each run's Ray head provisions Ray's Grafana
     * dashboards (domain/monitoring/rayDashboards.ts); undefined: not provisioned (no monitoring,
     * or a bring-your-own cluster).
     */
    rayDashboardsNamespace?: string;
    /** CloudWatch Logs group the Fluent Bit sidecars ship the Ray logs to, and its region. */
    logs?: { logGroupName: string; region: string };
}

export interface ResolvedMonitoring {
    namespace: string;
    /** Node labels the stack's pods (not the node exporter) are pinned to; empty = anywhere. */
    nodeSelector: Record<string, string>;
    storageClassName: string;
    /** Whether miles-cluster creates `storageClassName` (and the EBS CSI driver) itself. */
    createsStorageClass: boolean;
    prometheus: { retention: string; storageGiB: number; retentionSize: string; scrapeInterval: string };
    grafana: { storageGiB: number };
    alerts: MilesConfig["addons"]["monitoring"]["alerts"];
    /** The training namespace, whose Ray pods are scraped and watched. */
    trainingNamespace: string;
    /** Whether the DCGM exporter is installed (its ServiceMonitor and the GPU rules depend on it). */
    dcgm: boolean;
    /** Whether the DCGM exporter must use the node monitoring agent's host engine (our EKS cluster runs that agent). */
    dcgmUsesNodeAgentHostEngine: boolean;
    /** Each run's Ray head provisions Ray's dashboards into a ConfigMap here (EKS stacks; on a bring-your-own cluster they are imported by hand). */
    rayDashboards: boolean;
    /** USD per month of the volumes (gp3 list price, us-east-1), when miles-cluster creates them. */
    storageUsdPerMonth?: number;
}

/** Resolved monitoring, or undefined when it is off. */
export function resolveMonitoring(cfg: ClusterMode & Pick<MilesConfig, "addons"> & { training: Pick<MilesConfig["training"], "namespace"> }): ResolvedMonitoring | undefined {
    if (!monitoringEnabled(cfg)) return undefined;
    const m = cfg.addons.monitoring;
    const byo = isBringYourOwnCluster(cfg);
    const createsStorageClass = m.storageClassName === undefined && !byo;
    const volumesGiB = m.prometheus.storageGiB + m.grafana.storageGiB + ALERTMANAGER_STORAGE_GIB;
    return {
        namespace: m.namespace,
        nodeSelector: m.nodeSelector ?? (byo ? {} : { [LABEL_NODE_GROUP]: SYSTEM_NODE_GROUP_NAME }),
        storageClassName: m.storageClassName ?? MONITORING_STORAGE_CLASS,
        createsStorageClass,
        prometheus: {
            retention: m.prometheus.retention,
            storageGiB: m.prometheus.storageGiB,
            // Retention by size below the volume, so a full disk never stops ingestion (Prometheus
            // storage docs: size-based retention removes whole blocks, keep headroom for the WAL).
            retentionSize: `${Math.floor(m.prometheus.storageGiB * 0.9)}GB`,
            scrapeInterval: m.prometheus.scrapeInterval,
        },
        grafana: { storageGiB: m.grafana.storageGiB },
        alerts: m.alerts,
        trainingNamespace: cfg.training.namespace,
        dcgm: clusterWideAddonEnabled(cfg, "dcgmExporter"),
        dcgmUsesNodeAgentHostEngine: !byo,
        rayDashboards: !byo,
        storageUsdPerMonth: createsStorageClass ? Math.round(volumesGiB * (1024 ** 3 / 1e9) * GP3_USD_PER_GB_MONTH * 100) / 100 : undefined,
    };
}

/** Whether log shipping is on (re-exported for the components and the plan). */
export { logShippingEnabled };

/**
 * Cross-field rules of `miles-cluster:addons`.
 */
import type { MilesConfig } from "../config";
import type { Problem } from "../config/problems";
import { clusterWideAddonEnabled, isBringYourOwnCluster, monitoringEnabled } from "../domain/addons";

/** Cross-field rules that zod's per-field schema cannot express. */
export function addonsChecks(cfg: MilesConfig): Problem[] {
    const problems: Problem[] = [];
    const a = cfg.addons;
    const dcgm = clusterWideAddonEnabled(cfg, "dcgmExporter");
    if (a.dcgmExporter.serviceMonitor && !dcgm) {
        problems.push({ path: "addons.dcgmExporter.serviceMonitor", message: `is true but the exporter is not installed (dcgmExporter.enabled${a.dcgmExporter.enabled === undefined ? " defaults to false on a bring-your-own cluster" : " is false"}): the ServiceMonitor belongs to the exporter; enable the exporter or drop serviceMonitor` });
    }
    if (monitoringEnabled(cfg)) {
        if (a.dcgmExporter.serviceMonitor && dcgm) {
            problems.push({ path: "addons.dcgmExporter.serviceMonitor", message: "is true while addons.monitoring is on: miles-cluster already creates the exporter's ServiceMonitor (with the node label the alerts need); drop serviceMonitor" });
        }
        if (isBringYourOwnCluster(cfg) && a.monitoring.storageClassName === undefined) {
            problems.push({ path: "addons.monitoring.storageClassName", message: "is required on a bring-your-own cluster with monitoring on: name a StorageClass of that cluster for the Prometheus, Alertmanager and Grafana volumes (miles-cluster creates one only on its own EKS cluster)" });
        }
        if (a.monitoring.namespace === cfg.training.namespace || a.monitoring.namespace === a.namespace || ["kube-system", "default"].includes(a.monitoring.namespace)) {
            problems.push({ path: "addons.monitoring.namespace", message: `"${a.monitoring.namespace}" is already used (training, add-ons or a built-in namespace); miles-cluster creates and deletes the monitoring namespace, so give it its own, e.g. "miles-monitoring"` });
        }
    }
    if (a.logs.enabled === true && isBringYourOwnCluster(cfg)) {
        problems.push({ path: "addons.logs.enabled", message: "is true on a bring-your-own cluster: log shipping needs the IAM role miles-cluster gives the training pods on its own EKS cluster; drop the switch and ship logs with the cluster's own agent" });
    }
    const existing = cfg.cluster.existing;
    if (existing && a.efaDevicePlugin.enabled === true && existing.gpuNodes.efaPerNode === 0) {
        problems.push({
            path: "addons.efaDevicePlugin.enabled",
            message: "is true but cluster.existing.gpuNodes.efaPerNode is 0: the plugin would find no EFA device; set efaPerNode to the EFA interfaces per node, or drop the switch",
        });
    }
    if (a.namespace === cfg.training.namespace) {
        problems.push({
            path: "addons.namespace",
            message: `"${a.namespace}" is also training.namespace: keep the cluster add-ons (operator, exporter) apart from the training job so deleting one never deletes the other`,
        });
    }
    if (a.namespace === "kube-system" || a.namespace === "default") {
        problems.push({ path: "addons.namespace", message: `"${a.namespace}" is a built-in namespace; miles-cluster creates and deletes addons.namespace, so use a dedicated one such as "miles-system"` });
    }
    return problems;
}

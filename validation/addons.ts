/**
 * Cross-field rules of `miles-cluster:addons`.
 */
import type { MilesConfig } from "../config";
import type { Problem } from "../config/problems";

/** Cross-field rules that zod's per-field schema cannot express. */
export function addonsChecks(cfg: MilesConfig): Problem[] {
    const problems: Problem[] = [];
    const a = cfg.addons;
    if (a.dcgmExporter.serviceMonitor && !a.dcgmExporter.enabled) {
        problems.push({ path: "addons.dcgmExporter.serviceMonitor", message: "is true but dcgmExporter.enabled is false: the ServiceMonitor belongs to the exporter; enable the exporter or drop serviceMonitor" });
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

/**
 * NVIDIA's DCGM exporter: GPU metrics (utilisation, memory, NVLink, XID errors) on every GPU node.
 * The chart's defaults miss both things that matter here: it has no GPU-taint toleration
 * (dcgm-exporter #731, so DESIRED is 0 on tainted GPU nodes) and no node selector (so it would also
 * try to run, and crash-loop, on CPU nodes). Its `serviceMonitor.enabled` defaults to TRUE, which
 * makes the whole install fail on clusters without the Prometheus operator CRDs — hence the switch.
 */
import * as pulumi from "@pulumi/pulumi";
import type { GpuNodeGroupInfo } from "../domain/gpuNodes";
import { CHARTS } from "../catalog/versions";
import { HelmAddon, type HelmAddonPlacement, type ReleasePolicy } from "./helmAddon";
import { dcgmExporterValues, NODE_AGENT_NAMESPACE, type DcgmExporterOptions } from "../domain/addons";

/**
 * Monitoring never blocks a deploy: no wait, no rollback. The exporter's readiness probe starts
 * after 45 s and a GPU node that is still initialising would otherwise hold up `pulumi up`.
 */
export const DCGM_POLICY: ReleasePolicy = { atomic: false, timeout: 300 };

export interface DcgmExporterArgs extends HelmAddonPlacement {
    /**
     * GPU node groups the exporter must cover (from the cluster handle).
     * @example cluster.gpuNodeGroups
     */
    gpuNodeGroups: GpuNodeGroupInfo[];
    /**
     * The chart's ServiceMonitor (needs the Prometheus operator CRDs) and whether to join the node
     * monitoring agent's DCGM host engine (domain/addons.ts `DcgmExporterOptions`; a miles-cluster
     * stack passes `dcgmExporterOptions(cfg)`).
     * @example { serviceMonitor: false, nodeAgentHostEngine: true }
     */
    options: DcgmExporterOptions;
}

/** DCGM exporter DaemonSet on the GPU nodes. */
export class DcgmExporter extends HelmAddon {
    constructor(name: string, args: DcgmExporterArgs, opts?: pulumi.ComponentResourceOptions) {
        const spec = {
            pin: CHARTS.dcgmExporter,
            releaseName: "dcgm-exporter",
            namespace: NODE_AGENT_NAMESPACE,
            values: dcgmExporterValues(args.gpuNodeGroups, args.options),
            policy: DCGM_POLICY,
            skipAwait: true,
        };
        super("miles-cluster:addons:DcgmExporter", name, spec, args, opts);
    }
}

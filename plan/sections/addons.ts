/**
 * Add-ons in the plan: for each one its chart and pinned version, on/off, namespace and — for the
 * DaemonSets — on how many GPU groups it will really run, computed from the Helm values the
 * program registered (through the chart models of domain/chartPlacement.ts) against each group's labels
 * and taints. A device plugin that would miss a group is a warning, before anything is deployed.
 */
import type { SectionProducer } from "../types";
import type { MilesConfig } from "../../config";
import { efaDevicePluginEnabled, isBringYourOwnCluster } from "../../domain/addons";
import type { Evaluation } from "../evaluate";
import type { GpuNodeGroupInfo } from "../../domain/gpuNodes";
import { gpuNodeGroupsFromConfig } from "../../domain/gpuNodes";
import { CHARTS, type ChartPin } from "../../catalog/versions";
import { daemonSetCoverage, type PodPlacement } from "../../domain/scheduling";
import { dcgmExporterPlacement, efaDevicePluginPlacement, nvidiaDevicePluginPlacement } from "../../domain/chartPlacement";
import { dcgmExporterOptions, dcgmExporterValues } from "../../domain/addons";
import { efaDevicePluginValues, nvidiaDevicePluginValues, NODE_AGENT_NAMESPACE } from "../../domain/addons";
import { crdJobName } from "../../domain/kuberay";

const RELEASE = "kubernetes:helm.sh/v3:Release";

interface DaemonSetAddon {
    key: "nvidiaDevicePlugin" | "efaDevicePlugin" | "dcgmExporter";
    label: string;
    releaseName: string;
    pin: ChartPin;
    enabled: boolean;
    placement: (values: Record<string, unknown>) => PodPlacement;
    /** Values the program would pass, used when the program registered no release (e.g. not wired). */
    fallbackValues: () => Record<string, unknown>;
    /** Groups it must run on. */
    expected: (g: GpuNodeGroupInfo) => boolean;
    /** Why a group is rightly left out. */
    excludedBecause?: string;
}

function registeredValues(ev: Evaluation, releaseName: string): Record<string, unknown> | undefined {
    const r = ev.resources.find((x) => x.type === RELEASE && x.inputs.name === releaseName);
    return r ? (r.inputs.values as Record<string, unknown>) : undefined;
}

function daemonSetAddons(cfg: MilesConfig, groups: GpuNodeGroupInfo[]): DaemonSetAddon[] {
    const a = cfg.addons;
    return [
        {
            key: "nvidiaDevicePlugin",
            label: "nvidia device plugin",
            releaseName: "nvidia-device-plugin",
            pin: CHARTS.nvidiaDevicePlugin,
            enabled: a.nvidiaDevicePlugin.enabled,
            placement: nvidiaDevicePluginPlacement,
            fallbackValues: () => nvidiaDevicePluginValues(groups),
            expected: (g) => g.amiFamily !== "bottlerocket",
            excludedBecause: "Bottlerocket ships its own",
        },
        {
            key: "efaDevicePlugin",
            label: "efa device plugin",
            releaseName: "aws-efa-k8s-device-plugin",
            pin: CHARTS.efaDevicePlugin,
            enabled: efaDevicePluginEnabled(cfg),
            placement: efaDevicePluginPlacement,
            fallbackValues: () => efaDevicePluginValues(groups, a.efaDevicePlugin.imageRepository),
            expected: (g) => g.efaPerNode > 0,
            excludedBecause: "no EFA",
        },
        {
            key: "dcgmExporter",
            label: "dcgm exporter",
            releaseName: "dcgm-exporter",
            pin: CHARTS.dcgmExporter,
            enabled: a.dcgmExporter.enabled,
            placement: dcgmExporterPlacement,
            fallbackValues: () => dcgmExporterValues(groups, dcgmExporterOptions(cfg)),
            expected: () => true,
        },
    ];
}

export const addonsSection: SectionProducer = (cfg, ev) => {
    const groups = gpuNodeGroupsFromConfig(cfg);
    const byo = isBringYourOwnCluster(cfg);
    const data: Record<string, unknown> = {};
    const lines: Array<[string, string]> = [];
    const warnings: string[] = [];

    for (const addon of daemonSetAddons(cfg, groups)) {
        const base = { chart: addon.pin.chart, version: addon.pin.version, repo: addon.pin.repo, namespace: NODE_AGENT_NAMESPACE, enabled: addon.enabled };
        if (!addon.enabled) {
            data[addon.key] = base;
            lines.push([addon.label, `off (${addon.pin.chart} ${addon.pin.version} not installed)`]);
            continue;
        }
        const values = registeredValues(ev, addon.releaseName) ?? addon.fallbackValues();
        const coverage = daemonSetCoverage(addon.placement(values), groups);
        const on = coverage.filter((c) => c.lands);
        const missed = coverage.filter((c, i) => !c.lands && addon.expected(groups[i]));
        const unexpected = coverage.filter((c, i) => c.lands && !addon.expected(groups[i]));
        const excluded = coverage.filter((c, i) => !c.lands && !addon.expected(groups[i]));
        data[addon.key] = {
            ...base,
            gpuGroups: coverage.map((c) => ({ group: c.group, runs: c.lands, pods: c.lands ? c.nodes : 0, ...(c.lands ? {} : { why: c.reasons }) })),
            groupsCovered: on.length,
            groupsTotal: groups.length,
        };
        let text = `${addon.pin.chart} ${addon.pin.version} (${NODE_AGENT_NAMESPACE}): on ${on.length} of ${groups.length} GPU group${groups.length === 1 ? "" : "s"}`;
        if (on.length > 0) text += ` (${on.map((c) => `${c.group} ×${c.nodes}`).join(", ")})`;
        if (excluded.length > 0 && addon.excludedBecause) text += `; not on ${excluded.map((c) => c.group).join(", ")}: ${addon.excludedBecause}`;
        lines.push([addon.label, text]);
        for (const m of missed) warnings.push(`addons: ${addon.pin.chart} would run no pod on GPU group ${m.group} (${m.reasons.join("; ")})`);
        for (const u of unexpected) warnings.push(`addons: ${addon.pin.chart} would also run on GPU group ${u.group} (${addon.excludedBecause ?? "not expected"})`);
    }

    const a = cfg.addons;
    const kuberay = { chart: CHARTS.kuberayOperator.chart, version: CHARTS.kuberayOperator.version, repo: CHARTS.kuberayOperator.repo, namespace: a.namespace, enabled: a.kuberay.enabled, crds: a.kuberay.manageCrds ? `job ${crdJobName(CHARTS.kuberayOperator.version)}` : "helm (install only)" };
    data.kuberay = kuberay;
    lines.push([
        "kuberay operator",
        a.kuberay.enabled
            ? `${kuberay.chart} ${kuberay.version} (${a.namespace}); CRDs ${a.kuberay.manageCrds ? `applied server-side by job ${crdJobName(kuberay.version)}` : "installed once by Helm, never upgraded"}`
            : `off (${kuberay.chart} ${kuberay.version} not installed)`,
    ]);
    if (a.dcgmExporter.enabled) lines.push(["dcgm servicemonitor", a.dcgmExporter.serviceMonitor ? "on (needs the Prometheus operator CRDs)" : "off"]);

    const identity = byo ? "service account only (bring-your-own cluster: no IAM)" : "IAM role via EKS Pod Identity; S3 access limited to the checkpoint bucket (when the storage has one)";
    data.trainingServiceAccount = { namespace: cfg.training.namespace, name: a.trainingServiceAccount, podIdentity: !byo };
    lines.push(["training identity", `${cfg.training.namespace}/${a.trainingServiceAccount}: ${identity}`]);

    if (!a.kuberay.enabled && cfg.training.enabled) warnings.push(`addons: kuberay is off but training is on: the RayJob needs a KubeRay operator ${kuberay.version}-compatible already running in the cluster`);
    if (!byo && !a.nvidiaDevicePlugin.enabled && groups.some((g) => g.amiFamily === "al2023")) {
        warnings.push("addons: nvidiaDevicePlugin is off but AL2023 GPU groups have no device plugin of their own: pods requesting nvidia.com/gpu stay Pending (Insufficient nvidia.com/gpu)");
    }
    if (!byo && !efaDevicePluginEnabled(cfg) && groups.some((g) => g.efaPerNode > 0)) {
        warnings.push("addons: efaDevicePlugin is off: vpc.amazonaws.com/efa is never advertised, so pods requesting it stay Pending and NCCL cannot use EFA");
    }
    if (byo && a.nvidiaDevicePlugin.enabled) lines.push(["note", "if this cluster already runs the NVIDIA GPU operator (or another device plugin), set addons.nvidiaDevicePlugin.enabled: false"]);
    return { data, lines, warnings };
};

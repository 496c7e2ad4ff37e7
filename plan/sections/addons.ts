/**
 * Add-ons in the plan: for each one its chart and pinned version, on/off, namespace and — for the
 * DaemonSets — on how many GPU groups it will really run, computed from the Helm values the
 * program registered (through the chart models of domain/chartPlacement.ts) against each group's labels
 * and taints. A device plugin that would miss a group is a warning, before anything is deployed.
 */
import type { SectionProducer } from "../types";
import type { MilesConfig } from "../../config";
import { clusterWideAddonEnabled, efaDevicePluginEnabled, isBringYourOwnCluster } from "../../domain/addons";
import { KUEUE_NAMESPACE } from "../../domain/kueue";
import { trainingPodSecurity } from "../../domain/training/podSecurity";
import type { Evaluation } from "../evaluate";
import type { GpuNodeGroupInfo } from "../../domain/gpuNodes";
import { gpuNodeGroupsFromConfig } from "../../domain/gpuNodes";
import { CHARTS, IMAGES, imageRef, type ChartPin } from "../../catalog/versions";
import { resolveMonitoring } from "../../domain/monitoring/resolve";
import { alertRules } from "../../domain/monitoring/rules";
import { scrapeSummary } from "../../domain/monitoring/monitors";
import { dashboardSummary } from "../../domain/monitoring/dashboards";
import { grafanaPasswordCommand, grafanaPortForward } from "../../domain/monitoring/access";
import { logShipping, readLogsCommand } from "../../domain/monitoring/logs";
import type { ResolvedStack } from "../../domain/stack";
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
            enabled: clusterWideAddonEnabled(cfg, "nvidiaDevicePlugin"),
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
            enabled: clusterWideAddonEnabled(cfg, "dcgmExporter"),
            placement: dcgmExporterPlacement,
            fallbackValues: () => dcgmExporterValues(groups, dcgmExporterOptions(cfg)),
            expected: () => true,
        },
    ];
}

/**
 * The line of a cluster-wide add-on the stack does not install: switched off, or (bring-your-own)
 * left to the cluster's owner by default; `expected` says what the stack then relies on finding there.
 */
function offLine(pin: ChartPin, key: string, byo: boolean, setting: boolean | undefined, expected?: string, consequence?: string): string {
    const why = setting === false ? `addons.${key}.enabled: false` : byo ? `bring-your-own default; opt in with addons.${key}.enabled: true` : "off";
    const state = expected ? `expected present (${why}): ${expected}` : `off (${why})${consequence ? `: ${consequence}` : ""}`;
    return `${state}; ${pin.chart} ${pin.version} not installed`;
}

export const addonsSection: SectionProducer = (stack, ev) => {
    const cfg = stack.config;
    const groups = gpuNodeGroupsFromConfig(cfg);
    const byo = isBringYourOwnCluster(cfg);
    const data: Record<string, unknown> = {};
    const lines: Array<[string, string]> = [];
    const warnings: string[] = [];

    for (const addon of daemonSetAddons(cfg, groups)) {
        const base = { chart: addon.pin.chart, version: addon.pin.version, repo: addon.pin.repo, namespace: NODE_AGENT_NAMESPACE, enabled: addon.enabled };
        if (!addon.enabled) {
            data[addon.key] = base;
            lines.push([addon.label, offLine(addon.pin, addon.key, byo, cfg.addons[addon.key].enabled, byo && addon.key === "nvidiaDevicePlugin" ? "the cluster's own device plugin (e.g. the NVIDIA GPU operator) must advertise nvidia.com/gpu" : undefined)]);
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
    const kuberayOn = clusterWideAddonEnabled(cfg, "kuberay");
    const hasRuns = stack.runs.length > 0;
    const kuberay = { chart: CHARTS.kuberayOperator.chart, version: CHARTS.kuberayOperator.version, repo: CHARTS.kuberayOperator.repo, namespace: a.namespace, enabled: kuberayOn, crds: a.kuberay.manageCrds ? `job ${crdJobName(CHARTS.kuberayOperator.version)}` : "helm (install only)" };
    data.kuberay = kuberay;
    lines.push([
        "kuberay operator",
        kuberayOn
            ? `installed: ${kuberay.chart} ${kuberay.version} (${a.namespace}); CRDs ${a.kuberay.manageCrds ? `applied server-side by job ${crdJobName(kuberay.version)}` : "installed once by Helm, never upgraded"}`
            : offLine(CHARTS.kuberayOperator, "kuberay", byo, a.kuberay.enabled, hasRuns ? `the RayJob needs a KubeRay operator compatible with ${kuberay.version} and its CRDs already running in the cluster` : undefined),
    ]);
    // Kueue: cluster-scoped CRDs and webhooks on every Job and RayJob, so listed like the other cluster-wide add-ons.
    const kueueOn = clusterWideAddonEnabled(cfg, "kueue");
    data.kueue = { chart: CHARTS.kueue.chart, version: CHARTS.kueue.version, namespace: KUEUE_NAMESPACE, enabled: kueueOn };
    lines.push(["kueue", kueueOn ? `installed: ${CHARTS.kueue.chart} ${CHARTS.kueue.version} (${KUEUE_NAMESPACE}); ClusterQueue ${a.kueue.clusterQueue} (cluster-wide), LocalQueue ${cfg.training.namespace}/${a.kueue.localQueue}` : offLine(CHARTS.kueue, "kueue", byo, a.kueue.enabled, undefined, "runs are not queued: each RayJob starts when created")]);
    if (clusterWideAddonEnabled(cfg, "dcgmExporter")) lines.push(["dcgm servicemonitor", a.dcgmExporter.serviceMonitor ? "on (needs the Prometheus operator CRDs)" : "off"]);

    monitoringLines(stack, data, lines, warnings);
    // The program's own output, so the plan shows exactly the command `pulumi stack output runRecordsCommand` prints.
    const records = ev.outputs.runRecordsCommand;
    if (typeof records === "string") {
        data.runRecords = { dir: "<checkpoint dir>/run-records", command: records };
        lines.push(["run records", "each attempt writes <checkpoint dir>/run-records/<start>.json (config without secret values, argv/env, image, git commit, nodes, start/end, GPU-hours, cost estimate)"]);
        lines.push(["  list them", records]);
    }

    const identity = byo ? "service account only (bring-your-own cluster: no IAM)" : "IAM role via EKS Pod Identity; S3 access limited to the checkpoint bucket (when the storage has one)";
    data.trainingServiceAccount = { namespace: cfg.training.namespace, name: a.trainingServiceAccount, podIdentity: !byo };
    lines.push(["training identity", `${cfg.training.namespace}/${a.trainingServiceAccount}: ${identity}`]);
    namespaceLine(stack, data, lines, warnings);

    if (!kuberayOn && hasRuns && !byo) warnings.push(`addons: kuberay is off but training is on: the RayJob needs a KubeRay operator ${kuberay.version}-compatible already running in the cluster`);
    if (!byo && !clusterWideAddonEnabled(cfg, "nvidiaDevicePlugin") && groups.some((g) => g.amiFamily === "al2023")) {
        warnings.push("addons: nvidiaDevicePlugin is off but AL2023 GPU groups have no device plugin of their own: pods requesting nvidia.com/gpu stay Pending (Insufficient nvidia.com/gpu)");
    }
    if (!byo && !efaDevicePluginEnabled(cfg) && groups.some((g) => g.efaPerNode > 0)) {
        warnings.push("addons: efaDevicePlugin is off: vpc.amazonaws.com/efa is never advertised, so pods requesting it stay Pending and NCCL cannot use EFA");
    }
    if (byo && clusterWideAddonEnabled(cfg, "nvidiaDevicePlugin")) lines.push(["note", "if this cluster already runs the NVIDIA GPU operator (or another device plugin), set addons.nvidiaDevicePlugin.enabled: false"]);
    return { data, lines, warnings };
};

/** Who owns the training namespace, and what the stack needs of one it does not own. */
function namespaceLine(stack: ResolvedStack, data: Record<string, unknown>, lines: Array<[string, string]>, warnings: string[]): void {
    const cfg = stack.config;
    const ns = cfg.training.namespace;
    const ownership = cfg.cluster.existing?.trainingNamespace ?? "create";
    const level = trainingPodSecurity(stack.runs.map((x) => x.run));
    data.trainingNamespace = { name: ns, ownership, podSecurity: level };
    const text = {
        create: `${ns}: created by the stack (Pod Security ${level}) and deleted by \`pulumi destroy\`, with everything in it`,
        existing: `${ns}: existing, never created, modified or deleted by the stack; it must exist (with claim ${cfg.storage.claimName ?? "the storage claim"}) before \`pulumi up\`, and its Pod Security labels are yours: the runs need \`pod-security.kubernetes.io/enforce: ${level}\` (or looser)`,
        adopt: `${ns}: existing, adopted: the stack sets its Pod Security labels (${level}) with a server-side-apply patch kept on \`pulumi destroy\`, which never deletes the namespace or its claim`,
    }[ownership];
    lines.push(["training namespace", text]);
    if (ownership !== "create" && cfg.addons.networkPolicies.enabled) {
        warnings.push(`addons.networkPolicies: the default-deny NetworkPolicy of namespace ${ns} selects every pod in it, including pods the stack did not create; use a namespace of the runs' own, or set addons.networkPolicies.enabled: false`);
    }
}

/** What is scraped, the dashboards, the alert rules, how to reach Grafana, what the volumes cost; and the log shipping. */
function monitoringLines(stack: ResolvedStack, data: Record<string, unknown>, lines: Array<[string, string]>, warnings: string[]): void {
    const cfg = stack.config;
    const m = resolveMonitoring(cfg);
    const pin = CHARTS.kubePrometheusStack;
    if (!m) {
        data.monitoring = { enabled: false, chart: pin.chart, version: pin.version };
        lines.push(["monitoring", `off (${pin.chart} ${pin.version} not installed): no metrics, dashboards or alerts from miles-cluster`]);
    } else {
        const rules = alertRules(m);
        // Every run exports miles' metrics unless one turns them off.
        const milesOn = stack.runs.length === 0 || stack.runs.every((x) => x.run.prometheus);
        const cost = m.storageUsdPerMonth !== undefined ? `, ≈ $${m.storageUsdPerMonth.toFixed(2)}/month of gp3, kept after pulumi destroy (reclaim Retain)` : "";
        data.monitoring = { enabled: true, chart: pin.chart, version: pin.version, repo: pin.repo, namespace: m.namespace, storageClass: m.storageClassName, prometheus: m.prometheus, grafana: m.grafana, scraped: scrapeSummary(m, milesOn), dashboards: dashboardSummary(m), alerts: rules.map((r) => ({ alert: r.alert, for: r.for, severity: r.labels.severity })), grafana_port_forward: grafanaPortForward(m) };
        lines.push(["monitoring", `${pin.chart} ${pin.version} (${m.namespace}) on ${Object.keys(m.nodeSelector).length ? Object.entries(m.nodeSelector).map(([k, v]) => `${k}=${v}`).join(",") : "any node"}; Prometheus ${m.prometheus.storageGiB} GiB, retention ${m.prometheus.retention}; Grafana ${m.grafana.storageGiB} GiB on ${m.storageClassName}${cost}`]);
        for (const s of scrapeSummary(m, milesOn)) lines.push(["  scrapes", s]);
        for (const d of dashboardSummary(m)) lines.push(["  dashboard", d]);
        lines.push(["  alerts", rules.map((r) => `${r.alert} (${r.labels.severity}, for ${r.for})`).join(", ")]);
        lines.push(["  grafana", grafanaPortForward(m)]);
        lines.push(["  grafana password", grafanaPasswordCommand(m)]);
        if (m.dcgm && m.dcgmUsesNodeAgentHostEngine) lines.push(["  dcgm engine", "the DCGM exporter uses the node monitoring agent's nv-hostengine (one engine per GPU node: profiling metrics work)"]);
        if (!milesOn) warnings.push("addons: monitoring is on but training.prometheus.enabled is false: miles' own metrics (reward, step times, loss) are not exported; the run dashboard stays empty");
    }
    const logs = logShipping(cfg);
    if (logs) {
        data.logs = { enabled: true, logGroup: logs.logGroupName, retentionDays: cfg.addons.logs.retentionDays };
        lines.push(["logs", `Ray logs of every training pod → CloudWatch Logs ${logs.logGroupName} (${cfg.addons.logs.retentionDays} days), Fluent Bit sidecar ${imageRef(IMAGES.fluentBit)}`]);
        const first = stack.runs[0];
        if (first) lines.push(["  read a run's logs", readLogsCommand(logs, first.run.runName)]);
    } else {
        data.logs = { enabled: false };
        lines.push(["logs", "not shipped: Ray logs live in the pods and are gone when the Ray cluster is deleted (ttlSecondsAfterFinished)"]);
    }
}

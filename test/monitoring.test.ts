import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as http from "node:http";
import * as os from "node:os";
import { spawn } from "node:child_process";
import Ajv, { type ValidateFunction } from "ajv";
import { parseConfig } from "../validation";
import type { MilesConfig } from "../config";
import { readStackFile } from "../plan/stackFile";
import { runOf } from "../domain/stack";
import { rayJobManifest } from "../domain/training/rayJob";
import { resolveMonitoring, type ResolvedMonitoring } from "../domain/monitoring/resolve";
import { monitorManifests, type LabelSelector, type MonitorManifest } from "../domain/monitoring/monitors";
import { alertRules, prometheusRuleManifest } from "../domain/monitoring/rules";
import { runDashboard, runDashboardConfigMap } from "../domain/monitoring/dashboards";
import { kubePrometheusStackValues } from "../domain/monitoring/values";
import { PROBE_METRICS, PROBE_SCRIPT } from "../domain/monitoring/probe";
import { dcgmExporterOptions, dcgmExporterValues } from "../domain/addons";
import { DCGM_EXPORTER_SERVICE, KUBERAY_CREATED_BY, KUBERAY_DEFAULT_APP_NAME, KUBERAY_POD_LABELS, MILES_KEYS, milesMetricName, RAY_METRICS_PORT } from "../catalog/observability";
import { CHARTS } from "../catalog/versions";
import { AJV_OPTIONS, closeObjects, rawConfig, ROOT, requireShared } from "./harness";

type Obj = Record<string, any>;

function stackConfig(name: string): MilesConfig {
    const r = parseConfig(readStackFile(path.join(ROOT, "stacks", `Pulumi.${name}.yaml`), "miles-cluster"), { stack: name });
    assert.deepEqual(r.problems, []);
    return r.config!;
}

const PROD = stackConfig("prod");
const MON = resolveMonitoring(PROD)!;

/**
 * The pods KubeRay v1.7.0 creates from a RayJob's templates (ray-operator/controllers/ray/common/
 * pod.go): `labelPod` puts its labels first and lets the template's override all but node-type,
 * group and cluster (:1167-1191); a Ray container without a `metrics` port gets 8080 (:289, :689).
 */
function kuberayPods(rayJob: Obj, clusterName: string): { role: "head" | "worker"; namespace: string; labels: Record<string, string>; ports: string[] }[] {
    const rc = rayJob.spec.rayClusterSpec;
    const groups = [
        { role: "head" as const, group: "headgroup", template: rc.headGroupSpec.template },
        ...rc.workerGroupSpecs.map((w: Obj) => ({ role: "worker" as const, group: w.groupName, template: w.template })),
    ];
    return groups.map(({ role, group, template }) => {
        const own = { ...(template.metadata?.labels ?? {}) } as Record<string, string>;
        const fixed = { [KUBERAY_POD_LABELS.cluster]: clusterName, [KUBERAY_POD_LABELS.nodeType]: role, [KUBERAY_POD_LABELS.group]: group };
        const labels: Record<string, string> = { [KUBERAY_POD_LABELS.isRayNode]: "yes", [KUBERAY_POD_LABELS.appName]: KUBERAY_DEFAULT_APP_NAME, [KUBERAY_POD_LABELS.createdBy]: KUBERAY_CREATED_BY, ...fixed };
        for (const [k, v] of Object.entries(own)) if (!(k in fixed)) labels[k] = v;
        const containers = template.spec.containers as Obj[];
        const ports = containers.flatMap((c, i) => {
            const p = ((c.ports ?? []) as Obj[]).map((x) => x.name as string);
            return i === 0 && !p.includes(RAY_METRICS_PORT.name) ? [...p, RAY_METRICS_PORT.name] : p;
        });
        return { role, namespace: rayJob.metadata.namespace, labels, ports };
    });
}

function matches(sel: LabelSelector, labels: Record<string, string>): boolean {
    for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
    for (const e of sel.matchExpressions ?? []) {
        const has = e.key in labels;
        if (e.operator === "In" && !(has && e.values!.includes(labels[e.key]))) return false;
        if (e.operator === "NotIn" && has && e.values!.includes(labels[e.key])) return false;
        if (e.operator === "Exists" && !has) return false;
        if (e.operator === "DoesNotExist" && has) return false;
    }
    return true;
}

const validators = new Map<string, ValidateFunction>();
function validator(shared: string, file: string): ValidateFunction {
    if (!validators.has(file)) {
        const schema = JSON.parse(fs.readFileSync(path.join(shared, "schemas", file), "utf8"));
        closeObjects(schema);
        // The operator's patterns are Go regexps: `(?i)` (case-insensitive from there on) becomes the
        // `i` flag of the whole pattern — slightly more permissive, never stricter.
        const regExp = Object.assign((source: string, flags: string) => (source.includes("(?i)") ? new RegExp(source.split("(?i)").join(""), flags + "i") : new RegExp(source, flags)), { code: "new RegExp" });
        validators.set(file, new Ajv({ ...AJV_OPTIONS, code: { ...AJV_OPTIONS.code, regExp: regExp as never } }).compile(schema));
    }
    return validators.get(file)!;
}
function assertValid(v: ValidateFunction, obj: unknown, what: string): void {
    assert.ok(v(obj), `${what}: ${JSON.stringify(v.errors?.slice(0, 5))}`);
}

describe("monitoring: what is scraped", () => {
    const observed = { monitoring: true };
    const run = runOf(PROD);
    const rayJob = rayJobManifest(run, { namespace: PROD.training.namespace, claimName: "c", serviceAccountName: "sa", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/miles-cluster/prod/miles-efa:v0.1.0-efa1.49.0", observability: observed }) as Obj;
    const pods = kuberayPods(rayJob, `${run.runName}-abcde`);
    const monitors = monitorManifests(MON);
    const byName = (n: string) => monitors.find((m) => m.metadata.name === n)!;
    const endpoints = (m: MonitorManifest) => m.spec.podMetricsEndpoints ?? m.spec.endpoints ?? [];

    it("the Ray PodMonitor selects the head and every worker the RayJob creates, on a port they have", () => {
        const ray = byName("miles-ray");
        assert.deepEqual(pods.map((p) => p.role), ["head", "worker"]);
        for (const p of pods) {
            assert.ok(ray.spec.namespaceSelector.matchNames.includes(p.namespace), `${p.role}: namespace ${p.namespace}`);
            assert.ok(matches(ray.spec.selector, p.labels), `${p.role} labels ${JSON.stringify(p.labels)}`);
            for (const e of endpoints(ray)) assert.ok(p.ports.includes(e.port), `${p.role} has no port ${e.port}: ${p.ports}`);
        }
    });

    it("the miles PodMonitor selects only the head, which serves miles' exporter (on by default with monitoring) and the checkpoint probe", () => {
        const train = byName("miles-train");
        const [headPod, workerPod] = pods;
        assert.ok(matches(train.spec.selector, headPod.labels));
        assert.ok(!matches(train.spec.selector, workerPod.labels), "workers carry no miles exporter (the collector actor is pinned to the driver's node)");
        for (const e of endpoints(train)) assert.ok(headPod.ports.includes(e.port), `head has no port ${e.port}: ${headPod.ports}`);
        assert.ok(run.command.argv.includes("--use-prometheus"), "monitoring on: miles' exporter defaults to on");
    });

    it("the preparation Jobs' pods are not scraped as Ray pods", () => {
        const prepLabels = { "app.kubernetes.io/name": "miles", "app.kubernetes.io/instance": run.runName, "app.kubernetes.io/component": "download", "app.kubernetes.io/part-of": "miles-cluster" };
        for (const m of monitors.filter((x) => x.kind === "PodMonitor")) assert.ok(!matches(m.spec.selector, prepLabels), m.metadata.name);
    });

    it("the DCGM ServiceMonitor selects the exporter chart's Service and port, keeping the GPU pod's labels", () => {
        const dcgm = byName("dcgm-exporter");
        assert.ok(matches(dcgm.spec.selector, { ...DCGM_EXPORTER_SERVICE.labels("dcgm-exporter"), "app.kubernetes.io/component": "dcgm-exporter" }));
        assert.deepEqual(dcgm.spec.namespaceSelector.matchNames, ["kube-system"]);
        assert.equal(endpoints(dcgm)[0].port, DCGM_EXPORTER_SERVICE.port);
        assert.equal(endpoints(dcgm)[0].honorLabels, true);
    });

    it("PodMonitors, ServiceMonitor and PrometheusRule validate against the prometheus-operator schemas", function () {
        const shared = requireShared(this);
        for (const m of monitors) assertValid(validator(shared, `prometheus-operator/monitoring.coreos.com_${m.kind.toLowerCase()}s.v1.schema.json`), m, m.metadata.name);
        assertValid(validator(shared, "prometheus-operator/monitoring.coreos.com_prometheusrules.v1.schema.json"), prometheusRuleManifest(MON), "rules");
        // A misspelt field is caught (the closed schema is not vacuous).
        const bad = JSON.parse(JSON.stringify(monitors[0]));
        bad.spec.podMetricsEndpoints[0].prot = "metrics";
        assert.equal(validator(shared, "prometheus-operator/monitoring.coreos.com_podmonitors.v1.schema.json")(bad), false);
    });

    it("the head pod with the checkpoint probe sidecar is a valid Pod (kubernetes-models)", async () => {
        const mod = (await import("kubernetes-models/v1/Pod")) as unknown as { Pod: new (o: unknown) => { validate(): void } };
        const head = rayJob.spec.rayClusterSpec.headGroupSpec.template;
        new mod.Pod({ metadata: { name: "head", ...head.metadata }, spec: head.spec }).validate();
        assert.deepEqual((head.spec.containers as Obj[]).map((c) => c.name), ["ray-head", "checkpoint-probe"]);
    });
});

describe("monitoring: alert rules and dashboard", () => {
    const milesNames = new Set(Object.values(MILES_KEYS).map(milesMetricName));
    const referenced = (text: string) => [...text.matchAll(/miles_metric_[a-zA-Z0-9_]+/g)].map((m) => m[0]);

    it("has the alerts that matter for paid GPUs, with the configured thresholds", () => {
        const rules = alertRules(MON);
        assert.deepEqual(rules.map((r) => r.alert), ["MilesRunGpusIdle", "MilesGpuXidError", "MilesRayPodRestarting", "MilesRayPodPending", "MilesRunNoProgress", "MilesCheckpointStale", "MilesLossNotFinite"]);
        const idle = rules.find((r) => r.alert === "MilesRunGpusIdle")!;
        assert.equal(idle.for, "30m");
        assert.match(idle.expr, /< 10$/);
        assert.match(rules.find((r) => r.alert === "MilesCheckpointStale")!.expr, /> 2 \* max by \(run_name\) \(miles_cluster_checkpoint_save_interval\)/);
    });

    it("rules and dashboard use only metric names miles v0.1.0 exports and the probe serves", () => {
        const text = JSON.stringify(alertRules(MON)) + JSON.stringify(runDashboard(MON));
        for (const n of referenced(text)) assert.ok(milesNames.has(n), `${n} is not a miles v0.1.0 metric`);
        for (const n of text.matchAll(/miles_cluster_[a-z_]+/g)) assert.ok(Object.values(PROBE_METRICS).includes(n[0] as never), n[0]);
        assert.equal(milesMetricName("rollout/response_len/mean"), "miles_metric_rollout_response_len_mean");
    });

    it("without the DCGM exporter there are no GPU alerts and no DCGM dashboard download", () => {
        const m: ResolvedMonitoring = { ...MON, dcgm: false };
        assert.ok(!alertRules(m).some((r) => r.expr.includes("DCGM_")));
        assert.deepEqual((kubePrometheusStackValues(m).grafana as Obj).dashboards, {});
        assert.ok(!monitorManifests(m).some((x) => x.kind === "ServiceMonitor"));
    });

    it("the run dashboard ConfigMap carries the Grafana sidecar label and valid JSON", () => {
        const cm = runDashboardConfigMap(MON);
        assert.equal(cm.metadata.labels.grafana_dashboard, "1");
        const d = JSON.parse(cm.data["miles-cluster-run.json"]);
        assert.ok(d.panels.length >= 12);
        assert.ok(d.panels.every((p: Obj) => p.targets.length > 0));
    });
});

describe("monitoring: kube-prometheus-stack values", () => {
    const fixture = fs.readFileSync(path.join(ROOT, "test", "fixtures", `kube-prometheus-stack-${CHARTS.kubePrometheusStack.version}.values-paths.tsv`), "utf8");
    const chart = new Map(fixture.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split("\t") as [string, string]));
    const values = kubePrometheusStackValues(MON);

    it("writes only keys the pinned chart has", () => {
        const walk = (o: Obj, p: string): void => {
            for (const [k, v] of Object.entries(o)) {
                const q = p ? `${p}.${k}` : k;
                const kind = chart.get(q);
                assert.ok(kind, `${q} is not a value of kube-prometheus-stack ${CHARTS.kubePrometheusStack.version}`);
                if (kind === "map" && v && typeof v === "object" && !Array.isArray(v)) walk(v, q);
            }
        };
        walk(values, "");
    });

    it("persists and retains Prometheus, Alertmanager and Grafana on the system nodes, with our Grafana Secret", () => {
        const p = (values.prometheus as Obj).prometheusSpec;
        assert.deepEqual(p.nodeSelector, { "miles-cluster.io/node-group": "system" });
        assert.equal(p.storageSpec.volumeClaimTemplate.spec.resources.requests.storage, "100Gi");
        assert.equal(p.storageSpec.volumeClaimTemplate.spec.storageClassName, "miles-monitoring-gp3");
        assert.equal(p.retentionSize, "90GB");
        assert.deepEqual(p.persistentVolumeClaimRetentionPolicy, { whenDeleted: "Retain", whenScaled: "Retain" });
        assert.equal(p.podMonitorSelectorNilUsesHelmValues, false);
        const g = values.grafana as Obj;
        assert.equal(g.admin.existingSecret, "grafana-admin");
        assert.equal(g.adminPassword, undefined);
        assert.equal(g.persistence.enabled, true);
    });
});

describe("monitoring: config", () => {
    const base = { "aws:region": "us-east-1", "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] }, "miles-cluster:training": { model: { preset: "qwen3-4B" } } };
    const byoRaw = readStackFile(path.join(ROOT, "stacks", "Pulumi.byo.yaml"), "miles-cluster");
    const byoWith = (addons: Obj) => ({ ...byoRaw, values: { ...byoRaw.values, "miles-cluster:addons": JSON.stringify(addons) } });

    it("is on by default on a cluster miles-cluster creates, off on a bring-your-own cluster", () => {
        assert.ok(resolveMonitoring(parseConfig(rawConfig(base), { stack: "t" }).config!));
        assert.equal(resolveMonitoring(stackConfig("byo")), undefined);
    });

    it("asks for a StorageClass when switched on for a bring-your-own cluster, and rejects a plaintext Grafana password", () => {
        const r = parseConfig(byoWith({ monitoring: { enabled: true, grafana: { adminPassword: "correct-horse-battery" } } }), { stack: "byo" });
        const paths = r.problems.map((p) => p.path);
        assert.ok(paths.includes("addons.monitoring.storageClassName"), JSON.stringify(r.problems));
        assert.ok(paths.some((p) => p.startsWith("addons.monitoring.grafana.adminPassword")), JSON.stringify(r.problems));
    });
});

describe("DCGM exporter and the node monitoring agent share one DCGM engine", () => {
    it("on our EKS cluster the exporter connects to the agent's host engine on the node IP", () => {
        const v = dcgmExporterValues([], dcgmExporterOptions(PROD)) as Obj;
        assert.deepEqual(v.arguments, ["-f", "/etc/dcgm-exporter/default-counters.csv", "-r", "$(NODE_IP):5555"]);
        assert.deepEqual(v.extraEnv, [{ name: "NODE_IP", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } }]);
    });
    it("on a bring-your-own cluster (no agent) it keeps its embedded engine", () => {
        const v = dcgmExporterValues([], dcgmExporterOptions(stackConfig("byo"))) as Obj;
        assert.equal(v.arguments, undefined);
    });
});

describe("checkpoint probe (the real script, run with python3)", function () {
    this.timeout(10000);
    const python = ["python3", "python"].find((p) => {
        try {
            require("node:child_process").execFileSync(p, ["--version"], { stdio: "ignore" });
            return true;
        } catch {
            return false;
        }
    });

    async function scrape(port: number): Promise<string> {
        for (let i = 0; i < 50; i++) {
            try {
                return await new Promise<string>((resolve, reject) => {
                    http.get({ host: "127.0.0.1", port, path: "/metrics" }, (res) => {
                        let b = "";
                        res.on("data", (c) => (b += c));
                        res.on("end", () => (res.headers["content-type"]?.startsWith("text/plain; version=0.0.4") ? resolve(b) : reject(new Error(`content-type ${res.headers["content-type"]}`))));
                    }).on("error", reject);
                });
            } catch {
                await new Promise((r) => setTimeout(r, 100));
            }
        }
        throw new Error("probe did not answer");
    }

    it("serves the save interval, then the checkpointed iteration and its time once Megatron wrote the tracker", async function () {
        if (!python) this.skip();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "probe-"));
        const port = 20000 + Math.floor(Math.random() * 20000);
        const child = spawn(python!, ["-c", PROBE_SCRIPT], { env: { ...process.env, MILES_CLUSTER_SAVE_DIR: dir, MILES_CLUSTER_RUN: "run-a", MILES_CLUSTER_SAVE_INTERVAL: "20", MILES_CLUSTER_PROBE_PORT: String(port) }, stdio: "ignore" });
        try {
            const before = await scrape(port);
            assert.match(before, /^miles_cluster_checkpoint_save_interval\{run_name="run-a"\} 20$/m);
            assert.ok(!before.includes(PROBE_METRICS.iteration));
            fs.writeFileSync(path.join(dir, "latest_checkpointed_iteration.txt"), "40\n");
            const after = await scrape(port);
            assert.match(after, /^miles_cluster_checkpoint_iteration\{run_name="run-a"\} 40$/m);
            const ts = Number(/^miles_cluster_checkpoint_last_save_timestamp_seconds\{run_name="run-a"\} ([0-9.]+)$/m.exec(after)![1]);
            assert.ok(Math.abs(ts - Date.now() / 1000) < 60);
            fs.writeFileSync(path.join(dir, "latest_checkpointed_iteration.txt"), "release");
            assert.ok(!(await scrape(port)).includes(PROBE_METRICS.iteration), "a converted checkpoint ('release') is no iteration");
        } finally {
            child.kill();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

/**
 * Ray's Grafana dashboards, provisioned by the head's ray-dashboards sidecar: its script runs for
 * real under /bin/sh with stand-ins for `curl` (the Kubernetes API: records each call's argv and
 * stdin) and `sleep` (no waiting; `sleep 3600`, the "done, sleep forever" loop, ends the script);
 * the Role is exactly get/patch of one ConfigMap; only the head gets the sidecar.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RAY_DASHBOARDS_CONTAINER, RAY_DASHBOARDS_DIR, RAY_DASHBOARDS_SCRIPT, rayDashboardsConfigMap, rayDashboardsContainer, rayDashboardsRole, rayDashboardsRoleBinding, rayDashboardsTarget } from "../domain/monitoring/rayDashboards";
import { headPod, workerPod, type TrainingContext } from "../domain/training/pod";
import { runOf } from "../domain/stack";
import { namespacePolicies } from "../domain/security/networkPolicy";
import { parseConfig } from "../validation";
import { readStackFile } from "../plan/stackFile";
import { ROOT } from "./harness";

// Each call: argv (one per line) into $FAKE/call-<n>.argv, stdin into call-<n>.stdin; answers
// $FAKE/get-code for a GET and $FAKE/patch-code for a PATCH (-w's "\n%{http_code}" form).
const CURL = `#!/bin/sh
n=$(($(cat "$FAKE/n" 2>/dev/null || echo 0) + 1)); echo $n > "$FAKE/n"
for a in "$@"; do printf '%s\\n' "$a"; done > "$FAKE/call-$n.argv"
case " $* " in
  *" PATCH "*) cat > "$FAKE/call-$n.stdin"; echo '{"kind":"ConfigMap"}'; printf '\\n%s' "$(cat "$FAKE/patch-code")";;
  *) printf '%s' "$(cat "$FAKE/get-code")";;
esac
`;
// sleep 5 (waiting for the files): the first one lets the Ray head write them; sleep 30 (retry):
// at most 2; sleep 3600: the sidecar is done.
const SLEEP = `#!/bin/sh
echo "$1" >> "$FAKE/sleeps"
case "$1" in
  5) if [ -d "$FAKE/pending" ]; then mkdir -p "$DIR"; mv "$FAKE/pending"/* "$DIR"/; rmdir "$FAKE/pending"; fi;;
  30) [ "$(grep -c '^30$' "$FAKE/sleeps")" -lt 3 ] || exit 43;;
  3600) exit 42;;
esac
exit 0
`;

// Ray-like dashboard files: quotes, backslashes (a PromQL regex), tabs, CRLF, non-ASCII.
const DEFAULT = '{\r\n\t"title": "Default Dashboard",\n  "panels": [{"targets": [{"expr": "sum(ray_tasks{State=~\\"RUNNING|PENDING\\", instance=~\\"$Instance\\\\\\\\d\\"})", "legendFormat": "{{State}} — ü"}]}],\n  "uid": "rayDefaultDashboard"\n}\n';
const DATA = '{"title": "Data Dashboard", "uid": "rayDataDashboard", "description": "line one\\nline two\\ttabbed"}';

interface Call {
    argv: string[];
    stdin?: string;
}

function run(files: Record<string, string>, o: { getCode?: string; patchCode?: string; late?: boolean } = {}): { code: number; out: string; calls: Call[]; sleeps: string[] } {
    const fake = fs.mkdtempSync(path.join(os.tmpdir(), "ray-dash-"));
    fs.mkdirSync(path.join(fake, "bin"));
    fs.writeFileSync(path.join(fake, "bin", "curl"), CURL, { mode: 0o755 });
    fs.writeFileSync(path.join(fake, "bin", "sleep"), SLEEP, { mode: 0o755 });
    fs.writeFileSync(path.join(fake, "get-code"), o.getCode ?? "200");
    fs.writeFileSync(path.join(fake, "patch-code"), o.patchCode ?? "200");
    fs.mkdirSync(path.join(fake, "sa"));
    fs.writeFileSync(path.join(fake, "sa", "token"), "tok-123");
    const dir = path.join(fake, "ray", "dashboards");
    const target = o.late ? path.join(fake, "pending") : dir;
    fs.mkdirSync(target, { recursive: true });
    for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(target, name), body);
    const r = spawnSync("/bin/sh", ["-ec", RAY_DASHBOARDS_SCRIPT], {
        env: { PATH: `${path.join(fake, "bin")}:${process.env.PATH}`, FAKE: fake, SA_DIR: path.join(fake, "sa"), NAMESPACE: "miles-monitoring", CONFIGMAP: "qwen3-ray-dashboards", DIR: dir },
        encoding: "utf8",
        timeout: 10000,
    });
    const n = fs.existsSync(path.join(fake, "n")) ? Number(fs.readFileSync(path.join(fake, "n"), "utf8")) : 0;
    const calls: Call[] = [];
    for (let i = 1; i <= n; i++) {
        const stdin = path.join(fake, `call-${i}.stdin`);
        calls.push({ argv: fs.readFileSync(path.join(fake, `call-${i}.argv`), "utf8").trimEnd().split("\n"), ...(fs.existsSync(stdin) ? { stdin: fs.readFileSync(stdin, "utf8") } : {}) });
    }
    const sleeps = fs.existsSync(path.join(fake, "sleeps")) ? fs.readFileSync(path.join(fake, "sleeps"), "utf8").trim().split("\n") : [];
    fs.rmSync(fake, { recursive: true, force: true });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, calls, sleeps };
}

const URL = "https://kubernetes.default.svc/api/v1/namespaces/miles-monitoring/configmaps/qwen3-ray-dashboards";

describe("Ray dashboards sidecar script (run under /bin/sh with a stand-in curl)", () => {
    it("applies every dashboard file as one key of the ConfigMap (server-side apply, one GET and one PATCH), then sleeps forever", () => {
        const r = run({ "default_grafana_dashboard.json": DEFAULT, "data_grafana_dashboard.json": DATA });
        assert.equal(r.code, 42, r.out);
        assert.equal(r.calls.length, 2, r.out);
        const [get, patch] = r.calls;
        assert.ok(!get.argv.includes("-X") && get.argv.at(-1) === URL, get.argv.join(" "));
        for (const c of r.calls) {
            assert.ok(c.argv.includes("Authorization: Bearer tok-123"));
            assert.ok(c.argv[c.argv.indexOf("--cacert") + 1].endsWith("/sa/ca.crt"));
        }
        assert.equal(patch.argv[patch.argv.indexOf("-X") + 1], "PATCH");
        assert.ok(patch.argv.includes("Content-Type: application/apply-patch+yaml"));
        assert.equal(patch.argv.at(-1), `${URL}?fieldManager=ray-dashboards&force=true`);
        // The body is one JSON object; each value parses back to the file's dashboard.
        const body = JSON.parse(patch.stdin!);
        assert.deepEqual(body.metadata, { name: "qwen3-ray-dashboards", namespace: "miles-monitoring" });
        assert.equal(body.kind, "ConfigMap");
        assert.deepEqual(Object.keys(body.data).sort(), ["data_grafana_dashboard.json", "default_grafana_dashboard.json"]);
        assert.deepEqual(JSON.parse(body.data["default_grafana_dashboard.json"]), JSON.parse(DEFAULT));
        assert.deepEqual(JSON.parse(body.data["data_grafana_dashboard.json"]), JSON.parse(DATA));
        assert.match(r.out, /applied 2 Ray dashboards to configmap miles-monitoring\/qwen3-ray-dashboards/);
    });

    it("waits until the Ray head has written the files (and their size is stable) before applying", () => {
        const r = run({ "default_grafana_dashboard.json": DEFAULT }, { late: true });
        assert.equal(r.code, 42, r.out);
        assert.deepEqual(r.sleeps.slice(0, 3), ["5", "5", "3600"]);
        assert.deepEqual(Object.keys(JSON.parse(r.calls[1].stdin!).data), ["default_grafana_dashboard.json"]);
    });

    it("a ConfigMap it cannot read (not created, no RBAC) is reported and retried, never created", () => {
        const r = run({ "default_grafana_dashboard.json": DEFAULT }, { getCode: "404" });
        assert.equal(r.code, 43, r.out);
        assert.ok(r.calls.every((c) => !c.argv.includes("PATCH")), "no write without the ConfigMap");
        assert.match(r.out, /configmap miles-monitoring\/qwen3-ray-dashboards is not readable \(HTTP 404\): is the monitoring stack deployed\? retrying/);
    });

    it("a rejected apply (e.g. 403, or 422 over the 1 MiB ConfigMap limit) prints the status and retries", () => {
        const r = run({ "default_grafana_dashboard.json": DEFAULT }, { patchCode: "403" });
        assert.equal(r.code, 43, r.out);
        assert.equal(r.calls.filter((c) => c.argv.includes("PATCH")).length, 3);
        assert.match(r.out, /applying the dashboards to configmap miles-monitoring\/qwen3-ray-dashboards failed: HTTP 403/);
        assert.match(r.out, /"kind":"ConfigMap"/);
    });
});

describe("Ray dashboards objects", () => {
    const t = rayDashboardsTarget("qwen3", "miles-monitoring");

    it("ConfigMap <run>-ray-dashboards in the monitoring namespace, labelled for Grafana's sidecar, empty", () => {
        const cm = rayDashboardsConfigMap(t);
        assert.equal(cm.metadata.name, "qwen3-ray-dashboards");
        assert.equal(cm.metadata.namespace, "miles-monitoring");
        assert.deepEqual(cm.metadata.labels, { grafana_dashboard: "1", "app.kubernetes.io/part-of": "miles-cluster" });
        assert.deepEqual(cm.data, {});
    });

    it("the Role allows get and patch of that one ConfigMap, nothing else; the binding names the head's service account", () => {
        const role = rayDashboardsRole(t);
        assert.equal(role.metadata.namespace, "miles-monitoring");
        assert.deepEqual(role.rules, [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["qwen3-ray-dashboards"], verbs: ["get", "patch"] }]);
        const b = rayDashboardsRoleBinding(t, { name: "miles-training", namespace: "miles" });
        assert.deepEqual(b.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name });
        assert.deepEqual(b.subjects, [{ kind: "ServiceAccount", name: "miles-training", namespace: "miles" }]);
    });

    it("Role, RoleBinding and ConfigMap are valid objects (kubernetes-models)", async () => {
        type Model = new (o: unknown) => { validate(): void };
        const { Role } = (await import("kubernetes-models/rbac.authorization.k8s.io/v1/Role")) as unknown as { Role: Model };
        const { RoleBinding } = (await import("kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding")) as unknown as { RoleBinding: Model };
        const { ConfigMap } = (await import("kubernetes-models/v1/ConfigMap")) as unknown as { ConfigMap: Model };
        new Role(rayDashboardsRole(t)).validate();
        new RoleBinding(rayDashboardsRoleBinding(t, { name: "sa", namespace: "miles" })).validate();
        new ConfigMap(rayDashboardsConfigMap(t)).validate();
    });
});

describe("Ray dashboards sidecar in the run's pods", () => {
    const raw = readStackFile(path.join(ROOT, "stacks", "Pulumi.prod.yaml"), "miles-cluster");
    const cfg = parseConfig(raw, { stack: "prod" }).config!;
    const r = runOf(cfg);
    const base: TrainingContext = { namespace: "miles", claimName: "c", serviceAccountName: "miles-training", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/miles-cluster/prod/miles-efa:v0.1.0-efa1.49.0" };
    const logs = { logGroupName: "/miles-cluster/prod/training", region: "us-east-2" };
    type C = { name: string; restartPolicy?: string; image?: string; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[]; securityContext?: Record<string, unknown> };
    const inits = (spec: { initContainers?: unknown }) => ((spec.initContainers ?? []) as C[]);

    it("the head (logs shipped too) gets it as a native sidecar on the log shipper's /tmp/ray volume, hardened, with the only token of the pod", async () => {
        const head = headPod(r, { ...base, observability: { monitoring: true, logs, rayDashboardsNamespace: "miles-monitoring" } });
        const spec = head.spec as Record<string, any>;
        const names = inits(spec).map((c) => c.name);
        assert.deepEqual(names, ["log-shipper", RAY_DASHBOARDS_CONTAINER]);
        const side = inits(spec)[1];
        assert.equal(side.restartPolicy, "Always");
        assert.equal(side.image, "curlimages/curl:8.15.0");
        assert.deepEqual(side.securityContext, { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } });
        const rayMount = side.volumeMounts!.find((m) => m.mountPath === "/tmp/ray")!;
        assert.equal(rayMount.readOnly, true);
        assert.equal(rayMount.name, inits(spec)[0].volumeMounts!.find((m) => m.mountPath === "/tmp/ray")!.name, "the same volume the log shipper reads");
        assert.ok(RAY_DASHBOARDS_DIR.startsWith("/tmp/ray/session_latest/"));
        // No automounted token: only the sidecar mounts one.
        assert.equal(spec.automountServiceAccountToken, false);
        const tokenVolume = (spec.volumes as { name: string; projected?: unknown }[]).find((v) => v.projected)!;
        const mountsToken = [...(spec.containers as C[]), ...inits(spec)].filter((c) => (c.volumeMounts ?? []).some((m) => m.name === tokenVolume.name)).map((c) => c.name);
        assert.deepEqual(mountsToken, [RAY_DASHBOARDS_CONTAINER]);
        assert.equal(new Set((spec.volumes as { name: string }[]).map((v) => v.name)).size, spec.volumes.length, "no volume twice");
        const v1 = (await import("kubernetes-models/v1/Pod")) as unknown as { Pod: new (o: unknown) => { validate(): void } };
        new v1.Pod({ metadata: { name: "head", ...head.metadata }, spec }).validate();
    });

    it("without log shipping the head still gets the /tmp/ray volume, shared with the Ray container", async () => {
        const spec = headPod(r, { ...base, observability: { monitoring: true, rayDashboardsNamespace: "miles-monitoring" } }).spec as Record<string, any>;
        assert.deepEqual(inits(spec).map((c) => c.name), [RAY_DASHBOARDS_CONTAINER]);
        const ray = (spec.containers as C[])[0];
        assert.ok(ray.volumeMounts!.some((m) => m.mountPath === "/tmp/ray" && m.name === "ray-logs"));
        const v1 = (await import("kubernetes-models/v1/Pod")) as unknown as { Pod: new (o: unknown) => { validate(): void } };
        new v1.Pod({ metadata: { name: "head" }, spec }).validate();
    });

    it("workers never get it; without the switch the head does not either", () => {
        const ctx = { ...base, observability: { monitoring: true, logs, rayDashboardsNamespace: "miles-monitoring" } };
        assert.deepEqual(inits(workerPod(r, ctx).spec).map((c) => c.name), ["log-shipper"]);
        assert.deepEqual(inits(headPod(r, { ...base, observability: { monitoring: true, logs } }).spec).map((c) => c.name), ["log-shipper"]);
        assert.equal(rayDashboardsContainer(rayDashboardsTarget("x", "m")).name, RAY_DASHBOARDS_CONTAINER);
    });

    it("the head reaches the API server through the namespace's egress rule the lifecycle Jobs use (no new rule)", () => {
        const egress = namespacePolicies("miles").find((p) => p.metadata.name === "allow-egress")!;
        assert.deepEqual(egress.spec.podSelector, {}, "every pod of the training namespace, the head included");
        const rules = egress.spec.egress as { to: { ipBlock?: { cidr: string; except?: string[] } }[] }[];
        assert.ok(rules.some((e) => e.to.some((to) => to.ipBlock?.cidr === "0.0.0.0/0")));
    });
});

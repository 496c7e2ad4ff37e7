/**
 * Logs that outlive the Ray cluster (the Fluent Bit sidecar, its IAM policy and network path) and
 * the run record (its ConfigMap, the real writer and wrapper, `miles-cluster runs`). Pure functions
 * and the real python3 writer; one whole-stack plan (prod) for what `plan --out` writes.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { parseConfig } from "../validation";
import type { MilesConfig } from "../config";
import { readStackFile } from "../plan/stackFile";
import type { Plan } from "../plan/run";
import { writeManifests } from "../plan/render";
import { runOf } from "../domain/stack";
import { rayJobManifest } from "../domain/training/rayJob";
import type { TrainingContext } from "../domain/training/pod";
import { LOG_SHIPPER_CONTAINER, logShipping, logsPolicy, RAY_LOG_DIR, RAY_LOG_VOLUME } from "../domain/monitoring/logs";
import { recordedEntrypointScript, REDACTED, RUN_RECORD_WRITER, runRecordConfigMap, runRecordsCommand, runRecordsS3Path, runRecordStatic } from "../domain/training/runRecord";
import { IMDS_CIDR, namespacePolicies, type NetworkPolicyManifest } from "../domain/security/networkPolicy";
import { readRunRecords, renderRunRecords } from "../cli/runs";
import { main } from "../cli/main";
import { gitHead } from "../domain/training/gitCommit";
import { one, ofType, planStack, ROOT } from "./harness";
import { CHARTS } from "../catalog/versions";

type Obj = Record<string, any>;

/** A stack file's config, with `patch` applied to its parsed `miles-cluster:*` values (`secret`: paths written as `secure:` values). */
function stackConfig(name: string, patch: (values: Record<string, Obj>) => void = () => {}, secret: string[] = []): MilesConfig {
    const raw = readStackFile(path.join(ROOT, "stacks", `Pulumi.${name}.yaml`), "miles-cluster");
    const values: Record<string, Obj> = Object.fromEntries(Object.entries(raw.values).map(([k, v]) => [k, k.startsWith("miles-cluster:") ? JSON.parse(v) : v]));
    patch(values);
    const strings = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
    const keys = secret.map((p) => p.split(".")[0]);
    const r = parseConfig({ ...raw, values: strings, secretKeys: [...raw.secretKeys, ...keys], secretLeaves: [...(raw.secretLeaves ?? []), ...secret] }, { stack: name });
    assert.deepEqual(r.problems, []);
    return r.config!;
}

const PROD = stackConfig("prod");
const LOGS = logShipping(PROD)!;
const validPod = async (what: string, template: Obj) => {
    const { Pod } = (await import("kubernetes-models/v1/Pod")) as unknown as { Pod: new (o: unknown) => { validate(): void } };
    new Pod({ metadata: { name: what, ...template.metadata }, spec: template.spec }).validate();
};

/** Whether an IPv4 address lies in a CIDR block. */
function inCidr(ip: string, cidr: string): boolean {
    const [base, bits] = cidr.split("/");
    const n = (a: string) => a.split(".").reduce((acc, o) => (acc << 8n) + BigInt(o), 0n);
    const mask = bits === "0" ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - Number(bits))) - 1n);
    return (n(ip) & mask) === (n(base) & mask);
}

/** NetworkPolicy semantics (egress to an address outside the cluster): some policy selecting the pod has an ipBlock rule covering ip and port. */
function egressAllowed(policies: NetworkPolicyManifest[], podLabels: Record<string, string>, ip: string, port: number): boolean {
    const selects = (sel: Obj) => Object.entries(sel.matchLabels ?? {}).every(([k, v]) => podLabels[k] === v) && (sel.matchExpressions ?? []).length === 0;
    return policies.some(
        (p) =>
            (p.spec.policyTypes as string[]).includes("Egress") &&
            selects(p.spec.podSelector as Obj) &&
            ((p.spec.egress ?? []) as Obj[]).some(
                (rule) =>
                    (rule.to as Obj[]).some((t) => t.ipBlock && inCidr(ip, t.ipBlock.cidr) && !(t.ipBlock.except ?? []).some((e: string) => inCidr(ip, e))) &&
                    (rule.ports === undefined || (rule.ports as Obj[]).some((x) => x.port === port && (x.protocol ?? "TCP") === "TCP")),
            ),
    );
}

describe("logs: a Fluent Bit sidecar ships every Ray pod's logs to the stack's CloudWatch Logs group", () => {
    const run = runOf(PROD);
    const ctx: TrainingContext = { namespace: PROD.training.namespace, claimName: "c", serviceAccountName: "sa", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/miles-cluster/prod/miles-efa:v0.1.0-efa1.49.0", observability: { monitoring: true, logs: LOGS }, runRecordConfigMap: "r" };
    const rj = rayJobManifest(run, ctx) as Obj;
    const templates: Array<[string, Obj]> = [["head", rj.spec.rayClusterSpec.headGroupSpec.template], ...rj.spec.rayClusterSpec.workerGroupSpecs.map((w: Obj) => [`worker ${w.groupName}`, w.template] as [string, Obj])];

    it("is on for a cluster miles-cluster creates, off when switched off and on a bring-your-own cluster", () => {
        assert.deepEqual(LOGS, { logGroupName: "/miles-cluster/prod/training", region: "us-east-2" });
        assert.equal(logShipping(stackConfig("prod", (v) => (v["miles-cluster:addons"].logs = { enabled: false }))), undefined);
        assert.equal(logShipping(stackConfig("byo")), undefined);
    });

    it("head and workers: Ray writes its logs to a volume the sidecar reads; both pods are valid (kubernetes-models)", async () => {
        for (const [what, t] of templates) {
            const ray = t.spec.containers[0];
            // A native sidecar: started before Ray, stopped after it (so Ray's last lines, during a preStop save too, are shipped).
            const shipper = ((t.spec.initContainers ?? []) as Obj[]).find((c) => c.name === LOG_SHIPPER_CONTAINER);
            assert.ok(shipper, `${what}: no log shipper`);
            assert.equal(shipper.restartPolicy, "Always", what);
            assert.ok(!(t.spec.containers as Obj[]).some((c) => c.name === LOG_SHIPPER_CONTAINER), `${what}: the shipper is not a regular container`);
            assert.ok(ray.volumeMounts.some((m: Obj) => m.name === RAY_LOG_VOLUME && m.mountPath === RAY_LOG_DIR && !m.readOnly), what);
            assert.ok(shipper.volumeMounts.some((m: Obj) => m.name === RAY_LOG_VOLUME && m.mountPath === RAY_LOG_DIR && m.readOnly === true), what);
            assert.ok(t.spec.volumes.some((v: Obj) => v.name === RAY_LOG_VOLUME && v.emptyDir), what);
            const arg = (k: string) => shipper.args[shipper.args.indexOf("-p", shipper.args.findIndex((a: string) => a.startsWith(`${k}=`)) - 1) + 1];
            assert.equal(arg("log_group_name"), "log_group_name=/miles-cluster/prod/training");
            assert.equal(arg("region"), "region=us-east-2");
            assert.equal(arg("auto_create_group"), "auto_create_group=false");
            assert.equal(arg("path"), `path=${RAY_LOG_DIR}/session_latest/logs/*`);
            await validPod(what, t);
        }
    });

    it("the sidecar is hardened like every container, and gets no RDMA capability beside an EFA worker", () => {
        for (const [what, t] of templates) {
            const shipper = (t.spec.initContainers as Obj[]).find((c) => c.name === LOG_SHIPPER_CONTAINER)!;
            assert.deepEqual(shipper.securityContext, { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } }, what);
            assert.equal(shipper.resources.limits.memory, "256Mi");
        }
        const worker = templates[1][1].spec.containers[0];
        assert.deepEqual(worker.securityContext.capabilities.add, ["IPC_LOCK"], "prod's workers get EFA devices, so their Ray container keeps memlock");
    });

    it("the training role may only create streams and put events in that group", () => {
        const arn = "arn:aws:logs:us-east-2:111122223333:log-group:/miles-cluster/prod/training";
        assert.deepEqual(logsPolicy(arn), {
            Version: "2012-10-17",
            Statement: [{ Sid: "ShipRayLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${arn}:*`] }],
        });
    });

    it("the namespace's NetworkPolicies let the sidecar reach CloudWatch Logs on 443 and Pod Identity's agent, not IMDS", () => {
        const policies = namespacePolicies(PROD.training.namespace);
        const labels = templates[0][1].metadata.labels;
        // A public regional endpoint address and a VPC interface endpoint's private address (examples: the policy is address-agnostic).
        assert.ok(egressAllowed(policies, labels, "52.94.133.10", 443));
        assert.ok(egressAllowed(policies, labels, "10.0.12.34", 443));
        // EKS Pod Identity agent: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html (169.254.170.23, port 80).
        assert.ok(egressAllowed(policies, labels, "169.254.170.23", 80));
        assert.ok(!egressAllowed(policies, labels, IMDS_CIDR.split("/")[0], 80));
    });
});

describe("run record: its ConfigMap", () => {
    const secretCfg = stackConfig(
        "prod",
        (v) => {
            const t = v["miles-cluster:training"];
            Object.assign(t, { hfToken: "hf_SECRETVALUE1", wandb: { ...(t.wandb ?? {}), enabled: true, apiKey: "SECRETVALUE2" }, secretEnv: { RM_API_KEY: "SECRETVALUE3" } });
        },
        ["miles-cluster:training.hfToken", "miles-cluster:training.wandb.apiKey", "miles-cluster:training.secretEnv.RM_API_KEY"],
    );
    const run = runOf(secretCfg);
    const cm = runRecordConfigMap(run, { stack: "prod", gitCommit: "0123abcd", usdPerNodeHour: 60 });

    it("is a valid ConfigMap labelled as ours and as the run's", async () => {
        const { ConfigMap } = (await import("kubernetes-models/v1/ConfigMap")) as unknown as { ConfigMap: new (o: unknown) => { validate(): void } };
        new ConfigMap(cm).validate();
        assert.equal(cm.metadata.labels["app.kubernetes.io/part-of"], "miles-cluster");
        assert.equal(cm.metadata.labels["app.kubernetes.io/instance"], run.runName);
        assert.equal(cm.metadata.name, `${run.runName}-run-record`);
    });

    it("holds the resolved config, argv and env, never a secret's value (only its name)", () => {
        const text = JSON.stringify(cm);
        assert.doesNotMatch(text, /SECRETVALUE/);
        const rec = JSON.parse(cm.data["record.json"]);
        assert.equal(rec.config.hfToken, REDACTED);
        assert.equal(rec.config.wandb.apiKey, REDACTED);
        assert.deepEqual(rec.config.secretEnv, { RM_API_KEY: REDACTED });
        assert.ok(rec.secretEnv.includes("RM_API_KEY") && rec.secretEnv.includes("WANDB_API_KEY"));
        assert.deepEqual(rec.argv, run.command.argv);
        assert.equal(rec.gitCommit, "0123abcd");
        assert.equal(rec.nodes, 4);
    });
});

describe("run record: where it is read from", () => {
    const dir = "/shared/checkpoints/qwen";
    const fsx = PROD.storage;

    it("from the bucket when the checkpoint directory is exported (new and changed files), else from the volume", () => {
        assert.equal(runRecordsS3Path(dir, fsx), "checkpoints/qwen/run-records");
        assert.equal(runRecordsS3Path(dir, { ...fsx, links: [{ path: "/checkpoints", s3Prefix: "team/ckpt", import: [], export: ["NEW", "CHANGED"] }] }), "team/ckpt/qwen/run-records");
        assert.equal(runRecordsS3Path(dir, { ...fsx, links: [{ path: "/checkpoints", import: [], export: ["NEW"] }] }), undefined, "the end of the record is a change: not exported");
        assert.equal(runRecordsS3Path("/shared/checkpointsX/qwen", fsx), undefined);
        assert.equal(runRecordsS3Path(dir, { ...fsx, type: "efs" }), undefined);
    });

    it("the stack output copies every run's records to run-records/<stack>/<run> and lists them", () => {
        const s3 = runRecordsCommand("prod", [{ runName: "qwen", namespace: "miles", checkpointDir: dir }], fsx);
        assert.equal(s3, "aws s3 sync s3://$(pulumi stack output checkpointBucket --stack prod)/checkpoints/qwen/run-records/ ./run-records/prod/qwen/ && npx miles-cluster runs --stack prod");
        const efs = runRecordsCommand("dev", [{ runName: "qwen", namespace: "miles", checkpointDir: dir }], { ...fsx, type: "efs" });
        assert.match(efs, /^kubectl cp -c ray-head miles\/\$\(kubectl -n miles get pod -l app\.kubernetes\.io\/instance=qwen,app\.kubernetes\.io\/component=ray-head -o jsonpath='\{\.items\[0\]\.metadata\.name\}'\):\/shared\/checkpoints\/qwen\/run-records \.\/run-records\/dev\/qwen && npx miles-cluster runs --stack dev$/);
    });
});

describe("run record: written by the job, listed by `miles-cluster runs` (the real writer and wrapper)", function () {
    this.timeout(20000);
    it("a failing train.py leaves a failed record with duration, GPU-hours and cost; runs lists it", function () {
        if (spawnSync("python3", ["--version"], { timeout: 5000 }).status !== 0) this.skip();
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "record-"));
        try {
            const mount = path.join(tmp, "mount");
            fs.mkdirSync(mount);
            const run = runOf(PROD);
            const rec = runRecordStatic(run, { stack: "prod", gitCommit: "abc123", usdPerNodeHour: 60 });
            fs.writeFileSync(path.join(mount, "record.json"), JSON.stringify({ ...rec, checkpointDir: path.join(tmp, "ckpt") }));
            fs.writeFileSync(path.join(mount, "write.py"), RUN_RECORD_WRITER);
            // The entrypoint script lies next to write.py and record.json, as in the ConfigMap; it finds them there.
            fs.writeFileSync(path.join(mount, "entrypoint.sh"), recordedEntrypointScript(["sh", "-c", "sleep 1; exit 3"]));
            // No stdin, and a hard timeout: a wrapper that blocked would fail here, not hang the suite.
            const r = spawnSync("bash", [path.join(mount, "entrypoint.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 15000 });
            assert.equal(r.status, 3, r.stderr);
            const rows = readRunRecords(tmp);
            assert.equal(rows.length, 1);
            const row = rows[0];
            assert.equal(row.status, "failed");
            assert.equal(row.run, run.runName);
            assert.ok(row.durationSeconds! >= 1 && row.durationSeconds! < 10);
            // durationSeconds is rounded to the second, GPU-hours and cost use the exact duration: up to 0.5 s apart.
            assert.ok(Math.abs(row.gpuHours! - (4 * 8 * row.durationSeconds!) / 3600) < (4 * 8 * 0.5) / 3600 + 0.001, `gpuHours ${row.gpuHours} for ${row.durationSeconds} s`);
            assert.ok(Math.abs(row.costUsdEstimate! - (4 * 60 * row.durationSeconds!) / 3600) < (4 * 60 * 0.5) / 3600 + 0.005, `cost ${row.costUsdEstimate} for ${row.durationSeconds} s`);
            const full = JSON.parse(fs.readFileSync(path.join(tmp, row.file), "utf8"));
            assert.equal(full.exitCode, 3);
            assert.deepEqual(full.argv, run.command.argv);
            assert.match(renderRunRecords(rows), new RegExp(`^${run.runName}\\s+failed\\s`, "m"));
            // The static template alone (no start) is not a run.
            fs.copyFileSync(path.join(mount, "record.json"), path.join(tmp, "ckpt", "template.json"));
            assert.equal(readRunRecords(tmp).length, 1);
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    it("a record that cannot be written never stops the run: train.py still runs and its exit code is the job's", function () {
        if (spawnSync("python3", ["--version"], { timeout: 5000 }).status !== 0) this.skip();
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "record-"));
        try {
            // No record.json in the mount: the writer's start fails.
            fs.writeFileSync(path.join(tmp, "write.py"), RUN_RECORD_WRITER);
            fs.writeFileSync(path.join(tmp, "entrypoint.sh"), recordedEntrypointScript(["sh", "-c", "echo trained; exit 4"]));
            const r = spawnSync("bash", [path.join(tmp, "entrypoint.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 15000 });
            assert.equal(r.status, 4, r.stderr);
            assert.match(r.stdout, /^trained$/m);
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    it("`miles-cluster runs --dir` prints the rows as JSON; a missing directory or no --stack/--dir is an error, not a stack trace", async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "records-"));
        const out: string[] = [];
        const write = process.stdout.write;
        const writeErr = process.stderr.write;
        try {
            const rec = { ...runRecordStatic(runOf(PROD), { stack: "prod", gitCommit: "abc", usdPerNodeHour: 60 }), startedAt: "2026-12-01T10:00:00Z", status: "running" };
            fs.mkdirSync(path.join(tmp, "qwen"));
            fs.writeFileSync(path.join(tmp, "qwen", "2026-12-01T100000Z.json"), JSON.stringify(rec));
            process.stdout.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
            process.stderr.write = ((chunk: string) => (out.push(String(chunk)), true)) as typeof process.stderr.write;
            const code = await main(["runs", "--dir", tmp, "--json"]);
            const missing = await main(["runs", "--dir", path.join(tmp, "nope")]);
            const neither = await main(["runs"]);
            process.stdout.write = write;
            process.stderr.write = writeErr;
            assert.equal(code, 0, out.join(""));
            const rows = JSON.parse(out[0]);
            assert.deepEqual(rows.map((r: Obj) => [r.file, r.status, r.endedAt]), [[path.join("qwen", "2026-12-01T100000Z.json"), "running", undefined]]);
            assert.equal(missing, 1);
            assert.match(out.join(""), /no such directory/);
            assert.equal(neither, 2);
            assert.match(out.join(""), /give exactly one of --stack or --dir/);
        } finally {
            process.stdout.write = write;
            process.stderr.write = writeErr;
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });
});

describe("run record: the git commit, read from git's files (no git process)", () => {
    const sha = (c: string) => c.repeat(40);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "githead-"));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const write = (p: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(tmp, p)), { recursive: true });
        fs.writeFileSync(path.join(tmp, p), text);
    };

    it("a checkout on a branch (loose ref, then packed), detached, a linked worktree, and no checkout", () => {
        write("repo/.git/HEAD", "ref: refs/heads/main\n");
        write("repo/.git/refs/heads/main", `${sha("a")}\n`);
        write("repo/src/x.ts", "");
        assert.equal(gitHead(path.join(tmp, "repo/src")), sha("a"));
        fs.rmSync(path.join(tmp, "repo/.git/refs/heads/main"));
        write("repo/.git/packed-refs", `# pack-refs with: peeled fully-peeled sorted\n${sha("b")} refs/heads/main\n`);
        assert.equal(gitHead(path.join(tmp, "repo")), sha("b"));
        write("repo/.git/worktrees/wt/HEAD", `${sha("c")}\n`);
        write("repo/.git/worktrees/wt/commondir", "../..\n");
        write("wt/.git", `gitdir: ${path.join(tmp, "repo/.git/worktrees/wt")}\n`);
        assert.equal(gitHead(path.join(tmp, "wt")), sha("c"));
        write("repo/.git/worktrees/wt/HEAD", "ref: refs/heads/feature\n");
        write("repo/.git/refs/heads/feature", `${sha("d")}\n`);
        assert.equal(gitHead(path.join(tmp, "wt")), sha("d"));
        assert.equal(gitHead("/"), "unknown");
    });
});

describe("plan --out of prod: log shipping and the run record", function () {
    this.timeout(60000);
    let p: Plan;
    let files: string[];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-out-"));
    before(async () => {
        p = await planStack("prod");
        assert.deepEqual(p.problems, []);
        files = writeManifests(p, dir).map((f) => path.basename(f));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("holds the monitoring release, the PodMonitors/ServiceMonitors, the alert rules and the run dashboard (issue 11's done-when)", () => {
        const release = one(p, "kubernetes:helm.sh/v3:Release", "addons-monitoring").inputs;
        assert.equal(release.chart, CHARTS.kubePrometheusStack.chart);
        assert.equal(release.version, CHARTS.kubePrometheusStack.version);
        for (const kind of ["PodMonitor", "ServiceMonitor", "PrometheusRule"]) {
            assert.ok(ofType(p, `kubernetes:monitoring.coreos.com/v1:${kind}`).length > 0, `no ${kind} in the plan`);
            assert.ok(files.some((f) => f.toLowerCase().includes(kind.toLowerCase())), `plan --out wrote no ${kind}: ${files.join()}`);
        }
        assert.ok(files.some((f) => /run-dashboard/.test(f)), `no run dashboard ConfigMap: ${files.join()}`);
    });

    it("provisions Ray's dashboards: an empty, Grafana-labelled ConfigMap per run whose data Pulumi ignores, get/patch of it bound to the head's service account", () => {
        const run = runOf(PROD).runName;
        const cm = one(p, "kubernetes:core/v1:ConfigMap", "training-ray-dashboards");
        const meta = cm.inputs.metadata as { name: string; namespace: string; labels: Record<string, string> };
        assert.deepEqual([meta.name, meta.namespace], [`${run}-ray-dashboards`, "miles-monitoring"]);
        assert.equal(meta.labels.grafana_dashboard, "1");
        assert.equal(meta.labels["app.kubernetes.io/part-of"], "miles-cluster");
        assert.deepEqual(cm.inputs.data, {});
        assert.deepEqual(cm.options?.ignoreChanges, ["data"]);
        const role = one(p, "kubernetes:rbac.authorization.k8s.io/v1:Role", "training-ray-dashboards").inputs as any;
        assert.equal(role.metadata.namespace, "miles-monitoring");
        assert.deepEqual(role.rules, [{ apiGroups: [""], resources: ["configmaps"], resourceNames: [`${run}-ray-dashboards`], verbs: ["get", "patch"] }]);
        const binding = one(p, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "training-ray-dashboards").inputs as any;
        const head = (one(p, "kubernetes:ray.io/v1:RayJob", "training-rayjob").inputs as any).spec.rayClusterSpec.headGroupSpec.template.spec;
        assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: head.serviceAccountName, namespace: PROD.training.namespace }]);
        assert.equal(binding.roleRef.name, role.metadata.name);
        const side = head.initContainers.find((c: any) => c.name === "ray-dashboards");
        assert.deepEqual(side.env.slice(0, 2), [{ name: "NAMESPACE", value: "miles-monitoring" }, { name: "CONFIGMAP", value: `${run}-ray-dashboards` }]);
        assert.ok(files.some((f) => /ray-dashboards/.test(f)), `plan --out wrote no Ray dashboards objects: ${files.join()}`);
        const lines = p.summary!.lines.addons.filter(([k]) => k === "  dashboard").map(([, v]) => v);
        assert.ok(lines.some((l) => /^Ray's dashboards: provisioned per run/.test(l)), lines.join("\n"));
    });

    it("a retained log group, the training role's logs policy, and the commands to read logs and records", () => {
        const group = one(p, "aws:cloudwatch/logGroup:LogGroup", "addons-training-logs").inputs;
        assert.equal(group.name, "/miles-cluster/prod/training");
        assert.equal(group.retentionInDays, 30);
        assert.ok(ofType(p, "aws:iam/rolePolicy:RolePolicy").some((r) => r.name === "addons-training-identity-logs" && r.parent?.type === "miles-cluster:addons:TrainingIdentity"));
        const run = runOf(PROD).runName;
        assert.match(String(p.outputs.runLogsCommand), new RegExp(`^aws logs tail /miles-cluster/prod/training --region us-east-2 --log-stream-name-prefix ${run}/`));
        assert.match(String(p.outputs.runRecordsCommand), new RegExp(`^aws s3 sync s3://\\$\\(pulumi stack output checkpointBucket --stack prod\\)/checkpoints/${run}/run-records/ `));
        // plan shows the very command the stack output prints, and the log command.
        const lines = Object.fromEntries(p.summary!.lines.addons);
        assert.equal(lines["  list them"], p.outputs.runRecordsCommand);
        assert.equal(lines["  read a run's logs"], p.outputs.runLogsCommand);
    });

    it("the RayJob runs the entrypoint script of its record ConfigMap (the writer around train.py), mounts that ConfigMap in the head, and both are written out", () => {
        const rj = one(p, "kubernetes:ray.io/v1:RayJob").inputs as Obj;
        const [, key] = /^bash \/etc\/miles-cluster\/run-record\/(entrypoint-[0-9a-f]{12}\.sh)$/.exec(rj.spec.entrypoint) ?? [];
        assert.ok(key, rj.spec.entrypoint);
        const script = String((one(p, "kubernetes:core/v1:ConfigMap", "training-run-record").inputs as Obj).data[key]);
        // Record start, then (prod is queued: issue 22) the precondition check, the run's command (the plan's
        // entrypoint text, one line) only when it passed, then the record's end with the reason it gave.
        const lines = script.split("\n");
        const start = lines.findIndex((l) => /^MILES_CLUSTER_RECORD=\$\(MILES_CLUSTER_RECORD_DIR="\$d" python3 "\$d\/write\.py" start\)/.test(l));
        assert.ok(start > 0, script);
        assert.equal(lines[start + 1], 'MILES_CLUSTER_BLOCKED=$(python3 "$d/ready.py" "$d/ready.json")');
        assert.deepEqual(lines.slice(start + 2, start + 5), ["rc=$?", 'if [ "$rc" = 0 ]; then', `  ${runOf(PROD).command.entrypoint}`]);
        assert.match(lines.slice(start + 5).join("\n"), /^ {2}rc=\$\?\nelse\n[\s\S]*python3 "\$d\/write\.py" end "\$MILES_CLUSTER_RECORD" "\$rc" "\$MILES_CLUSTER_BLOCKED"/);
        const run = runOf(PROD).runName;
        assert.ok(rj.spec.rayClusterSpec.headGroupSpec.template.spec.volumes.some((v: Obj) => v.configMap?.name === `${run}-run-record`));
        const cm = one(p, "kubernetes:core/v1:ConfigMap", "training-run-record").inputs as Obj;
        assert.equal(JSON.parse(cm.data["record.json"]).gitCommit, "unknown", "plan leaves the commit to the deployment");
        assert.ok(files.some((f) => /run-record/.test(f)), files.join());
        assert.ok(files.some((f) => /rayjob/i.test(f)), files.join());
    });
});

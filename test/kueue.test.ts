import { CLUSTER_FACTS_VERSION } from "../domain/runStack";
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import { parse } from "yaml";
import { AJV_OPTIONS, closeObjects, one, ofType, planStack, rawConfig, rayJobCommand, requireShared } from "./harness";
import type { Plan } from "../plan/run";
import { parseConfig } from "../validation";
import { CHARTS } from "../catalog/versions";
import { admissions, kueueManagerConfig, mayPreempt, queueHandle, queueRef } from "../domain/kueue";
import { runOf } from "../domain/stack";
import { rayJobManifest } from "../domain/training/rayJob";
import { gateManifests } from "../domain/fabric/gateJob";
import { fabricGatePlan } from "../domain/fabric/gate";
import { blockEndSaveCronJob, preReplaceSaveJob } from "../domain/lifecycle/jobs";
import { mergeOverride } from "../config/runs";

const RAYJOB = "kubernetes:ray.io/v1:RayJob";
const JOB = "kubernetes:batch/v1:Job";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const KUEUE = (kind: string) => `kubernetes:kueue.x-k8s.io/v1beta2:${kind}`;
type Obj = Record<string, any>;


const validators = new Map<string, ValidateFunction>();
function kueueValidator(shared: string, plural: string): ValidateFunction {
    const cached = validators.get(plural);
    if (cached) return cached;
    const schema = JSON.parse(fs.readFileSync(path.join(shared, "schemas", "kueue", `kueue.x-k8s.io_${plural}.v1beta2.schema.json`), "utf8"));
    closeObjects(schema);
    const v = new Ajv(AJV_OPTIONS).compile(schema);
    validators.set(plural, v);
    return v;
}
const PLURAL: Record<string, string> = { ResourceFlavor: "resourceflavors", ClusterQueue: "clusterqueues", LocalQueue: "localqueues", WorkloadPriorityClass: "workloadpriorityclasses" };

/** The multi-run example's shared settings, as plain objects, for rule tests. */
const CLUSTER = { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 2 }] };
const SHARED = { model: { preset: "qwen3-4B" }, layout: { actorNodes: 1, actorGpusPerNode: 8, colocate: true } };
function check(training: Record<string, unknown>, extra: Record<string, unknown> = {}, secretKeys: string[] = []) {
    return parseConfig(rawConfig({ "aws:region": "us-east-1", "miles-cluster:cluster": CLUSTER, "miles-cluster:storage": {}, "miles-cluster:addons": {}, "miles-cluster:training": training, ...extra }, secretKeys), { stack: "t" });
}

describe("Kueue and several named runs (stacks/Pulumi.multi-run.yaml)", function () {
    this.timeout(30000);
    let p: Plan;
    before(async () => {
        p = await planStack("multi-run");
        assert.deepEqual(p.problems, []);
    });

    it("plans three RayJobs, each created suspended and labelled for the LocalQueue with its priority", () => {
        const jobs = ofType(p, RAYJOB);
        assert.deepEqual(jobs.map((j) => (j.inputs as Obj).metadata.name).sort(), ["dapo-clip-higher", "grpo-baseline", "grpo-lr-2e-6"]);
        for (const j of jobs) {
            assert.equal((j.inputs as Obj).metadata.labels["kueue.x-k8s.io/queue-name"], "miles");
            assert.equal((j.inputs as Obj).spec.suspend, true, `${(j.inputs as Obj).metadata.name} must be created suspended so Kueue admits it whole`);
            // Kueue rejects a RayJob that keeps its cluster after finishing (rayjob_webhook.go at v0.19.2).
            assert.equal((j.inputs as Obj).spec.shutdownAfterJobFinishes, true);
            assert.equal((j.inputs as Obj).spec.rayClusterSpec.enableInTreeAutoscaling, false);
            // Kueue owns spec.suspend after creation: an update must not apply suspend: true again.
            assert.deepEqual(j.options?.ignoreChanges, ["spec.suspend"]);
        }
        const prio = Object.fromEntries(jobs.map((j) => [(j.inputs as Obj).metadata.name, (j.inputs as Obj).metadata.labels["kueue.x-k8s.io/priority-class"]]));
        assert.deepEqual(prio, { "grpo-baseline": "miles-normal", "grpo-lr-2e-6": "miles-normal", "dapo-clip-higher": "miles-high" });
        // Each run's own override reaches its argv, the shared ones reach all.
        const ep = (n: string) => rayJobCommand(p, jobs.find((j) => (j.inputs as Obj).metadata.name === n)!);
        assert.match(ep("grpo-lr-2e-6"), /--lr 0\.000002 /);
        assert.match(ep("grpo-baseline"), /--lr 0\.000001 /);
        assert.match(ep("dapo-clip-higher"), /--eps-clip-high 0\.28/);
        assert.match(ep("dapo-clip-higher"), /--save \/shared\/checkpoints\/dapo-clip-higher /);
    });

    it("queues the GPU conversion Jobs too (suspended, labelled), but not the CPU-only downloads", () => {
        const jobs = ofType(p, JOB).filter((j) => (j.inputs as Obj).metadata.namespace === "miles");
        const convert = jobs.filter((j) => (j.inputs as Obj).metadata.name.endsWith("-convert"));
        const download = jobs.filter((j) => (j.inputs as Obj).metadata.name.endsWith("-download"));
        assert.equal(convert.length, 3);
        for (const j of convert) {
            assert.equal((j.inputs as Obj).spec.suspend, true);
            assert.equal((j.inputs as Obj).metadata.labels["kueue.x-k8s.io/queue-name"], "miles");
        }
        for (const j of download) assert.equal((j.inputs as Obj).metadata.labels["kueue.x-k8s.io/queue-name"], undefined);
    });

    it("installs the pinned Kueue chart from its OCI registry with our controller configuration", () => {
        const r = ofType(p, RELEASE).find((x) => (x.inputs as Obj).name === "kueue")!;
        assert.equal((r.inputs as Obj).chart, "oci://registry.k8s.io/kueue/charts/kueue");
        assert.equal((r.inputs as Obj).version, "0.19.2");
        assert.equal((r.inputs as Obj).version, CHARTS.kueue.version);
        assert.equal((r.inputs as Obj).repositoryOpts, undefined, "an oci:// chart takes no repository");
        assert.equal((r.inputs as Obj).namespace, "kueue-system");
        const values = (r.inputs as Obj).values as Obj;
        assert.equal(values.controllerManager.manager.image.repository, "registry.k8s.io/kueue/kueue");
        assert.equal(values.controllerManager.manager.image.tag, "v0.19.2");
        const mc = parse(values.managerConfig.controllerManagerConfigYaml) as Obj;
        assert.deepEqual(mc.integrations.frameworks, ["batch/job", "ray.io/rayjob"], "no Pod/Deployment/StatefulSet webhooks on the whole cluster");
        assert.equal(mc.resources.quotaCheckStrategy, "IgnoreUndeclared");
        assert.equal(mc.manageJobsWithoutQueueName, false, "jobs without the queue label (the model download, other workloads) are left alone");
        assert.deepEqual(mc, kueueManagerConfig());
    });

    it("evicts a gang that does not become ready (waitForPodsReady), and stops requeuing after a bounded number of tries", () => {
        const values = (ofType(p, RELEASE).find((x) => (x.inputs as Obj).name === "kueue")!.inputs as Obj).values as Obj;
        const w = (parse(values.managerConfig.controllerManagerConfigYaml) as Obj).waitForPodsReady;
        const minutes = (d: string) => Number(/^(\d+)m$/.exec(d)?.[1] ?? NaN);
        // A partly started gang gives its GPUs back within the timeout; a run that lost a node is requeued sooner.
        assert.ok(minutes(w.timeout) > 0 && minutes(w.timeout) <= 60, w.timeout);
        assert.ok(minutes(w.recoveryTimeout) > 0 && minutes(w.recoveryTimeout) < minutes(w.timeout), w.recoveryTimeout);
        assert.equal(w.blockAdmission, false);
        // Nothing waits forever: Kueue's default (null) requeues endlessly (apis/config/v1beta2/configuration_types.go at v0.19.2).
        assert.ok(Number.isInteger(w.requeuingStrategy.backoffLimitCount) && w.requeuingStrategy.backoffLimitCount > 0);
        assert.equal(w.requeuingStrategy.timestamp, "Eviction");
    });

    it("has a flavor per GPU node group, a ClusterQueue whose quota is the provisioned GPUs and EFA devices, and a LocalQueue in the training namespace", () => {
        const flavor = (one(p, KUEUE("ResourceFlavor")).inputs as Obj);
        assert.equal(flavor.metadata.name, "miles-h100");
        assert.deepEqual(flavor.spec.nodeLabels, { "miles-cluster.io/node-group": "h100" });
        assert.deepEqual(flavor.spec.nodeTaints, [{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }]);
        const cq = (one(p, KUEUE("ClusterQueue")).inputs as Obj);
        assert.equal(cq.metadata.name, "miles");
        // 2 × p5.48xlarge: 2 × 8 GPUs and 2 × 32 EFA interfaces.
        assert.deepEqual(cq.spec.resourceGroups, [
            {
                coveredResources: ["nvidia.com/gpu", "vpc.amazonaws.com/efa"],
                flavors: [{ name: "miles-h100", resources: [{ name: "nvidia.com/gpu", nominalQuota: 16 }, { name: "vpc.amazonaws.com/efa", nominalQuota: 64 }] }],
            },
        ]);
        assert.deepEqual(cq.spec.namespaceSelector, { matchLabels: { "kubernetes.io/metadata.name": "miles" } });
        assert.equal(cq.spec.preemption.withinClusterQueue, "Never");
        const lq = (one(p, KUEUE("LocalQueue")).inputs as Obj);
        assert.deepEqual([lq.metadata.name, lq.metadata.namespace, lq.spec.clusterQueue], ["miles", "miles", "miles"]);
        const wpc = ofType(p, KUEUE("WorkloadPriorityClass")).map((r) => [(r.inputs as Obj).metadata.name, (r.inputs as Obj).value]);
        assert.deepEqual(wpc, [["miles-low", 100], ["miles-normal", 1000], ["miles-high", 10000]]);
    });

    it("every Kueue object validates against the Kueue v0.19.2 CRD schemas (closed: no unknown field)", function () {
        const shared = requireShared(this);
        const kinds = ["ResourceFlavor", "ClusterQueue", "LocalQueue", "WorkloadPriorityClass"];
        let n = 0;
        for (const kind of kinds) {
            for (const r of ofType(p, KUEUE(kind))) {
                const obj = Object.fromEntries(Object.entries((r.inputs as Obj)).filter(([k]) => k !== "__defaults"));
                const v = kueueValidator(shared, PLURAL[kind]);
                assert.ok(v(obj), `${kind} ${(r.inputs as Obj).metadata.name}: ${JSON.stringify(v.errors)}`);
                n++;
            }
        }
        assert.equal(n, 6);
        // The validator really rejects a misspelt field.
        const bad = { ...(one(p, KUEUE("ClusterQueue")).inputs as Obj), spec: { ...(one(p, KUEUE("ClusterQueue")).inputs as Obj).spec, queuingStrategy: "StrictFIFO" } };
        assert.equal(kueueValidator(shared, "clusterqueues")(bad), false);
    });

    it("the plan shows the queue, each run's GPUs and priority, and which runs start at once", () => {
        const lines = Object.fromEntries(p.summary!.lines.training);
        assert.match(lines.quota, /h100 16 GPUs \+ 64 EFA/);
        assert.equal(lines["at once"], "dapo-clip-higher (high, 8 GPUs), grpo-baseline (normal, 8 GPUs)");
        assert.match(lines.waiting, /^grpo-lr-2e-6 \(normal, 8 GPUs\)/);
        assert.equal(lines["grpo-lr-2e-6 · priority"], "normal");
    });

    it("outputs each run, and the facts a run stack reads", () => {
        assert.deepEqual(Object.keys(p.outputs.runs as object).sort(), ["dapo-clip-higher", "grpo-baseline", "grpo-lr-2e-6"]);
        const facts = p.outputs.milesCluster as Obj;
        assert.deepEqual(facts.queue, { clusterQueue: "miles", localQueue: "miles" });
        assert.deepEqual(facts.runs.map((r: Obj) => [r.name, r.checkpointDir, r.gpus]), [
            ["grpo-baseline", "/shared/checkpoints/grpo-baseline", 8],
            ["grpo-lr-2e-6", "/shared/checkpoints/grpo-lr-2e-6", 8],
            ["dapo-clip-higher", "/shared/checkpoints/dapo-clip-higher", 8],
        ]);
    });
});

describe("single-run stacks are a queue of one", function () {
    this.timeout(30000);
    it("dev keeps its resource names and output, and its one RayJob waits in the queue", async () => {
        const p = await planStack("dev");
        const rj = one(p, RAYJOB) as { name: string; inputs: Obj };
        assert.equal(rj.name, "training-rayjob");
        assert.equal(rj.inputs.metadata.labels["kueue.x-k8s.io/queue-name"], "miles");
        assert.equal(rj.inputs.spec.suspend, true);
        assert.deepEqual((rj as { options?: { ignoreChanges?: string[] } }).options?.ignoreChanges, ["spec.suspend"]);
        assert.equal(p.outputs.trainingJobName, "qwen3-4b-grpo");
        assert.equal((one(p, KUEUE("ClusterQueue")).inputs as Obj).spec.resourceGroups[0].flavors[0].resources[0].nominalQuota, 8);
    });
});

describe("preemption saves first (addons.kueue.preemption: LowerPriority)", () => {
    const cfg = () => check({ ...SHARED, runs: { a: {}, b: { priority: "high" } } }, { "miles-cluster:addons": { kueue: { preemption: "LowerPriority" } } }).config!;
    const ctxOf = (saveOnStop: boolean) => ({ namespace: "miles", claimName: "miles-shared", serviceAccountName: "miles-training", queue: queueRef({ clusterQueue: "miles", localQueue: "miles" }, "normal"), saveOnStop });

    it("only a queue that may preempt hands its runs the preemption (the facts of one that never does stay as they were)", () => {
        assert.deepEqual(queueHandle({ clusterQueue: "miles", localQueue: "miles", preemption: "Never" }), { clusterQueue: "miles", localQueue: "miles" });
        assert.equal(mayPreempt(queueHandle({ clusterQueue: "miles", localQueue: "miles", preemption: "LowerPriority" })), true);
        assert.equal(mayPreempt(queueHandle({ clusterQueue: "miles", localQueue: "miles", preemption: "Never" })), false);
        assert.equal(mayPreempt(undefined), false);
    });

    it("the head and every GPU worker get a preStop that saves, and a grace period that lets it; both pod templates validate as Kubernetes pods", async () => {
        const c = cfg();
        const r = runOf({ ...c, training: c.runs[0].training });
        const m = rayJobManifest(r, ctxOf(true)) as Obj;
        const rc = m.spec.rayClusterSpec;
        for (const [role, tpl] of [["head", rc.headGroupSpec.template], ["worker", rc.workerGroupSpecs[0].template]] as const) {
            const cmd: string[] = tpl.spec.containers[0].lifecycle.preStop.exec.command;
            assert.match(cmd[2], new RegExp(`^SENTINEL=/shared/control/a/save-now SAVE_SECONDS=1800 ROLE=${role} ENTRY_RE=train\\[\\.\\]py\\n`));
            assert.equal(tpl.spec.terminationGracePeriodSeconds, 1800 + 120);
        }
        // The RayJob CRD's pod templates are core/v1 PodTemplateSpecs (test/trainingJob.test.ts checks whole RayJobs against the CRD).
        const { Pod } = (await import("kubernetes-models/v1")) as unknown as { Pod: new (o: unknown) => { validate(): void } };
        for (const tpl of [rc.headGroupSpec.template, rc.workerGroupSpecs[0].template]) new Pod({ apiVersion: "v1", kind: "Pod", metadata: { name: "x" }, spec: tpl.spec }).validate();
        // Without a queue that preempts: no hook, the pods as before.
        const plain = rayJobManifest(r, ctxOf(false)) as Obj;
        assert.equal(plain.spec.rayClusterSpec.workerGroupSpecs[0].template.spec.containers[0].lifecycle, undefined);
        assert.equal(plain.spec.rayClusterSpec.headGroupSpec.template.spec.terminationGracePeriodSeconds, undefined);
    });

    it("the fabric gate's pods are not the run: no save hook, no long grace period", () => {
        const c = cfg();
        const r = runOf({ ...c, training: c.runs[0].training });
        const g = gateManifests(r, fabricGatePlan(r), ctxOf(true)).job as Obj;
        assert.equal(g.spec.template.spec.containers[0].lifecycle, undefined);
        assert.equal(g.spec.template.spec.terminationGracePeriodSeconds, undefined);
    });

    it("a lifecycle save records itself so the deletion after it does not save twice; a queued end-of-block stop deactivates the Workload", () => {
        const c = cfg();
        const r = runOf({ ...c, training: c.runs[0].training });
        const ctx = { namespace: "miles", claimName: "miles-shared", serviceAccountName: "a-lifecycle", queued: true, podsSaveOnStop: true };
        const names = (pod: Obj) => [...(pod.initContainers ?? []), ...pod.containers].map((x: Obj) => x.name);
        assert.deepEqual(names((preReplaceSaveJob(r, ctx, "h") as Obj).spec.template.spec), ["save", "mark-saved"]);
        assert.deepEqual(names((blockEndSaveCronJob(r, ctx, undefined, 60) as Obj).spec.jobTemplate.spec.template.spec), ["save", "mark-saved", "deactivate"]);
        assert.deepEqual(names((blockEndSaveCronJob(r, { ...ctx, queued: false, podsSaveOnStop: false }, undefined, 60) as Obj).spec.jobTemplate.spec.template.spec), ["save", "suspend"]);
    });
});

describe("validation across runs", () => {
    const paths = (r: ReturnType<typeof parseConfig>) => r.problems.map((x) => x.path);
    const msg = (r: ReturnType<typeof parseConfig>, at: string) => r.problems.find((x) => x.path === at)?.message ?? "";

    it("accepts three runs that each fit the queue", () => {
        const r = check({ ...SHARED, runs: { a: {}, b: { algorithm: { lr: 2e-6 } }, c: { priority: "high" } } });
        assert.deepEqual(r.problems, []);
        assert.deepEqual(r.config!.runs.map((x) => [x.path, x.training.runName, x.training.priority]), [
            ["training.runs.a", "a", "normal"],
            ["training.runs.b", "b", "normal"],
            ["training.runs.c", "c", "high"],
        ]);
    });

    it("rejects a run larger than the cluster, at the run's path, with the numbers", () => {
        const r = check({ ...SHARED, runs: { small: {}, big: { layout: { actorNodes: 3 } } } });
        const m = msg(r, "training.runs.big.layout");
        assert.ok(m, paths(r).join(", "));
        assert.match(m, /3 × 8 = 24 GPUs/);
        assert.match(m, /h100 has 2 × 8 = 16/);
        assert.ok(!paths(r).some((x) => x.startsWith("training.runs.small")));
    });

    it("rejects two runs writing one checkpoint directory, naming the directory", () => {
        const r = check({ ...SHARED, runs: { a: { checkpoints: { dir: "/shared/checkpoints/exp" } }, b: { checkpoints: { dir: "/shared/checkpoints/exp/" } } } });
        const m = msg(r, "training.runs.b.checkpoints.dir");
        assert.match(m, /\/shared\/checkpoints\/exp/);
        assert.match(m, /run a \(training\.runs\.a\)/);
        const nested = check({ ...SHARED, runs: { a: { checkpoints: { dir: "/shared/ck" } }, b: { checkpoints: { dir: "/shared/ck/b" } } } });
        assert.match(msg(nested, "training.runs.b.checkpoints.dir"), /overlaps/);
    });

    it("rejects per-run namespace and runName, runName beside runs, and a name that collides with another run's Jobs", () => {
        const r = check({ ...SHARED, runName: "x", runs: { a: { namespace: "other" }, b: { runName: "c" } } });
        assert.deepEqual(paths(r).sort(), ["training.runName", "training.runs.a.namespace", "training.runs.b.runName"]);
        const clash = check({ ...SHARED, runs: { a: {}, "a-convert": {} } });
        assert.match(msg(clash, "training.runs.a-convert"), /collides with the preparation Jobs or Secret of run a/);
    });

    it("reports a run's field problems at its own path, and a plaintext secret in a run", () => {
        const r = check({ ...SHARED, runs: { a: { layout: { actorNodes: 0 } }, b: { hfToken: "hf_x" } } });
        assert.deepEqual(paths(r).sort(), ["training.runs.a.layout.actorNodes", "training.runs.b.hfToken"]);
        assert.ok(!msg(r, "training.runs.b.hfToken").includes("hf_x"));
    });

    it("rejects lifecycle.suspend in a queue (Kueue owns suspend) but keeps it without one", () => {
        const r = check({ ...SHARED, lifecycle: { suspend: true } });
        assert.match(msg(r, "training.lifecycle.suspend"), /Kueue/);
        assert.deepEqual(check({ ...SHARED, lifecycle: { suspend: true } }, { "miles-cluster:addons": { kueue: { enabled: false } } }).problems, []);
    });

    it("merges a run's fields over the shared ones: mappings merge, lists and values replace", () => {
        assert.deepEqual(mergeOverride({ a: { x: 1, y: [1, 2] }, b: 1, c: "k" }, { a: { y: [3] }, b: null }), { a: { x: 1, y: [3] }, b: null, c: "k" });
    });
});

describe("admissions (which runs start at once)", () => {
    const quota = [{ flavor: "q-a", group: "a", gpus: 16, efa: 0 }];
    const runs = [
        { name: "big", priority: "normal" as const, gpusByGroup: { a: 16 } },
        { name: "x", priority: "normal" as const, gpusByGroup: { a: 8 } },
        { name: "urgent", priority: "high" as const, gpusByGroup: { a: 8 } },
    ];
    it("orders by priority then as written; BestEffortFIFO lets a smaller run past one that does not fit", () => {
        assert.deepEqual(admissions(runs, quota, "BestEffortFIFO").map((a) => [a.run, a.startsAtOnce]), [["urgent", true], ["big", false], ["x", true]]);
    });
    it("StrictFIFO: the first run that does not fit blocks every later one", () => {
        assert.deepEqual(admissions(runs, quota, "StrictFIFO").map((a) => [a.run, a.startsAtOnce]), [["urgent", true], ["big", false], ["x", false]]);
    });
});

describe("a run stack on the prod cluster stack (stacks/Pulumi.prod-runs.yaml)", function () {
    this.timeout(60000);
    let p: Plan;
    before(async () => {
        p = await planStack("prod-runs");
        assert.deepEqual(p.problems, []);
    });

    it("plans offline from prod's stack file and says so", () => {
        const lines = Object.fromEntries(p.summary!.lines.cluster);
        assert.match(lines["cluster facts"], /derived offline by planning stacks\/Pulumi\.prod\.yaml/);
        const ref = one(p, "pulumi:pulumi:StackReference");
        assert.equal(ref.inputs.name, "prod");
    });

    it("creates no cluster resource: nothing on AWS, no namespace, volume, claim, chart, queue or cluster-scoped object", () => {
        assert.deepEqual(p.resources.filter((r) => r.type.startsWith("aws:")).map((r) => r.type), []);
        const k8sObjects = p.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm"));
        assert.ok(k8sObjects.length > 0);
        for (const r of k8sObjects) {
            assert.ok(!/Namespace$|PersistentVolume|ClusterRole|kueue\.x-k8s\.io|StorageClass/.test(r.type), `${r.type} ${r.name} is a cluster resource`);
            assert.equal((r.inputs as Obj).metadata.namespace, "miles", `${r.type} ${r.name} must live in the cluster stack's training namespace`);
        }
        assert.equal(ofType(p, RELEASE).length, 0);
        // The training pods run as the cluster stack's service account and mount its claim.
        const rj = ofType(p, RAYJOB).map((r) => r.inputs as Obj);
        assert.equal(rj.length, 2);
        const head = rj[0].spec.rayClusterSpec.headGroupSpec.template.spec;
        assert.equal(head.serviceAccountName, "miles-training");
        assert.ok(head.volumes.some((v: Obj) => v.persistentVolumeClaim?.claimName === "miles-shared"));
        for (const j of rj) assert.equal(j.metadata.labels["kueue.x-k8s.io/queue-name"], "miles");
    });

    it("queues behind prod's own run, which holds all 32 GPUs", () => {
        const lines = Object.fromEntries(p.summary!.lines.training);
        assert.equal(lines["at once"], "qwen3-30b-a3b-fp8 (prod) (normal, 32 GPUs)");
        assert.match(lines.waiting, /^qwen3-4b-sweep-a \(low, 8 GPUs\), qwen3-4b-sweep-b \(low, 8 GPUs\)/);
    });

    it("rejects a run that reuses a cluster stack run's name or checkpoint directory, and cluster fields", () => {
        const raw = rawConfig({
            "miles-cluster:cluster": { clusterStack: { name: "prod" }, availabilityZone: "us-east-1a" },
            "miles-cluster:storage": { capacityGiB: 1200 },
            "miles-cluster:addons": {},
            "miles-cluster:training": { ...SHARED, runs: { "qwen3-30b-a3b-fp8": {}, other: { checkpoints: { dir: "/shared/checkpoints/qwen3-30b-a3b-fp8" } } } },
        });
        const clusterFacts = { version: CLUSTER_FACTS_VERSION, stack: "prod", platform: "eks", monitoring: true, networkPolicy: { operatorNamespace: "miles-system", metricsNamespaces: ["miles-monitoring"] }, namespace: "miles", claimName: "miles-shared", serviceAccount: "miles-training", nodeWatchServiceAccount: "miles-node-watch", queue: { clusterQueue: "miles", localQueue: "miles" }, gpuNodeGroups: [{ name: "h200", instanceType: "p5en.48xlarge", nodes: 4, gpusPerNode: 8, efaPerNode: 16, labels: {}, selector: { "miles-cluster.io/node-group": "h200" }, taints: [] }], runs: [{ name: "qwen3-30b-a3b-fp8", checkpointDir: "/shared/checkpoints/qwen3-30b-a3b-fp8", gpus: 32, priority: "normal", gpusByGroup: { h200: 32 } }] };
        const r = parseConfig(raw, { stack: "x", clusterFacts });
        const at = [...new Set(r.problems.map((x) => x.path))].sort();
        assert.deepEqual(at, ["cluster.availabilityZone", "storage.capacityGiB", "training.runs.other.checkpoints.dir", "training.runs.qwen3-30b-a3b-fp8", "training.runs.qwen3-30b-a3b-fp8.checkpoints.dir"]);
        assert.match(r.problems.find((x) => x.path === "training.runs.other.checkpoints.dir")!.message, /cluster stack prod/);
        const none = parseConfig(raw, { stack: "x", clusterFacts: undefined });
        assert.ok(none.problems.some((x) => x.path === "cluster.clusterStack.name" && /milesCluster/.test(x.message)));
    });
});

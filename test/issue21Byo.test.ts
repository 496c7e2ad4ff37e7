/**
 * Issue 21, part B: a bring-your-own stack never owns what it did not create; no run unless the
 * stack asks for one; storage that cannot hold what the runs keep is an error by default.
 * Each case failed on main at c136b04 (see the comment on each).
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { NAMESPACE } from "../config";
import { parseConfig } from "../validation";
import { plan, type Plan } from "../plan/run";
import { missingProjectKeys, readStackFile } from "../plan/stackFile";
import { ofType, planConfig, rawConfig, ROOT } from "./harness";
import { FSX_CAPACITY_STEP_GIB, isValidFsxCapacity } from "../catalog/fsx";
import { GIB } from "../domain/sizing";

type Obj = Record<string, any>;
const byoValues = (): Record<string, Obj> => {
    const raw = readStackFile(path.join(ROOT, "stacks", "Pulumi.byo.yaml"), NAMESPACE);
    return Object.fromEntries(Object.entries(raw.values).map(([k, v]) => [k, JSON.parse(v)]));
};
const lineOf = (p: Plan, section: string, label: string) => (p.summary!.lines as Obj)[section].find(([k]: [string]) => k === label)?.[1] as string | undefined;
const releases = (p: Plan) => ofType(p, "kubernetes:helm.sh/v3:Release").map((r) => r.inputs.name as string).sort();
const EKS = { "aws:region": "us-east-1", "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] } };

describe("issue 21: bring-your-own never owns what it did not create", function () {
    this.timeout(60000);

    it("the training namespace is only referenced by default: no Namespace object, and the plan says so (main created and deleted it)", async () => {
        const p = await planConfig(byoValues(), { stack: "byo" });
        assert.equal(ofType(p, "kubernetes:core/v1:Namespace").filter((r) => (r.inputs.metadata as Obj)?.name === "miles").length, 0);
        assert.equal(ofType(p, "kubernetes:core/v1:NamespacePatch").length, 0);
        assert.match(lineOf(p, "addons", "training namespace")!, /existing, never created, modified or deleted/);
    });

    it("adopt: a label patch kept on destroy (retainOnDelete), never a Namespace the stack could delete; create: the Namespace", async () => {
        const adopt = byoValues();
        adopt[`${NAMESPACE}:cluster`].existing.trainingNamespace = "adopt";
        const p = await planConfig(adopt, { stack: "byo" });
        const patch = ofType(p, "kubernetes:core/v1:NamespacePatch");
        assert.equal(patch.length, 1);
        assert.equal(patch[0].options?.retainOnDelete, true);
        assert.match(String((patch[0].inputs.metadata as Obj).labels["pod-security.kubernetes.io/enforce"]), /baseline|privileged/);
        assert.equal(ofType(p, "kubernetes:core/v1:Namespace").filter((r) => (r.inputs.metadata as Obj)?.name === "miles").length, 0);
        // Negative control: `create` (and every EKS stack) creates the Namespace.
        const create = byoValues();
        create[`${NAMESPACE}:cluster`].existing.trainingNamespace = "create";
        const c = await planConfig(create, { stack: "byo" });
        assert.equal(ofType(c, "kubernetes:core/v1:Namespace").filter((r) => (r.inputs.metadata as Obj)?.name === "miles").length, 1);
    });

    it("cluster-wide add-ons are opt-in: `addons: {}` installs none of them, each has a plan line, Kueue included (main installed Kueue and KubeRay)", async () => {
        const v = byoValues();
        v[`${NAMESPACE}:addons`] = {};
        const p = await planConfig(v, { stack: "byo" });
        assert.deepEqual(releases(p), []);
        for (const [label, state] of [["nvidia device plugin", /^expected present \(bring-your-own default/], ["dcgm exporter", /^off \(bring-your-own default/], ["kuberay operator", /^expected present \(bring-your-own default.*KubeRay operator/], ["kueue", /^off \(bring-your-own default.*not queued/]] as const) {
            assert.match(lineOf(p, "addons", label) ?? "(no line)", state, label);
        }
        // Opting in installs exactly what is asked.
        v[`${NAMESPACE}:addons`] = { kueue: { enabled: true }, kuberay: { enabled: true } };
        const q = await planConfig(v, { stack: "byo" });
        assert.deepEqual(releases(q), ["kuberay-operator", "kueue"]);
        assert.match(lineOf(q, "addons", "kueue")!, /^installed: .*kueue 0\.\d+\.\d+/);
    });

    it("an EKS stack still installs every cluster-wide add-on by default and lists Kueue (negative control)", async () => {
        const p = await planConfig({ ...EKS, "miles-cluster:training": {} });
        for (const r of ["dcgm-exporter", "kuberay-operator", "kueue", "nvidia-device-plugin"]) assert.ok(releases(p).includes(r), r);
        assert.match(lineOf(p, "addons", "kueue")!, /^installed: /);
    });

    it("image.source efa-build is refused on a bring-your-own cluster for a disabled run too (main accepted it)", () => {
        const v = byoValues();
        v[`${NAMESPACE}:training`] = { ...v[`${NAMESPACE}:training`], enabled: false, image: { source: "efa-build" } };
        const problems = parseConfig(rawConfig(v), { stack: "byo" }).problems;
        assert.ok(problems.some((x) => x.path === "training.image.source" && /bring-your-own cluster has no such registry/.test(x.message)), JSON.stringify(problems));
    });
});

describe("issue 21: no run unless the stack asks for one", function () {
    this.timeout(60000);

    it("a stack without miles-cluster:training plans a cluster with no run (main planned a Qwen3-4B RayJob)", async () => {
        const p = await plan("norun", rawConfig({ ...EKS, "miles-cluster:storage": {}, "miles-cluster:addons": {} }));
        assert.deepEqual(p.problems, []);
        assert.equal(ofType(p, "kubernetes:ray.io/v1:RayJob").length, 0);
        assert.equal(ofType(p, "kubernetes:batch/v1:Job").filter((j) => /download|convert/.test(j.name)).length, 0);
        assert.match(lineOf(p, "training", "training")!, /^no run: /);
    });

    it("`training: {}` is the documented default run, and `{ enabled: false }` without a model is no run at all", async () => {
        const run = await plan("defaultrun", rawConfig({ ...EKS, "miles-cluster:training": {} }));
        assert.equal(ofType(run, "kubernetes:ray.io/v1:RayJob").length, 1);
        const off = await plan("off", rawConfig({ ...EKS, "miles-cluster:training": { enabled: false } }));
        assert.equal(ofType(off, "kubernetes:ray.io/v1:RayJob").length, 0);
        assert.equal(off.resolved!.all.length, 0, "nothing resolved, so nothing sized on the volume");
    });

    it("the fix for a missing training key creates no run (main said `training: {}`, which launches the default run)", () => {
        const file = path.join(ROOT, "stacks", "Pulumi.zz-missing.yaml");
        const [problem] = missingProjectKeys(file, rawConfig({ ...EKS, "miles-cluster:cluster": {}, "miles-cluster:storage": {}, "miles-cluster:addons": {} })).filter((x) => x.path === "miles-cluster:training");
        assert.ok(problem, "Pulumi.yaml declares miles-cluster:training");
        assert.match(problem.message, /miles-cluster:training: \{ enabled: false \}` for a cluster with no run/);
        assert.doesNotMatch(problem.message, /training: \{\}/);
    });
});

describe("issue 21: storage that cannot hold what the runs keep", function () {
    this.timeout(60000);
    // The byo stack's 8B layout (TP 2); the memory fit is not under test here.
    const eightB = { model: { preset: "qwen3-8B" }, parallelism: { tp: 2 }, layout: { gpusPerEngine: 2 }, resources: { memoryFitCheck: "warn" }, checkpoints: { saveInterval: 10 } };

    it("the defaults hold an 8B model saved every 10 rollouts: the capacity is sized from the run (main: 1200 GiB, 'does not fit', exit 0)", async () => {
        const p = await planConfig({ ...EKS, "miles-cluster:training": eightB });
        const sizing = (p.summary!.storage as Obj).sizing;
        assert.equal(sizing.fits, true);
        assert.match(lineOf(p, "storage", "capacity")!, /sized from the runs/);
        assert.deepEqual(p.summary!.warnings.filter((w: string) => /file system is full/.test(w)), []);
    });

    it("a capacity too small for the checkpoints is an error at storage.capacityGiB; fitCheck: warn plans with a warning (main: a warning only)", async () => {
        // retainInterval null: Megatron deletes nothing, 3000 / 10 = 300 checkpoints of an 8B model (~115 GB each).
        const training = { ...eightB, checkpoints: { saveInterval: 10, retainInterval: null } };
        const problems = parseConfig(rawConfig({ ...EKS, "miles-cluster:storage": { capacityGiB: 2400 }, "miles-cluster:training": training }), { stack: "t" }).problems;
        const p = problems.find((x) => x.path === "storage.capacityGiB");
        assert.ok(p, JSON.stringify(problems));
        assert.match(p.message, /2400 GiB cannot hold what the runs keep: .*300 ×.*storage\.fitCheck: warn/);
        const warned = await planConfig({ ...EKS, "miles-cluster:storage": { capacityGiB: 2400, fitCheck: "warn" }, "miles-cluster:training": training });
        assert.ok(warned.summary!.warnings.some((w: string) => /file system is full/.test(w)));
    });

    it("the sized default is the smallest valid FSx capacity holding the need plus 10%", async () => {
        const training = { ...eightB, checkpoints: { saveInterval: 10, retainInterval: null } };
        const p = await planConfig({ ...EKS, "miles-cluster:training": training });
        const need = (p.summary!.storage as Obj).sizing.requiredBytes as number;
        const fsx = ofType(p, "aws:fsx/lustreFileSystem:LustreFileSystem")[0].inputs.storageCapacity as number;
        assert.ok(isValidFsxCapacity(fsx), String(fsx));
        assert.ok(fsx * GIB >= need * 1.1, `${fsx} GiB holds ${need} B + 10%`);
        assert.ok((fsx - FSX_CAPACITY_STEP_GIB) * GIB < need * 1.1, `${fsx} GiB is the smallest such size`);
    });
});

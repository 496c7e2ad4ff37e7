/**
 * Issue 12 "done when": the prod Capacity Block stack's plan shows the block schedule, the pre-end
 * save and the resume; `plan --out` holds the objects that do it, they use the run's sentinel path,
 * which the RayJob's argv also carries; a spec change of a running run is "save, then replace" (or
 * refused); RBAC is least privilege.
 */
import { strict as assert } from "node:assert";
import { planStack, ofType, one, rayJobCommand } from "./harness";
import type { Plan } from "../plan/run";
import { blockSchedule, blockStartTime, cronAt } from "../domain/lifecycle/capacityBlock";
import { lifecycleNodeReaderRole, lifecycleRole, rayJobSpecHash } from "../domain/lifecycle/jobs";
import type { ResolvedRun } from "../domain/training/run";

const CRONJOB = "kubernetes:batch/v1:CronJob";
const JOB = "kubernetes:batch/v1:Job";
const env = (c: any) => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
const podOf = (cj: any) => cj.spec.jobTemplate.spec.template.spec;
const steps = (pod: any) => [...(pod.initContainers ?? []), ...pod.containers];

async function validate(kind: string, group: string, inputs: Record<string, unknown>): Promise<void> {
    const [g, v] = group.includes("/") ? group.split("/") : ["", group];
    const mod = (await import(`kubernetes-models/${g ? `${g}/` : ""}${v}`)) as unknown as Record<string, new (o: unknown) => { validate(): void }>;
    new mod[kind]({ ...inputs, apiVersion: group, kind }).validate();
}

describe("run lifecycle: the prod Capacity Block stack", function () {
    this.timeout(120000);
    let p: Plan;
    const sentinel = "/shared/control/qwen3-30b-a3b-fp8/save-now";
    before(async () => {
        p = await planStack("prod");
        assert.deepEqual(p.problems, []);
    });

    it("plan shows the block schedule: nodes appear, resume, pre-end save, drain at T-40, termination at T-30", () => {
        const lines = Object.fromEntries(p.summary!.lines.training);
        assert.match(lines["capacity block"], /cr-0a1b2c3d4e5f60718: 2026-12-07 11:30 UTC → 2026-12-14 11:30 UTC \(168 h\)/);
        assert.match(lines["  nodes appear"], /^2026-12-07 11:30 UTC: ASG scheduled action scales h200 to 4/);
        assert.match(lines["  resume"], /^2026-12-07 11:35 UTC: CronJob qwen3-30b-a3b-fp8-block-resume waits for 4 Ready node/);
        assert.match(lines["  save triggered"], /^2026-12-14 09:50 UTC: CronJob qwen3-30b-a3b-fp8-block-end-save creates the sentinel \(60 min before the drain\)/);
        assert.match(lines["  drain"], /^2026-12-14 10:50 UTC: EKS scales the group to 0 \(T-40 min\)/);
        assert.match(lines["  termination"], /^2026-12-14 11:00 UTC: EC2 terminates the instances \(T-30 min\)/);
        assert.match(lines["running-run change"], /^save, then replace/);
    });

    it("the RayJob's argv carries the sentinel, after --save (miles requires --save with it)", () => {
        const argv: string[] = (p.summary!.training as any).argv;
        const i = argv.indexOf("--save-trigger-sentinel");
        assert.ok(i > argv.indexOf("--save"), "--save-trigger-sentinel without --save");
        assert.equal(argv[i + 1], sentinel);
        assert.match(rayJobCommand(p, one(p, "kubernetes:ray.io/v1:RayJob")), new RegExp(`--save-trigger-sentinel ${sentinel} `));
    });

    it("the end-of-block CronJob fires before the drain, uses the same sentinel, waits for the export and stops the queued RayJob through its Kueue Workload", async () => {
        const cj = ofType(p, CRONJOB).find((r) => (r.inputs.metadata as any).name === "qwen3-30b-a3b-fp8-block-end-save")!;
        const spec = cj.inputs.spec as any;
        assert.equal(spec.schedule, "50 9 14 12 *");
        assert.equal(spec.timeZone, "Etc/UTC");
        assert.equal(spec.concurrencyPolicy, "Forbid");
        const [save, exportWait, suspend] = steps(podOf(cj.inputs));
        // prod is in the Kueue queue, which owns the RayJob's spec.suspend: the last step deactivates its Workload.
        assert.deepEqual([save.name, exportWait.name, suspend.name], ["save", "wait-export", "deactivate"]);
        assert.equal(env(save).SENTINEL, sentinel);
        assert.equal(env(save).ON_TIMEOUT, "continue");
        // Deadlines: the save by 10:19, the export and the suspend before the 10:50 drain.
        assert.equal(new Date(Number(env(save).SAVE_DEADLINE) * 1000).toISOString(), "2026-12-14T10:19:00.000Z");
        assert.equal(new Date(Number(env(exportWait).EXPORT_DEADLINE) * 1000).toISOString(), "2026-12-14T10:48:00.000Z");
        assert.deepEqual(env(exportWait).FILE_SYSTEM_ID, { configMapKeyRef: { name: "qwen3-30b-a3b-fp8-lifecycle-export", key: "FILE_SYSTEM_ID" } });
        assert.match(suspend.command[2], /'\{"spec":\{"active":false\}\}'/);
        assert.doesNotMatch(suspend.command[2], /"suspend"/);
        for (const c of [save, exportWait, suspend]) assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] });
        assert.equal(podOf(cj.inputs).volumes[0].persistentVolumeClaim.claimName, "miles-shared");
        await validate("CronJob", "batch/v1", cj.inputs);
    });

    it("the resume CronJob waits for the block's nodes and resumes only what the end-of-block save suspended", async () => {
        const cj = ofType(p, CRONJOB).find((r) => (r.inputs.metadata as any).name === "qwen3-30b-a3b-fp8-block-resume")!;
        assert.equal((cj.inputs.spec as any).schedule, "35 11 7 12 *");
        const [resume] = steps(podOf(cj.inputs));
        assert.equal(env(resume).NODES_NEEDED, "4");
        assert.equal(decodeURIComponent(env(resume).NODE_SELECTOR), "miles-cluster.io/node-group=h200");
        assert.match(resume.command[2], /miles-cluster\/suspended-by/);
        assert.equal(resume.name, "reactivate", "a queued run is resumed by reactivating its Workload");
        assert.match(resume.command[2], /'\{"spec":\{"active":true\}\}'/);
        await validate("CronJob", "batch/v1", cj.inputs);
    });

    it("least privilege: get/patch of this one RayJob, list/patch of Kueue Workloads (their names are Kueue's), list nodes, and one read-only CloudWatch call; the node watcher runs as the cluster's node-watch account", () => {
        const role = one(p, "kubernetes:rbac.authorization.k8s.io/v1:Role", "training-lifecycle-role").inputs as any;
        assert.deepEqual(role.rules, [
            { apiGroups: ["ray.io"], resources: ["rayjobs"], resourceNames: ["qwen3-30b-a3b-fp8"], verbs: ["get", "patch"] },
            { apiGroups: ["kueue.x-k8s.io"], resources: ["workloads"], verbs: ["list", "patch"] },
        ]);
        const nodes = one(p, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "training-lifecycle-nodes").inputs as any;
        assert.deepEqual(nodes.rules, [{ apiGroups: [""], resources: ["nodes"], verbs: ["list"] }]);
        // Not a spot group: the run's node watcher reacts to node health only, as the cluster's account.
        const watch = one(p, "kubernetes:apps/v1:Deployment", "training-lifecycle-node-watch").inputs as any;
        const env = Object.fromEntries(watch.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));
        assert.equal(env.WATCH, "");
        assert.match(env.CONDITIONS, /(^| )AcceleratedHardwareReady=\d+( |$)/);
        assert.equal(watch.spec.template.spec.serviceAccountName, "miles-node-watch");
        // That account: the namespace's pods (list, delete) and nodes (get, list, patch), nothing else.
        const wrole = one(p, "kubernetes:rbac.authorization.k8s.io/v1:Role", "addons-node-watch-role").inputs as any;
        assert.deepEqual(wrole.rules, [{ apiGroups: [""], resources: ["pods"], verbs: ["list", "delete"] }]);
        assert.equal(wrole.metadata.namespace, "miles");
        const wnodes = one(p, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "addons-node-watch-nodes").inputs as any;
        assert.deepEqual(wnodes.rules, [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "patch"] }]);
        const wbind = one(p, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "addons-node-watch-nodes").inputs as any;
        assert.deepEqual(wbind.subjects, [{ kind: "ServiceAccount", name: "miles-node-watch", namespace: "miles" }]);
        const policy = JSON.parse(String(one(p, "aws:iam/rolePolicy:RolePolicy", "training-lifecycle-cloudwatch").inputs.policy));
        assert.deepEqual(policy.Statement.map((s: any) => s.Action), [["cloudwatch:GetMetricStatistics"]]);
        const assoc = one(p, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "training-lifecycle-cloudwatch").inputs as any;
        assert.equal(assoc.serviceAccount, "qwen3-30b-a3b-fp8-lifecycle");
    });

    it("a spec change of the running run is 'save, then replace': the pre-replacement Job is named by the RayJob spec hash and fails (stopping the deploy) when the save does not finish", async () => {
        const job = ofType(p, JOB).find((r) => /-presave-/.test((r.inputs.metadata as any).name))!;
        assert.match((job.inputs.metadata as any).name, /^qwen3-30b-a3b-fp8-presave-[0-9a-f]{10}$/);
        const pod = (job.inputs.spec as any).template.spec;
        const [save, exportWait] = steps(pod);
        assert.equal(env(save).SENTINEL, sentinel);
        assert.equal(env(save).ON_TIMEOUT, "fail");
        assert.equal(env(save).REFUSE_RUNNING, "false");
        assert.equal(exportWait.name, "wait-export");
        assert.equal((job.inputs.spec as any).backoffLimit, 0);
        await validate("Job", "batch/v1", job.inputs);
    });
});

describe("run lifecycle: pure parts", () => {
    it("the spec hash ignores suspend (pausing keeps the RayJob and runs no save) but not the rest", () => {
        const m = { metadata: { name: "a" }, spec: { suspend: false, entrypoint: "x" } };
        assert.equal(rayJobSpecHash(m), rayJobSpecHash({ ...m, spec: { ...m.spec, suspend: true } }));
        assert.notEqual(rayJobSpecHash(m), rayJobSpecHash({ ...m, spec: { ...m.spec, entrypoint: "y" } }));
    });

    it("the block schedule follows EKS: drain 40 min and termination 30 min before the end; cron in UTC", () => {
        const s = blockSchedule({ start: "2026-12-07T11:30:00Z", end: "2026-12-08T11:30:00Z" }, 90);
        assert.equal(s.drain.toISOString(), "2026-12-08T10:50:00.000Z");
        assert.equal(s.termination.toISOString(), "2026-12-08T11:00:00.000Z");
        assert.equal(s.saveTrigger.toISOString(), "2026-12-08T09:20:00.000Z");
        assert.ok(s.saveDeadline < s.suspendBy && s.suspendBy < s.drain);
        assert.equal(cronAt(s.saveTrigger), "20 9 8 12 *");
    });

    it("without the cluster's node-watch account (components composed by hand), the run's own account carries the watcher's grant; with it, nothing beyond the block resume's list", () => {
        const r = { runName: "r", groups: [], group: undefined } as unknown as ResolvedRun;
        assert.deepEqual(lifecycleRole(r, "miles", false, true).rules.slice(1), [{ apiGroups: [""], resources: ["pods"], verbs: ["list", "delete"] }]);
        assert.deepEqual(lifecycleNodeReaderRole(r, "miles", true).rules, [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "patch"] }]);
        // Negative control: the cluster provides the account.
        assert.deepEqual(lifecycleRole(r, "miles", false, false).rules.length, 1);
        assert.deepEqual(lifecycleNodeReaderRole(r, "miles", false).rules[0].verbs, ["list"], "the block resume's list only");
    });

    it("the scale-up action starts at the block's start, or 2 minutes from now once the start is past (Auto Scaling rejects a past start)", () => {
        const now = new Date("2026-12-01T00:00:00Z");
        assert.equal(blockStartTime({ start: "2026-12-07T11:30:00Z", end: "2026-12-14T11:30:00Z" }, now), "2026-12-07T11:30:00Z");
        assert.equal(blockStartTime({ start: "2026-11-30T11:30:00Z", end: "2026-12-14T11:30:00Z" }, now), "2026-12-01T00:02:00Z");
        assert.equal(blockStartTime(undefined, now), "2026-12-01T00:02:00Z");
    });
});

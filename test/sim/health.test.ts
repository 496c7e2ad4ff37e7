/**
 * Deployment simulation (issue 22): a node change never lets a bad node serve a run, and nothing
 * waits forever — a Capacity Block resuming on new hosts with one bad node, EKS auto repair
 * replacing a node mid-run, and an XID mid-run handled by the run's node watcher (saved, or a save
 * that never comes), on prod (4 × p5en in a Capacity Block) and on the spot stack spec-mtp, with the
 * RayJob, the node watcher and the Kueue configuration the program registers. The model and its
 * sources are test/sim/health.ts and test/sim/nodeWatch.ts; the timelines are in docs/lifecycle.md
 * ("Node changes and the queue", "Node health during a run").
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import type { Plan } from "../../plan/run";
import { objectsOf, stackPlan } from "./world";
import { keyOf, kindOf, worldOf } from "./awaits";
import { gangOf, joinChecked, nodeCheckOf, placeGang, podsReadyOf, replay, runNodeCheck, tolerates, type CheckedNode, type Gang, type NodeCheckPod, type PodsReady, type SimNode } from "./health";
import { HEALTH_PENDING_TAINT, UNHEALTHY_TAINT } from "../../domain/health/nodeHealth";
import { NODE_REPAIR_AFTER_MINUTES } from "../../catalog/nodeHealth";
import { eksEffect, nodeGroupsOf } from "./scheduling";
import type { Taint } from "../../catalog/nodeLabels";
import { NODE_HEALTH_EVENT_KIND, runAttempts, type AttemptRecord } from "../../domain/training/attempts";
import { unhealthyMidRun, watcherWorld, type MidRunResult } from "./nodeWatch";
import { envOf } from "./spotReclaim";
import { NODE_WATCH, POD_DELETE_GRACE_SECONDS } from "../../domain/lifecycle/nodeWatch";
import type { GpuNodeGroupInfo } from "../../domain/gpuNodes";

/** How a new instance's check ends: the deployed scripts on a real capture (run once per outcome: the node's name does not matter to them). */
type Outcome = "pass" | "pcie-fail";
const DIAG: Record<Outcome, string> = { pass: "dcgm-4.4.2-r2-pass.txt", "pcie-fail": "dcgm-4.4.1-r2-pcie-fail.txt" };

describe("deployment simulation: health on every node change (issue 22)", function () {
    this.timeout(60000);
    let p: Plan;
    let gang: Gang;
    let ready: PodsReady;
    let group: GpuNodeGroupInfo;
    let check: NodeCheckPod;
    /** The taints a node of the group joins with: the managed node group's, as the plan registers them. */
    let joinTaints: Taint[];
    /** The run's name (its RayJob's). */
    let run: string;
    const checked = new Map<Outcome, CheckedNode>();
    const host = (i: number, o: Outcome = "pass") =>
        joinChecked(`block-host-${i}`, group.gpusPerNode, joinTaints, (t) => {
            if (!checked.has(o)) checked.set(o, runNodeCheck(check, { taints: [...t] }, { fixture: DIAG[o], efaFound: group.efaPerNode }));
            return checked.get(o)!;
        });
    before(async () => {
        p = await stackPlan("prod");
        const w = await worldOf(p);
        const rj = p.resources.find((r) => keyOf(r) === "kubernetes:ray.io/v1:RayJob::training-rayjob")!;
        gang = gangOf(rj);
        run = String((rj.inputs.metadata as { name: string }).name);
        ready = podsReadyOf(p.resources);
        group = w.groups[0];
        const ng = p.resources.find((r) => r.type === "aws:eks/nodeGroup:NodeGroup" && JSON.stringify(r.inputs.labels ?? {}).includes(`"${Object.values(group.selector)[0]}"`))!;
        assert.ok(ng, "prod registers the GPU managed node group");
        joinTaints = ((ng.inputs.taints ?? []) as Array<{ key: string; value?: string; effect: string }>).map((t) => ({ key: t.key, value: t.value ?? "", effect: eksEffect(t.effect) }));
        check = nodeCheckOf(p.resources, group.selector)!;
        assert.ok(check, "prod registers a node-check DaemonSet for its GPU group");
    });

    it("prod: GPU nodes join with the health-pending taint, and the node-check DaemonSet tolerates every taint they join with", () => {
        assert.ok(joinTaints.some((t) => t.key === HEALTH_PENDING_TAINT.key && t.effect === "NoSchedule"), JSON.stringify(joinTaints));
        assert.deepEqual(joinTaints.filter((t) => !tolerates(check.tolerations, t)), []);
        assert.equal(check.env.EXPECTED_EFA, String(group.efaPerNode));
        assert.equal(placeGang({ ...gang, pods: 1 }, [{ name: "fresh", gpus: group.gpusPerNode, taints: joinTaints, annotations: {} }]), undefined, "a run pod lands on a node before its check");
    });

    it("prod: the run's gang takes every node of its Capacity Block group, and Kueue bounds requeues", () => {
        assert.equal(gang.pods, group.nodes, "the scenario needs a run that uses every node");
        assert.ok(ready.backoffLimit !== undefined && ready.timeoutMin > 0 && ready.recoveryMin > 0);
    });

    describe("a block resume onto new hosts with one bad node", () => {
        it("the bad node is kept out (unhealthy taint, reason from its dcgmi diag), no run pod lands there, and it is in the attempt's record", () => {
            const nodes = [host(1), host(2), host(3, "pcie-fail"), host(4)];
            const bad = nodes[2];
            assert.ok(bad.taints.some((t) => t.key === UNHEALTHY_TAINT.key));
            assert.equal(placeGang({ ...gang, pods: 1 }, [bad]), undefined, "a run pod tolerates the unhealthy taint");
            // The run's node watcher, as the plan deploys it, sees the group's kept-out node once the run's pods exist (on a
            // spare, or the replacement) and records it: `miles-cluster runs` lists it for the attempt.
            const d = objectsOf(p, "Deployment").find((x) => x.metadata.labels?.["app.kubernetes.io/component"] === NODE_WATCH && envOf(x).RUN === run)!;
            const env = envOf(d);
            const w = watcherWorld(String((d.spec as any).template.spec.containers[0].command[2]), env);
            try {
                const labels = Object.fromEntries(decodeURIComponent(env.NODE_SELECTORS).split(",").map((kv) => kv.split("=") as [string, string]));
                for (const n of nodes) w.setNode({ name: n.name, labels, taints: n.taints, annotations: n.annotations });
                w.setPods([{ name: `${run}-raycluster-gpu-worker-0`, node: "block-host-1" }]);
                w.pass();
                const rec: AttemptRecord = { file: "1.json", startedAt: new Date(Date.now() + 5 * 60_000).toISOString(), status: "running", nodes: 4, gpusPerNode: 8, deployKey: "k" };
                const a = runAttempts([rec], w.events(), []);
                assert.deepEqual(a[0].excludedNodes.map((x) => x.node), ["block-host-3"]);
                assert.match(a[0].excludedNodes[0].reason, new RegExp(`^${NODE_HEALTH_EVENT_KIND}: dcgmi diag Integration/pcie: Fail — There was an internal error`));
                assert.ok(!fs.existsSync(w.sentinel), "a kept-out node the run is not on asks no save");
            } finally {
                w.done();
            }
        });

        it("the run waits (pods Pending, then evicted and requeued: its GPUs are freed) and starts on the replacement once it passes its check", () => {
            const nodes = [host(1), host(2), host(3, "pcie-fail"), host(4)];
            // The operator (or auto repair, for a condition it acts on) replaces the bad host after 45 minutes.
            const o = replay(gang, nodes, ready, [{ atMin: 45, remove: "block-host-3" }, { atMin: 45, add: host(5) }]);
            assert.equal(o.waitsForever, false);
            assert.ok(o.startedAt !== undefined && o.startedAt >= 45, o.events.map((e) => `${e.atMin}: ${e.what}`).join("\n"));
            assert.deepEqual([...o.nodes!].sort(), ["block-host-1", "block-host-2", "block-host-4", "block-host-5"]);
            assert.ok(o.events.some((e) => /evicted \(GPUs freed\)/.test(e.what)), "a partly started gang held its GPUs");
        });

        it("with a spare healthy node in the group the run starts at once on the healthy ones", () => {
            const nodes = [host(1), host(2), host(3, "pcie-fail"), host(4), host(5)];
            const o = replay(gang, nodes, ready, []);
            assert.equal(o.startedAt, 0);
            assert.ok(!o.nodes!.includes("block-host-3"));
        });

        it("never replaced: the Workload is deactivated after the requeue limit — it does not wait forever", () => {
            const o = replay(gang, [host(1), host(2), host(3, "pcie-fail"), host(4)], ready, []);
            assert.equal(o.startedAt, undefined);
            assert.equal(o.waitsForever, false);
            assert.ok(o.deactivatedAt! < 24 * 60, `deactivated after ${o.deactivatedAt} min`);
        });
    });

    describe("a node replaced by auto repair mid-run", () => {
        const repairAfter = NODE_REPAIR_AFTER_MINUTES.AcceleratedHardwareReady;
        it("negative control, without the run's node watcher: the agent's condition does not keep the node out by itself; auto repair replaces it after its wait, the run (lost a pod) restarts on the new node once that passed its check", () => {
            const nodes = [host(1), host(2), host(3), host(4)];
            assert.deepEqual(placeGang(gang, nodes)?.length, 4, "the run first runs on all four");
            // Minute 0: the agent sets AcceleratedHardwareReady=False on host 2 (e.g. DCGMError). The boot check does not
            // watch conditions; without the watcher host 2 keeps its taints until EKS replaces it after `repairAfter` minutes (the replay starts
            // there: the gang loses that pod); the instance that replaces it joins 12 minutes later (an input) with the
            // startup taint and passes its check, within Kueue's recoveryTimeout.
            assert.equal(repairAfter, 10);
            const joinDelay = 12;
            assert.ok(joinDelay < ready.recoveryMin);
            const o = replay(gang, nodes, ready, [{ atMin: 0, remove: "block-host-2" }, { atMin: joinDelay, add: host(6) }], { running: true });
            assert.equal(o.waitsForever, false);
            assert.equal(o.startedAt, joinDelay, o.events.map((e) => `${e.atMin}: ${e.what}`).join("\n"));
            assert.ok(!o.events.some((e) => /evicted/.test(e.what)), "no requeue: the replacement came within recoveryTimeout");
            assert.ok(!o.nodes!.includes("block-host-2"));
        });

        it("what the replaced node's pod loses: prod's run pods have no preStop save (its queue does not preempt), so the run resumes from its last periodic save", () => {
            // A preStop save is set only with addons.kueue.preemption: LowerPriority (domain/training/pod.ts withSaveOnStop);
            // whether auto repair deletes pods gracefully before terminating the instance is not documented: not relied on.
            const rj = p.resources.find((r) => keyOf(r) === "kubernetes:ray.io/v1:RayJob::training-rayjob")!;
            const worker = (rj.inputs.spec as any).rayClusterSpec.workerGroupSpecs[0].template.spec;
            assert.equal(worker.containers[0].lifecycle?.preStop, undefined);
        });

        it("a replacement slower than recoveryTimeout: the run is requeued (GPUs freed) and admitted when the node is back", () => {
            const o = replay(gang, [host(1), host(3), host(4)], ready, [{ atMin: 50, add: host(6) }], { running: true });
            assert.ok(o.events.some((e) => e.atMin === ready.recoveryMin && /evicted/.test(e.what)), o.events.map((e) => `${e.atMin}: ${e.what}`).join("\n"));
            assert.ok(o.startedAt !== undefined && o.startedAt >= 50);
        });
    });

    describe("an XID mid-run on prod (AcceleratedHardwareReady=False; no spot, no preemption): the run's node watcher", () => {
        const timeline = (r: MidRunResult) => r.steps.map((x) => `${x.atMin.toFixed(2)} min: ${x.what}`).join("\n");
        let saved: MidRunResult;
        let hung: MidRunResult;
        before(() => {
            saved = unhealthyMidRun(p, run, [host(1), host(2), host(3), host(4)], () => host(6), { badIndex: 1, saveSeconds: 180, joinMinutes: 12 });
            hung = unhealthyMidRun(p, run, [host(1), host(2), host(3), host(4)], () => host(6), { badIndex: 1, saveSeconds: Infinity, joinMinutes: 12 });
        });

        it("taints the node with the agent's reason, the run saves within the deadline (before auto repair), its pods on the node go, and the retry runs on the three others and the replacement — never on the bad node", () => {
            assert.deepEqual(saved.problems, [], timeline(saved));
            assert.equal(saved.badNode, "block-host-2");
            assert.ok(saved.badTaints.some((t) => t.key === UNHEALTHY_TAINT.key && t.effect === "NoSchedule"));
            assert.match(saved.badReason ?? "", /^AcceleratedHardwareReady=False \(DCGMHealthCode122: /);
            assert.ok(saved.savedMin !== undefined && saved.savedMin < saved.deadlineMin && saved.deadlineMin < saved.repairMin, timeline(saved));
            assert.deepEqual([...saved.after!].sort(), ["block-host-1", "block-host-3", "block-host-4", "block-host-6"], timeline(saved));
            assert.equal(placeGang({ ...gang, pods: 1 }, [{ name: saved.badNode, gpus: group.gpusPerNode, taints: saved.badTaints, annotations: {} }]), undefined, "a run pod could land on the bad node");
            assert.deepEqual(saved.waits.filter((x) => !Number.isFinite(x.boundMin)), [], "something waits without bound");
        });

        it("the attempt record names the node and why the attempt ended; the next attempt resumes from the save", () => {
            assert.equal(saved.attempts[0].endReason, "node failure");
            assert.match(saved.attempts[0].endBasis, /node block-host-2 unhealthy \(AcceleratedHardwareReady=False .*saved at .*resumes from the save written at/);
            assert.deepEqual(saved.attempts.map((a) => a.excludedNodes.map((x) => x.node)), [["block-host-2"], ["block-host-2"]]);
            assert.deepEqual(saved.events.map((e) => e.outcome), ["excluded", "save-requested", "saved", "restarted"]);
        });

        it("a save that does not come (a collective hung on the bad GPU): the deadline passes, the pods are deleted before auto repair, the run restarts from its last periodic save", () => {
            assert.deepEqual(hung.problems, [], timeline(hung));
            assert.equal(hung.savedMin, undefined);
            assert.deepEqual(hung.events.map((e) => e.outcome), ["excluded", "save-requested", "not-saved", "restarted"]);
            const deleted = hung.steps.find((x) => /pods on node block-host-2 are deleted/.test(x.what))!;
            assert.ok(deleted.atMin + POD_DELETE_GRACE_SECONDS / 60 < hung.repairMin, timeline(hung));
            assert.match(hung.attempts[0].endBasis, /resumes from the last periodic save/);
            assert.ok(hung.restartedMin !== undefined && !hung.after!.includes("block-host-2"));
            assert.deepEqual(hung.waits.filter((x) => !Number.isFinite(x.boundMin)), []);
        });
    });

    describe("negative controls", () => {
        it("run pods that tolerate every taint would land on the unhealthy node", () => {
            const all: Gang = { ...gang, tolerations: [{ operator: "Exists" }] };
            assert.ok(placeGang(all, [host(1), host(2), host(3, "pcie-fail"), host(4)])!.includes("block-host-3"));
        });

        it("Kueue's default endless requeue (no backoffLimitCount) leaves a run without a replacement waiting forever", () => {
            const { backoffLimit: _l, ...endless } = ready;
            assert.equal(replay(gang, [host(1), host(2), host(3, "pcie-fail"), host(4)], endless, [], { horizonMin: 3 * 24 * 60 }).waitsForever, true);
        });

        it("a node that joins without the health check (no startup taint patched) would be used at once, bad or not", () => {
            const unchecked: SimNode = { name: "unchecked", gpus: group.gpusPerNode, taints: [...group.taints], annotations: {} };
            assert.deepEqual(placeGang({ ...gang, pods: 1 }, [unchecked]), ["unchecked"]);
        });
    });

    describe("an XID mid-run on the spot stack spec-mtp (one p5.48xlarge): the same path as on prod", () => {
        let spot: MidRunResult;
        before(async () => {
            const q = await stackPlan("spec-mtp");
            const rj = q.resources.find((r) => kindOf(r) === "RayJob")!;
            const g = nodeGroupsOf(q).find((x) => x.role === "gpu")!;
            const node = (name: string): SimNode => ({ name, gpus: gangOf(rj).gpusPerPod, taints: [...g.shape.taints] as Taint[], annotations: {} });
            spot = unhealthyMidRun(q, String((rj.inputs.metadata as { name: string }).name), [node("spot-1")], () => node("spot-2"), { badIndex: 0, saveSeconds: 150, joinMinutes: 6 });
        });

        it("the one node is tainted, the run saves before auto repair, its pods go, the retry waits for and runs on the replacement; the record names the node", () => {
            const timeline = spot.steps.map((x) => `${x.atMin.toFixed(2)} min: ${x.what}`).join("\n");
            assert.deepEqual(spot.problems, [], timeline);
            assert.ok(spot.badTaints.some((t) => t.key === UNHEALTHY_TAINT.key), timeline);
            assert.ok(spot.savedMin! < spot.deadlineMin && spot.deadlineMin < spot.repairMin);
            assert.deepEqual(spot.after, ["spot-2"], timeline);
            assert.ok(spot.restartedMin! >= spot.repairMin, "the retry could only start once the replacement joined");
            assert.equal(spot.attempts[0].endReason, "node failure");
            assert.deepEqual(spot.attempts[0].excludedNodes.map((x) => x.node), ["spot-1"]);
            assert.deepEqual(spot.waits.filter((x) => !Number.isFinite(x.boundMin)), []);
        });
    });
});

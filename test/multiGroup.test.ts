/**
 * A run larger than one node group (`training.nodeGroups`): the resolution (nodes filled group by
 * group), the rules (one instance type, named with its field path; every group used; Capacity Blocks
 * on one window), one Ray worker group per node group with that group's placement, the fabric gate
 * over all of them, the queue's GPUs per flavor, the lifecycle's nodes and the plan. Pure functions
 * on a parsed config: no whole-stack plan (stacks/Pulumi.multi-group.yaml is planned by stacks.test.ts).
 */
import { strict as assert } from "node:assert";
import { parseConfig } from "../validation";
import { rawConfig } from "./harness";
import { runOf } from "../domain/stack";
import { fillGroups } from "../domain/training/resolve";
import { rayJobManifest, workerGroups } from "../domain/training/rayJob";
import { gateManifests } from "../domain/fabric/gateJob";
import { describeGate, fabricGatePlan } from "../domain/fabric/gate";
import { gpusByGroup } from "../domain/runStack";
import { admissions, queueQuota, queueRef } from "../domain/kueue";
import { blockGroupOf, blockNodes } from "../domain/lifecycle/jobs";
import { spanWarnings } from "../plan/sections/training";
import { gpuNodeGroupsFromConfig } from "../domain/gpuNodes";

type Obj = Record<string, any>;
const WINDOW = { start: "2026-12-07T11:30:00Z", end: "2026-12-14T11:30:00Z" };
const block = (name: string, id: string, nodes: number, window = WINDOW) => ({ name, instanceType: "p5en.48xlarge", nodes, capacity: { type: "capacity-block", reservationId: id, window } });
const TWO_BLOCKS = [block("a", "cr-0a1b2c3d4e5f60719", 2), block("b", "cr-0a1b2c3d4e5f6071a", 2)];
// Qwen3-4B colocated on 4 nodes (32 GPUs): DP 32, global batch 256 divisible by it.
const TRAINING = { model: { preset: "qwen3-4B" }, layout: { actorNodes: 4 }, algorithm: { rolloutBatchSize: 32, nSamplesPerPrompt: 8, globalBatchSize: 256 }, nodeGroups: ["a", "b"] };
function parse(groups: unknown[], training: Record<string, unknown> = TRAINING) {
    return parseConfig(rawConfig({ "aws:region": "us-east-1", "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: groups }, "miles-cluster:storage": {}, "miles-cluster:addons": {}, "miles-cluster:training": training }), { stack: "t" });
}
const ok = (groups: unknown[] = TWO_BLOCKS, training?: Record<string, unknown>) => {
    const r = parse(groups, training);
    assert.deepEqual(r.problems, []);
    return { cfg: r.config!, run: runOf(r.config!) };
};
const ctx = { namespace: "miles", claimName: "miles-shared", serviceAccountName: "miles-training", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/miles-cluster/t/miles-efa:v0.1.0-efa1.49.0", queue: queueRef({ clusterQueue: "miles", localQueue: "miles" }, "normal") };

describe("a run over several node groups (training.nodeGroups)", () => {
    it("fills the groups in order: every node of one before the next", () => {
        const g = (name: string, nodes: number) => ({ name, nodes }) as never;
        assert.deepEqual(fillGroups([g("a", 64), g("b", 16)], 72).map((x) => x.nodes), [64, 8]);
        assert.deepEqual(fillGroups([g("a", 2), g("b", 2)], 4).map((x) => x.nodes), [2, 2]);
        assert.deepEqual(fillGroups([g("a", 4)], 6).map((x) => x.nodes), [6], "one group takes them all (the rules report the shortfall)");
    });

    it("one Ray worker group per node group, each on its group's nodes with its GPUs and EFA devices", () => {
        const { run } = ok();
        assert.deepEqual(workerGroups(run).map((w) => [w.name, w.nodes]), [["gpu-a", 2], ["gpu-b", 2]]);
        const m = rayJobManifest(run, ctx) as Obj;
        const specs = m.spec.rayClusterSpec.workerGroupSpecs;
        assert.deepEqual(specs.map((w: Obj) => [w.groupName, w.replicas, w.minReplicas, w.maxReplicas]), [["gpu-a", 2, 2, 2], ["gpu-b", 2, 2, 2]]);
        for (const [i, name] of ["a", "b"].entries()) {
            const pod = specs[i].template.spec;
            assert.deepEqual(pod.nodeSelector, { "miles-cluster.io/node-group": name });
            assert.deepEqual(pod.tolerations, [{ key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" }]);
            // p5en.48xlarge: 8 H200 and 16 EFA devices per node (catalog/efaLayout.ts).
            assert.equal(pod.containers[0].resources.limits["nvidia.com/gpu"], "8");
            assert.equal(pod.containers[0].resources.limits["vpc.amazonaws.com/efa"], "16");
        }
        // The GPU math is over all 4 nodes: --actor-num-nodes 4, DP = 32 / (TP 1 × PP 1 × CP 1).
        assert.equal(run.nodesNeeded, 4);
        assert.equal(run.effective.dp, 32);
        assert.match(run.command.entrypoint, /--actor-num-nodes 4 --actor-num-gpus-per-node 8 /);
        // One group as before: the worker group is still called "gpu".
        assert.deepEqual(workerGroups(ok([block("a", "cr-0a1b2c3d4e5f60719", 4)], { ...TRAINING, nodeGroups: undefined, nodeGroup: "a" }).run).map((w) => w.name), ["gpu"]);
    });

    it("the queue admits the run when both flavors have its GPUs: 16 from each group", () => {
        const { cfg, run } = ok();
        assert.deepEqual(gpusByGroup(run), { a: 16, b: 16 });
        const quota = queueQuota(cfg.addons.kueue, gpuNodeGroupsFromConfig(cfg));
        assert.deepEqual(admissions([{ name: "span", priority: "normal", gpusByGroup: gpusByGroup(run) }], quota, "BestEffortFIFO")[0].flavors, ["miles-a", "miles-b"]);
        // A second run needing group b waits for it.
        const [, second] = admissions([{ name: "span", priority: "normal", gpusByGroup: gpusByGroup(run) }, { name: "small", priority: "normal", gpusByGroup: { b: 8 } }], quota, "BestEffortFIFO");
        assert.equal(second.startsAtOnce, false);
    });

    it("the fabric gate runs one pod per node on any of the run's groups and says which", () => {
        const { run } = ok();
        const plan = fabricGatePlan(run);
        assert.equal(plan.nodes, 4);
        assert.deepEqual(plan.groups, ["a", "b"]);
        assert.match(describeGate(plan), /across the run's 4 GPU nodes of node groups a \+ b over EFA/);
        const pod = (gateManifests(run, plan, ctx).job as Obj).spec.template.spec;
        assert.equal(pod.nodeSelector, undefined);
        assert.deepEqual(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms, [
            { matchExpressions: [{ key: "miles-cluster.io/node-group", operator: "In", values: ["a"] }] },
            { matchExpressions: [{ key: "miles-cluster.io/node-group", operator: "In", values: ["b"] }] },
        ]);
        assert.equal(pod.tolerations.length, 1, "the groups' identical tolerations once");
    });

    it("the Capacity Block lifecycle waits for the nodes of both blocks", () => {
        const { run } = ok();
        assert.equal(blockGroupOf(run)?.name, "a");
        assert.deepEqual(blockNodes(run), { selector: "miles-cluster.io/node-group in (a,b)", nodes: 4 });
        // A block plus an on-demand group: the resume waits only for the block's nodes (the on-demand group scales up for the pods).
        const mixed = ok([block("a", "cr-0a1b2c3d4e5f60719", 2), { name: "b", instanceType: "p5en.48xlarge", nodes: 2 }]).run;
        assert.deepEqual(blockNodes(mixed), { selector: "miles-cluster.io/node-group=a", nodes: 2 });
    });

    it("plan warns that the groups are in different placement domains; one placement group shared by both is not warned about", () => {
        const { cfg, run } = ok();
        assert.match(spanWarnings(cfg, run).join("\n"), /spans a \(Capacity Block cr-0a1b2c3d4e5f60719\), b \(Capacity Block cr-0a1b2c3d4e5f6071a\).*may be slower/);
        const odcr = (name: string, id: string) => ({ name, instanceType: "p5en.48xlarge", nodes: 2, capacity: { type: "capacity-reservation", reservationId: id }, placementGroup: { name: "p5-pg" } });
        const shared = ok([odcr("a", "cr-0a1b2c3d4e5f60719"), odcr("b", "cr-0a1b2c3d4e5f6071a")]);
        assert.deepEqual(spanWarnings(shared.cfg, shared.run), []);
    });

    it("rejects mixing instance types, unknown or repeated groups, a group that gets no node, nodeGroup beside nodeGroups, and blocks on different windows, each at its path", () => {
        const paths = (groups: unknown[], training: Record<string, unknown>) => parse(groups, training).problems.map((p) => `${p.path}: ${p.message}`);
        const mixed = paths([block("a", "cr-0a1b2c3d4e5f60719", 2), { name: "b", instanceType: "p5.48xlarge", nodes: 2 }], TRAINING);
        assert.ok(mixed.some((p) => /^training\.nodeGroups\[1\]: b is p5\.48xlarge but a is p5en\.48xlarge: a run spans node groups of one instance type/.test(p)), mixed.join("\n"));
        assert.ok(paths(TWO_BLOCKS, { ...TRAINING, nodeGroups: ["a", "c"] }).some((p) => /^training\.nodeGroups\[1\]: no GPU node group named "c"/.test(p)));
        assert.ok(paths(TWO_BLOCKS, { ...TRAINING, nodeGroups: ["a", "a"] }).some((p) => /^training\.nodeGroups\[1\]: "a" is listed twice/.test(p)));
        // 2 nodes fit in a: b gets none.
        const spare = paths(TWO_BLOCKS, { ...TRAINING, layout: { actorNodes: 2 }, algorithm: { rolloutBatchSize: 32, nSamplesPerPrompt: 8, globalBatchSize: 256 } });
        assert.ok(spare.some((p) => /^training\.nodeGroups\[1\]: b gets no node/.test(p)), spare.join("\n"));
        assert.ok(paths(TWO_BLOCKS, { ...TRAINING, nodeGroup: "a" }).some((p) => /^training\.nodeGroups: is set together with training\.nodeGroup/.test(p)));
        const later = { start: "2026-12-14T11:30:00Z", end: "2026-12-21T11:30:00Z" };
        assert.ok(paths([block("a", "cr-0a1b2c3d4e5f60719", 2), block("b", "cr-0a1b2c3d4e5f6071a", 2, later)], TRAINING).some((p) => /^training\.nodeGroups: spans Capacity Blocks with different windows/.test(p)));
        // Too big for both groups: the numbers of both.
        const big = paths(TWO_BLOCKS, { ...TRAINING, layout: { actorNodes: 5 } });
        assert.ok(big.some((p) => /^training\.layout: the run needs 5 × 8 = 40 GPUs \(colocated\), but node groups a \+ b have 2 × 8 \+ 2 × 8 = 32/.test(p)), big.join("\n"));
    });
});

/**
 * Deployment simulation (issue 22): a node change never lets a bad node serve a run, and nothing
 * waits forever — a Capacity Block resuming on new hosts with one bad node, and EKS auto repair
 * replacing a node mid-run, on prod (4 × p5en in a Capacity Block) with the RayJob and the Kueue
 * configuration the program registers. The model and its sources are test/sim/health.ts; the
 * timelines are in docs/lifecycle.md ("Node changes").
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Plan } from "../../plan/run";
import { stackPlan } from "./world";
import { keyOf, worldOf } from "./awaits";
import { gangOf, join, markUnhealthy, placeGang, podsReadyOf, replay, type Gang, type PodsReady, type SimNode } from "./health";
import { nodeVerdict, parseDcgmDiag, UNHEALTHY_TAINT } from "../../domain/health/nodeHealth";
import { excludedNodes, withExcludedNodes } from "../../domain/health/attemptNodes";
import type { GpuNodeGroupInfo } from "../../domain/gpuNodes";

const fixture = (f: string) => readFileSync(path.join(__dirname, "..", "fixtures", "health", f), "utf8");
const healthy = () => nodeVerdict({ diag: parseDcgmDiag(fixture("dcgm-4.4.2-r2-pass.txt")), efa: { expected: 16, found: 16 } });
const badDiag = () => nodeVerdict({ diag: parseDcgmDiag(fixture("dcgm-4.4.1-r2-pcie-fail.txt")), efa: { expected: 16, found: 16 } });

describe("deployment simulation: health on every node change (issue 22)", function () {
    this.timeout(60000);
    let p: Plan;
    let gang: Gang;
    let ready: PodsReady;
    let group: GpuNodeGroupInfo;
    const host = (i: number, v = healthy()) => join(`block-host-${i}`, group.gpusPerNode, group.taints, v);
    before(async () => {
        p = await stackPlan("prod");
        const w = await worldOf(p);
        gang = gangOf(p.resources.find((r) => keyOf(r) === "kubernetes:ray.io/v1:RayJob::training-rayjob")!);
        ready = podsReadyOf(p.resources);
        group = w.groups[0];
    });

    it("prod: the run's gang takes every node of its Capacity Block group, and Kueue bounds requeues", () => {
        assert.equal(gang.pods, group.nodes, "the scenario needs a run that uses every node");
        assert.ok(ready.backoffLimit !== undefined && ready.timeoutMin > 0 && ready.recoveryMin > 0);
    });

    describe("a block resume onto new hosts with one bad node", () => {
        it("the bad node is kept out (unhealthy taint, reason from its dcgmi diag), no run pod lands there, and it is in the attempt's record", () => {
            const nodes = [host(1), host(2), host(3, badDiag()), host(4)];
            const bad = nodes[2];
            assert.ok(bad.taints.some((t) => t.key === UNHEALTHY_TAINT.key));
            assert.equal(placeGang({ ...gang, pods: 1 }, [bad]), undefined, "a run pod tolerates the unhealthy taint");
            const rec = withExcludedNodes({ run: "training" }, excludedNodes(nodes));
            assert.deepEqual(rec.excludedNodes!.map((x) => x.node), ["block-host-3"]);
            assert.match(rec.excludedNodes![0].reason, /^dcgmi diag Integration\/pcie: Fail — There was an internal error/);
        });

        it("the run waits (pods Pending, then evicted and requeued: its GPUs are freed) and starts on the replacement once it passes its check", () => {
            const nodes = [host(1), host(2), host(3, badDiag()), host(4)];
            // The operator (or auto repair, for a condition it acts on) replaces the bad host after 45 minutes.
            const o = replay(gang, nodes, ready, [{ atMin: 45, remove: "block-host-3" }, { atMin: 45, add: host(5) }]);
            assert.equal(o.waitsForever, false);
            assert.ok(o.startedAt !== undefined && o.startedAt >= 45, o.events.map((e) => `${e.atMin}: ${e.what}`).join("\n"));
            assert.deepEqual([...o.nodes!].sort(), ["block-host-1", "block-host-2", "block-host-4", "block-host-5"]);
            assert.ok(o.events.some((e) => /evicted \(GPUs freed\)/.test(e.what)), "a partly started gang held its GPUs");
        });

        it("with a spare healthy node in the group the run starts at once on the healthy ones", () => {
            const nodes = [host(1), host(2), host(3, badDiag()), host(4), host(5)];
            const o = replay(gang, nodes, ready, []);
            assert.equal(o.startedAt, 0);
            assert.ok(!o.nodes!.includes("block-host-3"));
        });

        it("never replaced: the Workload is deactivated after the requeue limit — it does not wait forever", () => {
            const o = replay(gang, [host(1), host(2), host(3, badDiag()), host(4)], ready, []);
            assert.equal(o.startedAt, undefined);
            assert.equal(o.waitsForever, false);
            assert.ok(o.deactivatedAt! < 24 * 60, `deactivated after ${o.deactivatedAt} min`);
        });
    });

    describe("a node replaced by auto repair mid-run", () => {
        it("the failing node is tainted, the run (lost a pod) is evicted after recoveryTimeout and restarts on the new node once it passes its check", () => {
            const nodes = [host(1), host(2), host(3), host(4)];
            assert.deepEqual(placeGang(gang, nodes)?.length, 4, "the run first runs on all four");
            // The node monitoring agent marks host 2 (XID error): our check adds the unhealthy taint; EKS auto repair
            // replaces the instance; the new node joins after 25 minutes and passes dcgmi diag.
            const conditions = [{ type: "AcceleratedHardwareReady", status: "False" as const, reason: "DCGMError", message: "Connection to the DCGM host process was lost" }];
            const tainted = nodes.map((n) => (n.name === "block-host-2" ? markUnhealthy(n, nodeVerdict({ conditions })) : n));
            assert.deepEqual(excludedNodes(tainted).map((x) => x.node), ["block-host-2"]);
            const o = replay(gang, tainted, ready, [{ atMin: 10, remove: "block-host-2" }, { atMin: 25, add: host(6) }], { running: true });
            assert.equal(o.waitsForever, false);
            assert.equal(o.startedAt, 25, o.events.map((e) => `${e.atMin}: ${e.what}`).join("\n"));
            assert.ok(!o.nodes!.includes("block-host-2"));
        });

        it("a replacement slower than recoveryTimeout: the run is requeued (GPUs freed) and admitted when the node is back", () => {
            const tainted = [host(1), markUnhealthy(host(2), badDiag()), host(3), host(4)];
            const o = replay(gang, tainted, ready, [{ atMin: 5, remove: "block-host-2" }, { atMin: 50, add: host(6) }], { running: true });
            assert.ok(o.events.some((e) => e.atMin === ready.recoveryMin && /evicted/.test(e.what)), o.events.map((e) => `${e.atMin}: ${e.what}`).join("\n"));
            assert.ok(o.startedAt !== undefined && o.startedAt >= 50);
        });
    });

    describe("negative controls", () => {
        it("run pods that tolerate every taint would land on the unhealthy node", () => {
            const all: Gang = { ...gang, tolerations: [{ operator: "Exists" }] };
            assert.ok(placeGang(all, [host(1), host(2), host(3, badDiag()), host(4)])!.includes("block-host-3"));
        });

        it("Kueue's default endless requeue (no backoffLimitCount) leaves a run without a replacement waiting forever", () => {
            const { backoffLimit: _l, ...endless } = ready;
            assert.equal(replay(gang, [host(1), host(2), host(3, badDiag()), host(4)], endless, [], { horizonMin: 3 * 24 * 60 }).waitsForever, true);
        });

        it("a node that joins without the health check (no startup taint patched) would be used at once, bad or not", () => {
            const unchecked: SimNode = { name: "unchecked", gpus: group.gpusPerNode, taints: [...group.taints], annotations: {} };
            assert.deepEqual(placeGang({ ...gang, pods: 1 }, [unchecked]), ["unchecked"]);
        });
    });
});

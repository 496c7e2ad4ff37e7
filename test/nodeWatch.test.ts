/**
 * The run node watcher (domain/lifecycle/nodeWatch.ts) on the node monitoring agent's conditions as
 * real captures show them (test/fixtures/health), its script under /bin/sh against a stand-in API
 * server (test/sim/nodeWatch.ts). What it does to a node is compared with the TypeScript decision
 * (monitoringProblems → nodeVerdict → healthTaintPatch) on the same node.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { GPU_TAINT, type Taint } from "../catalog/nodeLabels";
import { NODE_MONITORING_CONDITIONS } from "../catalog/nodeHealth";
import { HEALTH_PENDING_TAINT, healthTaintPatch, monitoringProblems, nodeVerdict, UNHEALTHY_REASON_ANNOTATION, UNHEALTHY_TAINT } from "../domain/health/nodeHealth";
import { healthWatchList, JSON_FLAT_AWK, NODE_HEALTH_AWK, NODE_WATCH, NODE_WATCH_POLL_SECONDS, NODE_WATCH_SCRIPT, POD_DELETE_GRACE_SECONDS, repairBoundList } from "../domain/lifecycle/nodeWatch";
import { trainingWarnings } from "../domain/training/rules";
import { runOf } from "../domain/stack";
import { parseOneNode, planStack } from "./harness";
import { renderText } from "../plan/render";
import { NODE_HEALTH_EVENT_KIND, runAttempts } from "../domain/training/attempts";
import { CAPTURED, KUBELET_READY, nodeObject, watcherWorld, type ApiNodeCondition, type WatcherWorld } from "./sim/nodeWatch";

const GROUP = { "miles-cluster.io/node-group": "h100" };
const health = healthWatchList(30);
const ENV = {
    NAMESPACE: "miles",
    RUN: "training",
    POD_SELECTOR: "x",
    NODE_SELECTORS: encodeURIComponent("miles-cluster.io/node-group=h100"),
    SENTINEL: "/shared/control/training/save-now",
    TRACKER: "/shared/checkpoints/training/latest_checkpointed_iteration.txt",
    EVENTS_DIR: "/shared/checkpoints/training/run-records/events",
    WATCH: "",
    CONDITIONS: health.map((h) => `${h.condition}=${h.seconds}`).join(" "),
    UNHEALTHY_SECONDS: String(Math.min(...health.map((h) => h.seconds))),
    DELETE_GRACE_SECONDS: String(POD_DELETE_GRACE_SECONDS),
};

/** What healthTaintPatch makes of a node's taints and annotations for its conditions. */
function expected(taints: Taint[], conditions: ApiNodeCondition[], annotations: Record<string, string>) {
    const p = healthTaintPatch(taints, nodeVerdict({ conditions: [...KUBELET_READY, ...conditions] }));
    const a: Record<string, string> = { ...annotations };
    for (const [k, v] of Object.entries(p.metadata.annotations)) if (v === null) delete a[k];
    else a[k] = v;
    return { taints: p.spec.taints, annotations: a };
}

describe("run node watcher: the node monitoring agent's conditions (issue 22)", function () {
    this.timeout(30000);
    const worlds: WatcherWorld[] = [];
    const world = () => {
        const w = watcherWorld(NODE_WATCH_SCRIPT, ENV);
        worlds.push(w);
        return w;
    };
    after(() => worlds.forEach((w) => w.done()));
    const runOn = (w: WatcherWorld, nodes: string[]) => w.setPods(nodes.map((n, i) => ({ name: `training-raycluster-gpu-worker-${i}`, node: n })));

    it("the captures parse to the conditions the agent sets (AcceleratedHardwareReady, NetworkingReady: False)", () => {
        const ahr = CAPTURED.acceleratedHardwareReady();
        const net = CAPTURED.networkingReady();
        assert.deepEqual([ahr.type, ahr.status, ahr.reason], ["AcceleratedHardwareReady", "False", "DCGMHealthCode122"]);
        assert.deepEqual([net.type, net.status, net.reason, net.lastTransitionTime], ["NetworkingReady", "False", "IPAMDNotReady", "2026-07-31T14:16:11Z"]);
        assert.deepEqual(monitoringProblems([ahr, net]).map((r) => r.split(" ")[0]), ["AcceleratedHardwareReady=False", "NetworkingReady=False"]);
    });

    describe("AcceleratedHardwareReady=False (captured) on one of the run's two nodes", () => {
        let w: WatcherWorld;
        const taints = [GPU_TAINT];
        const cond = CAPTURED.acceleratedHardwareReady();
        let annotations: Record<string, string>;
        let out: string;
        before(() => {
            w = world();
            w.setNode({ name: "gpu-1", labels: GROUP, taints });
            w.setNode({ name: "gpu-2", labels: GROUP, taints, conditions: [cond] });
            runOn(w, ["gpu-1", "gpu-2"]);
            annotations = nodeObjectAnnotations(w, "gpu-2");
            out = w.pass();
        });

        it("the node is tainted and annotated as healthTaintPatch says, recorded excluded, and the save asked at once; no pod deleted yet", () => {
            const want = expected(taints, [cond], annotations);
            assert.deepEqual(w.node("gpu-2").spec.taints, want.taints);
            assert.deepEqual(w.node("gpu-2").metadata.annotations, want.annotations);
            assert.equal(want.annotations[UNHEALTHY_REASON_ANNOTATION], "AcceleratedHardwareReady=False (DCGMHealthCode122: DCGM detected issues in health check system with error code 122)");
            assert.deepEqual(w.node("gpu-1").spec.taints, taints, "the healthy node is left alone");
            assert.ok(fs.existsSync(w.sentinel), out);
            assert.deepEqual(w.events().map((e) => [e.kind, e.node, e.outcome]), [[NODE_HEALTH_EVENT_KIND, "gpu-2", "excluded"], [NODE_HEALTH_EVENT_KIND, "gpu-2", "save-requested"]]);
            assert.equal(w.events()[0].event, want.annotations[UNHEALTHY_REASON_ANNOTATION]);
            assert.deepEqual(w.deleted(), []);
        });

        it("the run saves: 'saved', then only the run's pods on that node are deleted (grace period overridden), 'restarted'; nothing is asked twice", () => {
            w.save();
            w.pass();
            assert.deepEqual(w.events().map((e) => e.outcome), ["excluded", "save-requested", "saved", "restarted"]);
            assert.deepEqual(w.deleted().map((l) => l.split(" ")[0]), ["training-raycluster-gpu-worker-1"]);
            assert.match(w.deleted()[0], new RegExp(`/api/v1/namespaces/miles/pods/training-raycluster-gpu-worker-1\\?gracePeriodSeconds=${POD_DELETE_GRACE_SECONDS}$`));
            assert.deepEqual(w.pods().map((p) => p.node), ["gpu-1"]);
            assert.ok(fs.existsSync(`${w.sentinel.replace(/save-now$/, "")}saved-at`), "saved-at written: a preStop save does not run again");
            w.pass();
            assert.equal(w.events().length, 4, "the same node and boot is not handled twice");
            assert.equal(w.calls().filter((c) => c.startsWith("PATCH")).length, 2, "one annotation patch, one taint patch");
        });
    });

    describe("a save that does not come, a node already kept out, and healthy nodes, in one run", () => {
        let w: WatcherWorld;
        before(() => {
            w = world();
            w.setNode({ name: "gpu-2", labels: GROUP, taints: [GPU_TAINT], conditions: [CAPTURED.networkingReady()] });
            w.setNode({ name: "gpu-3", labels: GROUP, taints: [GPU_TAINT, UNHEALTHY_TAINT], annotations: { [UNHEALTHY_REASON_ANNOTATION]: "dcgmi diag Integration/pcie: Fail" } });
            w.setNode({ name: "gpu-4", labels: GROUP, taints: [GPU_TAINT], conditions: NODE_MONITORING_CONDITIONS.map((type) => ({ type, status: "True" as const, reason: `${type}IsReady` })) });
            w.setNode({ name: "gpu-5", labels: GROUP, taints: [GPU_TAINT], conditions: [{ type: "DiskPressure", status: "False", reason: "KubeletHasNoDiskPressure" }] });
            runOn(w, ["gpu-2", "gpu-3", "gpu-4", "gpu-5"]);
            w.pass();
        });

        it("our taint already on a node of the run (the boot check, another run's watcher): no patch of it, excluded with its recorded reason", () => {
            assert.ok(!w.calls().some((c) => c.startsWith("PATCH") && c.includes("/nodes/gpu-3")));
            assert.deepEqual(w.events().filter((e) => e.node === "gpu-3").map((e) => [e.event, e.outcome]), [["dcgmi diag Integration/pcie: Fail", "excluded"], ["dcgmi diag Integration/pcie: Fail", "save-requested"]]);
        });

        it("negative controls: every condition True, or only the kubelet's conditions False, asks nothing and patches nothing", () => {
            assert.deepEqual(w.events().filter((e) => e.node === "gpu-4" || e.node === "gpu-5"), []);
            assert.ok(!w.calls().some((c) => c.startsWith("PATCH") && /\/nodes\/gpu-[45]/.test(c)));
        });

        it("the save does not come (hung collective): at the deadline the sentinel is removed, 'not-saved', the pods on both bad nodes deleted, the healthy ones kept", () => {
            w.timePasses();
            w.pass();
            assert.ok(!fs.existsSync(w.sentinel));
            assert.deepEqual(w.events().filter((e) => e.node === "gpu-2").map((e) => e.outcome), ["excluded", "save-requested", "not-saved", "restarted"]);
            assert.deepEqual(w.events().filter((e) => e.node === "gpu-3").map((e) => e.outcome), ["excluded", "save-requested", "not-saved", "restarted"]);
            assert.deepEqual(w.pods().map((p) => p.node), ["gpu-4", "gpu-5"]);
        });
    });

    describe("a sentinel another save job owns (the pre-replacement or end-of-block save)", () => {
        const start = (w: WatcherWorld) => {
            w.setNode({ name: "gpu-1", labels: GROUP, taints: [GPU_TAINT], conditions: [CAPTURED.acceleratedHardwareReady()] });
            runOn(w, ["gpu-1"]);
        };
        it("already there when the node fails: the watcher's deadline does not remove it (the job that created it does, at its own deadline)", () => {
            const w = world();
            start(w);
            fs.mkdirSync(path.dirname(w.sentinel), { recursive: true });
            fs.writeFileSync(w.sentinel, "");
            w.pass();
            w.timePasses();
            w.pass();
            assert.ok(fs.existsSync(w.sentinel), "the other job's sentinel stays");
            assert.deepEqual(w.events().map((e) => e.outcome), ["excluded", "save-requested", "not-saved", "restarted"]);
        });
        it("removed without a checkpoint (that job gave up): 'not-saved', no saved-at (with the tracker rewritten it is 'saved': the AcceleratedHardwareReady case above)", () => {
            const w = world();
            start(w);
            w.pass();
            w.giveUp();
            w.pass();
            assert.deepEqual(w.events().map((e) => e.outcome), ["excluded", "save-requested", "not-saved", "restarted"]);
            assert.ok(!fs.existsSync(`${w.sentinel.replace(/save-now$/, "")}saved-at`));
        });
    });

    it("the sh verdict equals healthTaintPatch on variants: two watched conditions False (node order), one True, kubelet's, quotes and a backslash in a message, the pending taint, no taints", () => {
        const w = world();
        const variants: Record<string, { taints: Taint[]; conditions: ApiNodeCondition[] }> = {
            "gpu-1": { taints: [GPU_TAINT, HEALTH_PENDING_TAINT], conditions: [CAPTURED.networkingReady(), { type: "KernelReady", status: "True", reason: "KernelIsReady" }, CAPTURED.acceleratedHardwareReady()] },
            "gpu-2": { taints: [], conditions: [{ type: "StorageReady", status: "False", reason: "XFSSmallAverageClusterSize", message: 'fs "/" is "slow", see \\docs' }, { type: "ContainerRuntimeReady", status: "False" }] },
        };
        const before: Record<string, Record<string, string>> = {};
        for (const [name, v] of Object.entries(variants)) {
            w.setNode({ name, labels: GROUP, ...v });
            before[name] = nodeObjectAnnotations(w, name);
        }
        runOn(w, Object.keys(variants));
        w.pass();
        for (const [name, v] of Object.entries(variants)) {
            const want = expected(v.taints, v.conditions, before[name]);
            assert.deepEqual(w.node(name).spec.taints, want.taints, name);
            assert.deepEqual(w.node(name).metadata.annotations, want.annotations, name);
        }
    });

    it("nodes of the run's group already kept out: one 'excluded' per node and boot once the run has pods; none before; none for another group's node", () => {
        const w = world();
        const bad = { name: "gpu-9", labels: GROUP, taints: [GPU_TAINT, UNHEALTHY_TAINT], annotations: { [UNHEALTHY_REASON_ANNOTATION]: "EFA: 15 of 16 devices present" } };
        w.setNode(bad);
        w.setNode({ name: "other-1", labels: { "miles-cluster.io/node-group": "h200" }, taints: [UNHEALTHY_TAINT] });
        w.setNode({ name: "gpu-1", labels: GROUP, taints: [GPU_TAINT] });
        w.pass();
        assert.deepEqual(w.events(), [], "the run has no pods yet: nothing to record");
        runOn(w, ["gpu-1"]);
        w.pass();
        w.pass();
        assert.deepEqual(w.events().map((e) => [e.node, e.event, e.outcome]), [["gpu-9", "EFA: 15 of 16 devices present", "excluded"]]);
        assert.ok(!fs.existsSync(w.sentinel), "a node the run is not on asks no save");
        // The node reboots and its check keeps it out again: a new taint instance, a new event.
        w.setNode({ ...bad, bootID: "boot-2" });
        w.pass();
        assert.equal(w.events().length, 2);
        // `miles-cluster runs`: the attempt lists it though the event came before train.py's start.
        const at = (m: number) => new Date(Date.parse(w.events()[0].at) + m * 60_000).toISOString();
        const a = runAttempts([{ file: "1.json", startedAt: at(5), status: "running", nodes: 1, gpusPerNode: 8, deployKey: "k" }], w.events(), []);
        assert.deepEqual(a[0].excludedNodes.map((x) => [x.node, x.reason]), [["gpu-9", `${NODE_HEALTH_EVENT_KIND}: EFA: 15 of 16 devices present`]]);
    });

    it("the JSON reader gives the same paths and values for the API server's pretty-printed and compact answers, braces and escapes in strings included", () => {
        const node = nodeObject({ name: "gpu-1", taints: [GPU_TAINT], conditions: [{ type: "StorageReady", status: "False", reason: "X", message: 'a {"b": [1, 2]}, \\ c' }] });
        const flat = (text: string) => {
            const r = spawnSync("awk", [JSON_FLAT_AWK], { input: text, encoding: "utf8" });
            assert.equal(r.status, 0, r.stderr);
            return r.stdout;
        };
        const pretty = flat(JSON.stringify(node, null, 2));
        assert.equal(flat(JSON.stringify(node)), pretty);
        assert.match(pretty, /^\.status\.conditions\[2\]\.message\ta \{"b": \[1, 2\]\}, \\ c$/m);
        assert.match(pretty, /^\.spec\.taints\[0\]\.key\tnvidia\.com\/gpu$/m);
    });

    it("the wait for the save ends before EKS auto repair acts on each condition, and within saveTimeoutMinutes", () => {
        // EKS user guide node-repair.html: AcceleratedHardwareReady is repaired after 10 min, the other conditions after 30.
        const repairAfter: Record<string, number> = { AcceleratedHardwareReady: 600, NetworkingReady: 1800, KernelReady: 1800, StorageReady: 1800, ContainerRuntimeReady: 1800 };
        assert.deepEqual(healthWatchList(30).map((h) => [h.condition, h.seconds]), [["AcceleratedHardwareReady", 480], ["NetworkingReady", 1680], ["KernelReady", 1680], ["StorageReady", 1680], ["ContainerRuntimeReady", 1680]]);
        for (const timeout of [5, 30, 120]) {
            for (const h of healthWatchList(timeout)) {
                const repair = repairAfter[h.condition];
                assert.ok(h.seconds > 0 && h.seconds <= timeout * 60, `${timeout} ${h.condition} ${h.seconds}`);
                // A poll to see the condition, the deadline, a poll to act on it, the pods' grace period: all before the repair.
                assert.ok(2 * NODE_WATCH_POLL_SECONDS + h.seconds + POD_DELETE_GRACE_SECONDS < repair, `${h.condition}: the pods are gone before the repair`);
            }
        }
        assert.deepEqual(healthWatchList(30).map((h) => h.condition), [...NODE_MONITORING_CONDITIONS]);
    });

    it("the save's deadline is the condition's repair bound (lastTransitionTime + repair − margin) when the watcher sees it late; its own wait when sooner; a past bound is ignored", () => {
        // The awk date arithmetic against JavaScript's on leap days, month and year edges.
        const ts = ["1970-01-01T00:00:00Z", "2000-02-29T12:34:56Z", "2024-03-01T00:00:00Z", "2026-07-31T14:16:11Z", "2026-12-31T23:59:59Z", "2100-03-01T00:00:01Z"];
        const nodes = ts.map((t, i) => ({ metadata: { name: `n${i}` }, status: { conditions: [{ type: "AcceleratedHardwareReady", status: "False", lastTransitionTime: t }] } }));
        const flat = spawnSync("awk", [JSON_FLAT_AWK], { input: JSON.stringify({ items: nodes }), encoding: "utf8" }).stdout;
        const health = spawnSync("awk", ["-v", "conditions=AcceleratedHardwareReady=480", "-v", "repair=AcceleratedHardwareReady=0", NODE_HEALTH_AWK], { input: flat, encoding: "utf8" });
        assert.equal(health.status, 0, health.stderr);
        const due = health.stdout.split("\n").filter((l) => l.startsWith("N\t")).map((l) => Number(l.split("\t")[6]));
        assert.deepEqual(due, ts.map((t) => Date.parse(t) / 1000));

        // Three nodes of one run whose condition went False 7, 0 and 60 minutes ago; one pass.
        const w = world();
        const ago = { late: 7, fresh: 0, old: 60 };
        for (const [name, minutes] of Object.entries(ago)) {
            const at = new Date(Math.floor(Date.now() / 1000 - minutes * 60) * 1000).toISOString().replace(/\.000Z$/, "Z");
            w.setNode({ name, labels: GROUP, taints: [GPU_TAINT], conditions: [{ ...CAPTURED.acceleratedHardwareReady(), lastTransitionTime: at }] });
        }
        runOn(w, Object.keys(ago));
        w.pass({ REPAIR: repairBoundList() });
        const dir = path.join(path.dirname(w.eventsDir), NODE_WATCH, "pending");
        const left = Object.fromEntries(
            fs.readdirSync(dir).map((f) => {
                const [, node, deadline] = fs.readFileSync(path.join(dir, f), "utf8").split(" ");
                return [node, Number(deadline) - Date.now() / 1000];
            }),
        );
        // 7 min late: 10 − 2 − 7 = 1 min left, not the 8 min of its own wait.
        assert.ok(left.late > 50 && left.late < 70, JSON.stringify(left));
        // Seen at once: the 8 min of its own wait (the bound is the same).
        assert.ok(left.fresh > 470 && left.fresh < 490, JSON.stringify(left));
        // A bound already past (the condition is old: auto repair is not coming, or off): its own wait.
        assert.ok(left.old > 470 && left.old < 490, JSON.stringify(left));
    });

    it("backoffLimit 0 is warned (a health restart would end the run); the plan's line says so, and on bring-your-own names the agent as optional and no auto-repair bound", async () => {
        const zero = parseOneNode({ lifecycle: { backoffLimit: 0 } });
        assert.deepEqual(zero.problems, []);
        assert.match(trainingWarnings(runOf(zero.config!)).join("\n"), /training\.lifecycle\.backoffLimit: is 0/);
        assert.deepEqual(trainingWarnings(runOf(parseOneNode({}).config!)).filter((w) => /backoffLimit/.test(w)), [], "negative control: the default 2");
        const watchLine = async (stack: string) => JSON.stringify(renderText(await planStack(stack)).split("\n").filter((l) => /^\s+node watch\s/.test(l)));
        const byo = await watchLine("byo");
        assert.match(byo, /if the cluster runs eks-node-monitoring-agent/);
        assert.doesNotMatch(byo, /EKS auto repair/);
        assert.match(await watchLine("prod"), /never past the condition.s lastTransitionTime \+ EKS auto repair.s delay/);
    });
});

function nodeObjectAnnotations(w: WatcherWorld, name: string): Record<string, string> {
    return { ...(w.node(name).metadata.annotations as Record<string, string>) };
}

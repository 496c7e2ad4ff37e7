/**
 * Spot interruption handling on real captured inputs: the EC2 events as AWS documents them
 * (test/fixtures/spot), the chart's values at the pinned version, the save watcher's script under
 * /bin/sh with a stand-in API server, and the run's attempts from Kueue Workloads as Kueue documents
 * them (test/fixtures/kueue).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "./harness";
import { milesSaves } from "./sim/spotReclaim";
import { CHARTS } from "../catalog/versions";
import { NTH_TAINTS, SPOT_NOTICE_SECONDS } from "../catalog/spotInterruption";
import { parseSpotEvent, type SpotEvent } from "../domain/lifecycle/spotEvents";
import { nodeTerminationHandlerPolicy, nodeTerminationHandlerValues, spotEventRules, spotGroupsOf, spotQueuePolicy } from "../domain/lifecycle/spot";
import { NODE_WATCH_SCRIPT, spotWatchList } from "../domain/lifecycle/nodeWatch";
import { RUN_EVENT_SCHEMA, RUN_RECORD_SCHEMA, runRecordsCommand, workloadsFile } from "../domain/training/runRecord";
import { readRunRecords, renderRunRecords } from "../cli/runs";
import { runAttempts, workloadConditions, type AttemptRecord, type RunEvent } from "../domain/training/attempts";
import type { GpuNodeGroupConfig } from "../config/cluster";
import { pastDeadline, watcherSandbox, writePods } from "./sim/spotReclaim";

type Obj = Record<string, any>;
const fixture = (...p: string[]) => JSON.parse(fs.readFileSync(path.join(ROOT, "test", "fixtures", ...p), "utf8"));
const ITN = fixture("spot", "ec2-spot-instance-interruption-warning.json");
const REBALANCE = fixture("spot", "ec2-instance-rebalance-recommendation.json");

/** EventBridge's matching for the patterns we write: every key's value list contains the event's value (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html). */
function matches(pattern: Obj, event: Obj): boolean {
    return Object.entries(pattern).every(([k, v]) => (Array.isArray(v) ? v.includes(event[k]) : matches(v, event[k] ?? {})));
}

describe("spot interruption: the EC2 events as AWS documents them", () => {
    it("the interruption warning parses to its instance and a deadline two minutes on; the rebalance recommendation to none", () => {
        const itn = parseSpotEvent(ITN) as SpotEvent;
        assert.equal(itn.kind, "spotInterruption");
        assert.equal(itn.instanceId, "i-1234567890abcdef0");
        assert.equal(itn.action, "terminate");
        assert.equal(itn.interruptionAt!.getTime() - itn.time.getTime(), SPOT_NOTICE_SECONDS * 1000);
        const rb = parseSpotEvent(REBALANCE) as SpotEvent;
        assert.equal(rb.kind, "rebalanceRecommendation");
        assert.equal(rb.interruptionAt, undefined);
    });

    it("negative controls: another EC2 event, a bad instance id or time is refused with the reason", () => {
        assert.match((parseSpotEvent({ ...ITN, "detail-type": "EC2 Instance State-change Notification" }) as { error: string }).error, /not a spot interruption/);
        assert.match((parseSpotEvent({ ...ITN, detail: { "instance-id": "vol-1" } }) as { error: string }).error, /instance-id/);
        assert.match((parseSpotEvent({ ...ITN, time: "yyyy-mm-ddThh:mm:ssZ" }) as { error: string }).error, /time/);
    });

    it("each event matches exactly one of our EventBridge rules; an event of another source matches none", () => {
        const rules = spotEventRules().map((r) => ({ kind: r.kind, pattern: JSON.parse(r.eventPattern) }));
        assert.deepEqual(rules.filter((r) => matches(r.pattern, ITN)).map((r) => r.kind), ["spotInterruption"]);
        assert.deepEqual(rules.filter((r) => matches(r.pattern, REBALANCE)).map((r) => r.kind), ["rebalanceRecommendation"]);
        assert.deepEqual(rules.filter((r) => matches(r.pattern, { ...ITN, source: "aws.health" })), []);
    });

    it("the queue takes messages only from events.amazonaws.com on behalf of our rules; the handler may only receive and delete on it", () => {
        const p = spotQueuePolicy("arn:aws:sqs:us-west-2:1:q", ["arn:r1", "arn:r2"]) as Obj;
        assert.equal(p.Statement.length, 1);
        assert.deepEqual(p.Statement[0].Principal, { Service: "events.amazonaws.com" });
        assert.equal(p.Statement[0].Action, "sqs:SendMessage");
        assert.deepEqual(p.Statement[0].Condition, { ArnEquals: { "aws:SourceArn": ["arn:r1", "arn:r2"] } });
        const h = nodeTerminationHandlerPolicy("arn:aws:sqs:us-west-2:1:q") as Obj;
        const sqs = h.Statement.filter((s: Obj) => s.Action.some((a: string) => a.startsWith("sqs:")));
        assert.deepEqual(sqs.map((s: Obj) => s.Resource), ["arn:aws:sqs:us-west-2:1:q"]);
        const all = h.Statement.flatMap((s: Obj) => s.Action);
        assert.ok(!all.includes("autoscaling:CompleteLifecycleAction"), "no ASG lifecycle rule feeds the queue: no lifecycle completion");
        assert.ok(all.every((a: string) => /^(sqs:(ReceiveMessage|DeleteMessage)|ec2:Describe|autoscaling:Describe)/.test(a)), all.join(","));
    });

    it("only spot groups count as spot", () => {
        const g = (type: string) => ({ name: type, instanceType: "p5.48xlarge", nodes: 1, capacity: { type }, scaling: "auto" }) as unknown as GpuNodeGroupConfig;
        assert.deepEqual(spotGroupsOf([g("on-demand"), g("spot")]).map((x) => x.name), ["spot"]);
    });
});

describe(`spot interruption: aws-node-termination-handler ${CHARTS.nodeTerminationHandler.version} values`, () => {
    const tsv = fs.readFileSync(path.join(ROOT, "test", "fixtures", `aws-node-termination-handler-${CHARTS.nodeTerminationHandler.version}.values-paths.tsv`), "utf8");
    const chart = new Map(tsv.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split("\t") as [string, string]));
    const values = nodeTerminationHandlerValues("us-west-2", "https://sqs.us-west-2.amazonaws.com/1/q");

    it("writes only keys the pinned chart has", () => {
        const walk = (o: Obj, p: string): void => {
            for (const [k, v] of Object.entries(o)) {
                const q = p ? `${p}.${k}` : k;
                const kind = chart.get(q);
                assert.ok(kind, `${q} is not a value of aws-node-termination-handler ${CHARTS.nodeTerminationHandler.version}`);
                if (kind === "map" && v && typeof v === "object" && !Array.isArray(v)) walk(v, q);
            }
        };
        walk(values, "");
        // Negative control: the walk refuses a key the chart does not have.
        assert.throws(() => walk({ taintNodes: true }, ""), /taintNodes is not a value/);
    });

    it("queue processor mode, taints on, the queue and region set", () => {
        assert.equal(values.enableSqsTerminationDraining, true);
        assert.equal(values.taintNode, true);
        assert.equal(values.queueURL, "https://sqs.us-west-2.amazonaws.com/1/q");
        assert.equal(values.awsRegion, "us-west-2");
    });
});

// ---------------------------------------------------------------------------------------------
// The watcher under /bin/sh, against a stand-in API server: pods → nodes → taints.

const node = (name: string, taints: Obj[]) => JSON.stringify({ kind: "Node", metadata: { name }, spec: { taints, providerID: `aws:///us-west-2a/i-${name}` } }, null, 2);
const pods = (nodes: string[]) => nodes.map((n, i) => ({ metadata: { name: `p${i}` }, spec: { nodeName: n, containers: [{ name: "ray-worker" }] } }));

function watcher(setupFake: (fake: string) => void, steps = 1, removeSentinelAfter?: number) {
    const box = watcherSandbox("spot-save-");
    const { dir, fake } = box;
    setupFake(fake);
    const sentinel = path.join(dir, "shared", "control", "mimo-mtp", "save-now");
    const events = path.join(dir, "shared", "checkpoints", "mimo-mtp", "run-records", "events");
    const tracker = path.join(dir, "shared", "checkpoints", "mimo-mtp", "latest_checkpointed_iteration.txt");
    const env = { ...box.env, NAMESPACE: "miles", RUN: "mimo-mtp", POD_SELECTOR: "x", SENTINEL: sentinel, TRACKER: tracker, EVENTS_DIR: events, WATCH: spotWatchList(30) };
    let out = "";
    for (let i = 0; i < steps; i++) {
        if (removeSentinelAfter !== undefined && i === removeSentinelAfter) milesSaves(sentinel, tracker);
        const r = spawnSync("/bin/sh", ["-c", NODE_WATCH_SCRIPT], { env, encoding: "utf8", timeout: 10000 });
        assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
        out += r.stdout + r.stderr;
    }
    const notes = fs.existsSync(events) ? fs.readdirSync(events).sort().map((f) => JSON.parse(fs.readFileSync(path.join(events, f), "utf8"))) : [];
    return { dir, env, out, sentinel, notes, savedAt: path.join(path.dirname(sentinel), "saved-at") };
}

describe("spot save watcher (its script under /bin/sh, a stand-in API server)", function () {
    this.timeout(20000);
    const itnTaint = { key: NTH_TAINTS.spotInterruption, value: "spot-itn-event-31323334", effect: "NoSchedule", timeAdded: "2026-12-07T14:00:03Z" };

    it("a spot interruption taint on a node of the run: the sentinel at once, then 'saved' when the run removes it", () => {
        // Pass 1 sees the taint; the run then saves (removes the sentinel); pass 2 records it; pass 3 does not ask again for the same event.
        const w2 = watcher((f) => {
            writePods(f, pods(["ip-10-0-0-1", "ip-10-0-0-1"]));
            fs.writeFileSync(path.join(f, "node-ip-10-0-0-1.json"), node("ip-10-0-0-1", [{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }, itnTaint]));
        }, 3, 1);
        assert.match(w2.out, /spot-interruption on node ip-10-0-0-1 \(spot-itn-event-31323334\): asked the run to save/);
        assert.equal(w2.out.match(/asked the run to save/g)?.length, 1, w2.out);
        assert.deepEqual(w2.notes.map((n) => [n.schema, n.kind, n.node, n.outcome]), [[RUN_EVENT_SCHEMA, "spot-interruption", "ip-10-0-0-1", "save-requested"], [RUN_EVENT_SCHEMA, "spot-interruption", "ip-10-0-0-1", "saved"]]);
        assert.ok(fs.existsSync(w2.savedAt), "saved-at written: the pods' preStop does not save again");
        assert.ok(!fs.existsSync(w2.sentinel));
    });

    it("negative controls: no taint, or a tainted node the run is not on, asks for nothing", () => {
        const w = watcher((f) => {
            writePods(f, pods(["ip-10-0-0-1"]));
            fs.writeFileSync(path.join(f, "node-ip-10-0-0-1.json"), node("ip-10-0-0-1", [{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }]));
            fs.writeFileSync(path.join(f, "node-ip-10-0-0-2.json"), node("ip-10-0-0-2", [itnTaint]));
        }, 1);
        assert.ok(!fs.existsSync(w.sentinel), w.out);
        assert.deepEqual(w.notes, []);
    });

    it("a save that cannot finish before the deadline: the sentinel is removed (the next attempt does not save at once) and 'not-saved' recorded", () => {
        const w = watcher((f) => {
            writePods(f, pods(["ip-10-0-0-1"]));
            fs.writeFileSync(path.join(f, "node-ip-10-0-0-1.json"), node("ip-10-0-0-1", [itnTaint]));
        }, 1);
        // Move the deadline into the past, as if the notice's window had gone by.
        pastDeadline(path.join(w.dir, "shared", "checkpoints", "mimo-mtp", "run-records"));
        const r = spawnSync("/bin/sh", ["-c", NODE_WATCH_SCRIPT], { env: w.env, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /did not save before the deadline/);
        assert.ok(!fs.existsSync(w.sentinel));
        const events = path.join(w.dir, "shared", "checkpoints", "mimo-mtp", "run-records", "events");
        assert.deepEqual(fs.readdirSync(events).sort().map((f) => JSON.parse(fs.readFileSync(path.join(events, f), "utf8")).outcome), ["save-requested", "not-saved"]);
    });
});

// ---------------------------------------------------------------------------------------------
// Attempts from Kueue's Workload conditions (test/fixtures/kueue) and the watcher's events.

const rec = (startedAt: string, endedAt: string | undefined, status: string, deployKey = "a"): AttemptRecord => ({ file: `${startedAt}.json`, startedAt, endedAt, status, nodes: 1, gpusPerNode: 8, usdPerNodeHour: 22, deployKey, ...(status === "failed" ? { exitCode: 1 } : {}) });
const ev = (kind: string, node: string, outcome: string, at: string): RunEvent => ({ run: "mimo-mtp", kind, node, event: "spot-itn-event-31323334", outcome, at });

describe("attempt records: why each attempt ended, nodes left out, GPU-hours from the admission", () => {
    it("reads the Workload conditions Kueue documents (Admitted, Evicted/Preempted, Finished)", () => {
        assert.deepEqual(workloadConditions(fixture("kueue", "workload-admitted.json")).map((c) => `${c.type}=${c.status}`), ["QuotaReserved=True", "Admitted=True"]);
        const pre = workloadConditions(fixture("kueue", "workload-preempted.json"));
        assert.deepEqual(pre.find((c) => c.type === "Evicted")?.reason, "Preempted");
        assert.deepEqual(pre.find((c) => c.type === "Preempted")?.reason, "InClusterQueue");
        assert.deepEqual(workloadConditions({ kind: "WorkloadList", items: [fixture("kueue", "workload-finished.json")] }).find((c) => c.type === "Finished")?.reason, "Succeeded");
    });

    it("a spot reclaim mid-run: attempt 1 ends 'spot reclaim' with the node excluded; attempt 2's GPU-hours start at attempt 1's end, attempt 1's at the admission", () => {
        const admitted = workloadConditions(fixture("kueue", "workload-admitted.json")); // Admitted at 12:00
        const a = runAttempts(
            [rec("2026-12-07T12:10:00Z", undefined, "running"), rec("2026-12-07T14:09:00Z", "2026-12-07T18:00:00Z", "succeeded")],
            [ev("spot-interruption", "ip-10-0-0-1", "save-requested", "2026-12-07T14:00:05Z"), ev("spot-interruption", "ip-10-0-0-1", "saved", "2026-12-07T14:01:10Z")],
            admitted,
        );
        assert.equal(a[0].endReason, "spot reclaim");
        assert.match(a[0].endBasis, /ip-10-0-0-1.*spot-interruption saved at 2026-12-07T14:01:10Z.*resumes from the save written at 2026-12-07T14:01:10Z/);
        assert.equal(a[0].gpusFromBasis, "admission");
        assert.equal(a[0].gpusFrom, "2026-12-07T12:00:00Z");
        // 12:00 → 14:09 (the record has no end: the head died with the node; the next start closes it) on 8 GPUs.
        assert.equal(a[0].gpuHours, Math.round(((129 / 60) * 8) * 1000) / 1000);
        assert.deepEqual(a[0].excludedNodes.map((x) => x.node), ["ip-10-0-0-1"]);
        assert.equal(a[1].endReason, "succeeded");
        assert.equal(a[1].gpusFromBasis, "previous attempt");
        assert.deepEqual(a[1].excludedNodes.map((x) => x.node), ["ip-10-0-0-1"]);
    });

    it("preemption, the block end and node failures come from the Evicted condition's reason; a new image/commit/argv is a deploy change", () => {
        const one = (wl: string, status = "failed") => runAttempts([rec("2026-12-07T12:10:00Z", "2026-12-07T15:00:30Z", status)], [], workloadConditions(fixture("kueue", wl)))[0];
        assert.equal(one("workload-preempted.json").endReason, "preempted");
        assert.match(one("workload-preempted.json").endBasis, /InClusterQueue/);
        assert.equal(one("workload-deactivated.json").endReason, "block end");
        const deploy = runAttempts([rec("2026-12-07T12:10:00Z", "2026-12-07T13:00:00Z", "failed", "a"), rec("2026-12-07T13:05:00Z", undefined, "running", "b")], [], []);
        assert.deepEqual(deploy.map((x) => x.endReason), ["deploy change", "running"]);
        // A node another watcher kept out (outcome "excluded") and one the record lists itself are excluded too.
        const health = runAttempts([{ ...rec("2026-12-07T12:10:00Z", undefined, "running"), excludedNodes: [{ node: "ip-3", reason: "dcgmi diag: pcie Fail" }] }], [{ run: "mimo-mtp", kind: "node-health", node: "ip-4", event: "AcceleratedHardwareReady=False", outcome: "excluded", at: "2026-12-07T12:20:00Z" }], []);
        assert.deepEqual(health[0].excludedNodes.map((x) => [x.node, x.reason]), [["ip-4", "node-health: AcceleratedHardwareReady=False"], ["ip-3", "dcgmi diag: pcie Fail"]]);
        // Negative control: the same records, the same deployment, nothing evicted: a plain failure, GPU-hours from train.py's start.
        const plain = runAttempts([rec("2026-12-07T12:10:00Z", "2026-12-07T13:00:00Z", "failed")], [], []);
        assert.equal(plain[0].endReason, "failed");
        assert.equal(plain[0].gpusFromBasis, "train.py start");
        // An eviction outside the attempt's window is not its reason.
        const later = runAttempts([rec("2026-12-07T10:00:00Z", "2026-12-07T11:00:00Z", "failed")], [], workloadConditions(fixture("kueue", "workload-preempted.json")));
        assert.equal(later[0].endReason, "failed");
    });
});

describe("`miles-cluster runs`: the attempts beside the records, from the copied events and Workloads", () => {
    it("each record carries its attempt; the copy command also copies a queued namespace's Workloads", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "attempts-"));
        try {
            const base = { schema: RUN_RECORD_SCHEMA, stack: "spec-mtp", run: "mimo-mtp", nodes: 1, gpusPerNode: 8, image: "img", gitCommit: "abc", argv: ["--x"] };
            fs.mkdirSync(path.join(tmp, "mimo-mtp", "events"), { recursive: true });
            fs.writeFileSync(path.join(tmp, "mimo-mtp", "2026-12-07T121000Z.json"), JSON.stringify({ ...base, startedAt: "2026-12-07T12:10:00Z", status: "running" }));
            fs.writeFileSync(path.join(tmp, "mimo-mtp", "2026-12-07T140900Z.json"), JSON.stringify({ ...base, startedAt: "2026-12-07T14:09:00Z", status: "running" }));
            fs.writeFileSync(path.join(tmp, "mimo-mtp", "events", "1-spot-interruption-save-requested.json"), JSON.stringify({ schema: RUN_EVENT_SCHEMA, ...ev("spot-interruption", "ip-10-0-0-1", "save-requested", "2026-12-07T14:00:05Z") }));
            fs.writeFileSync(path.join(tmp, workloadsFile("miles")), JSON.stringify({ kind: "WorkloadList", items: [fixture("kueue", "workload-admitted.json")] }));
            const rows = readRunRecords(tmp);
            assert.deepEqual(rows.map((r) => [r.startedAt, r.attempt?.n, r.attempt?.endReason, r.attempt?.gpusFromBasis]), [
                ["2026-12-07T14:09:00Z", 2, "running", "previous attempt"],
                ["2026-12-07T12:10:00Z", 1, "spot reclaim", "admission"],
            ]);
            assert.match(renderRunRecords(rows), /mimo-mtp #1 spot reclaim: spot interruption notice for node ip-10-0-0-1/);
            assert.match(renderRunRecords(rows), /excluded ip-10-0-0-1 since 2026-12-07T14:00:05Z/);
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
        const storage = { type: "efs", links: [] } as never;
        assert.match(runRecordsCommand("s", [{ runName: "r", namespace: "miles", checkpointDir: "/shared/checkpoints/r", queued: true }], storage), / && kubectl -n miles get workloads\.kueue\.x-k8s\.io -o json > \.\/run-records\/s\/workloads-miles\.json && npx miles-cluster runs --stack s$/);
        assert.doesNotMatch(runRecordsCommand("s", [{ runName: "r", namespace: "miles", checkpointDir: "/shared/checkpoints/r" }], storage), /workloads/);
    });
});

/**
 * The run node watcher's script (domain/lifecycle/nodeWatch.ts) under /bin/sh against a stand-in API
 * server (spotReclaim.ts watcherSandbox): its pods and nodes are files the caller writes and reads.
 * Also the node monitoring agent's conditions from the real captures of test/fixtures/health, as the
 * API server returns them.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Taint } from "../../catalog/nodeLabels";
import type { NodeCondition } from "../../domain/health/nodeHealth";
import type { RunEvent } from "../../domain/training/attempts";
import { SHARED_MOUNT_PATH } from "../../catalog/sharedPaths";
import { envOf, milesSaves, pastDeadline, watcherSandbox, writePods } from "./spotReclaim";
import type { Plan } from "../../plan/run";
import { objectsOf } from "./world";
import { kindOf } from "./awaits";
import { gangOf, placeGang, podsReadyOf, replay, type SimNode } from "./health";
import { NODE_REPAIR_AFTER_MINUTES } from "../../catalog/nodeHealth";
import { UNHEALTHY_REASON_ANNOTATION } from "../../domain/health/nodeHealth";
import { NODE_WATCH, POD_DELETE_GRACE_SECONDS } from "../../domain/lifecycle/nodeWatch";
import { runAttempts, type Attempt, type AttemptRecord } from "../../domain/training/attempts";

/** A NodeCondition as the API server returns it (metav1 times as RFC 3339). */
export interface ApiNodeCondition extends NodeCondition {
    lastHeartbeatTime?: string;
    lastTransitionTime?: string;
}

const fixture = (f: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", "health", f), "utf8");
const rfc3339 = (d: string) => new Date(d).toISOString().replace(/\.000Z$/, "Z");

/** A row of `kubectl describe node`'s Conditions table (columns two or more spaces apart) → the API's condition. */
export function conditionFromDescribe(row: string): ApiNodeCondition {
    const [type, status, heartbeat, transition, reason, message] = row.trim().split(/\s{2,}/);
    assert.ok(["True", "False", "Unknown"].includes(status), `not a Conditions row: ${row}`);
    return { type, status: status as NodeCondition["status"], lastHeartbeatTime: rfc3339(heartbeat), lastTransitionTime: rfc3339(transition), reason, message };
}

/** The agent's e2e print of a condition (`{Type:X Status:Y ... Reason:R Message:M}`) → the API's condition (its elided times left out). */
export function conditionFromE2e(text: string): ApiNodeCondition {
    const m = /\{Type:(\S+) Status:(\S+) .*?Reason:(\S+)\s+Message:([^}]*)\}/s.exec(text);
    assert.ok(m, `not an e2e condition print: ${text}`);
    return { type: m[1], status: m[2] as NodeCondition["status"], reason: m[3], message: m[4].trim() };
}

/** The real captures (test/fixtures/health/README.md). */
export const CAPTURED = {
    networkingReady: () => conditionFromDescribe(fixture("nma-networkingready-describe.txt")),
    acceleratedHardwareReady: () => conditionFromE2e(fixture("nma-acceleratedhardwareready-e2e.txt")),
};

/** The kubelet's own conditions of a healthy node (kubectl describe node), for realism: the watcher must skip them. */
export const KUBELET_READY: ApiNodeCondition[] = [
    { type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory", message: "kubelet has sufficient memory available" },
    { type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" },
];

export interface FakeNode {
    name: string;
    labels?: Record<string, string>;
    taints?: Taint[];
    annotations?: Record<string, string>;
    conditions?: ApiNodeCondition[];
    bootID?: string;
}

export function nodeObject(n: FakeNode) {
    return {
        kind: "Node",
        apiVersion: "v1",
        metadata: { name: n.name, labels: { "kubernetes.io/hostname": n.name, ...(n.labels ?? {}) }, annotations: { "node.alpha.kubernetes.io/ttl": "0", ...(n.annotations ?? {}) } },
        spec: { providerID: `aws:///us-east-1a/i-${n.name}`, ...(n.taints && n.taints.length ? { taints: n.taints } : {}) },
        status: { nodeInfo: { bootID: n.bootID ?? `boot-${n.name}` }, conditions: [...KUBELET_READY, ...(n.conditions ?? [])] },
    };
}

export interface WatcherWorld {
    dir: string;
    sentinel: string;
    eventsDir: string;
    setNode(n: FakeNode): void;
    node(name: string): ReturnType<typeof nodeObject>;
    setPods(pods: Array<{ name: string; node?: string; labels?: Record<string, string> }>): void;
    pods(): Array<{ name: string; node?: string }>;
    /** One pass of the watcher; `extraEnv` overrides the Deployment's env for this pass. */
    pass(extraEnv?: Record<string, string>): string;
    /** The run saves: miles removes the sentinel after the checkpoint is written. */
    save(): void;
    /** Another save job gives up: the sentinel goes, no checkpoint is written. */
    giveUp(): void;
    /** The deadlines of the saves waited for pass. */
    timePasses(): void;
    events(): RunEvent[];
    deleted(): string[];
    calls(): string[];
    done(): void;
}

/**
 * A watcher against a stand-in API server. `env`: the Deployment's env (its SENTINEL and EVENTS_DIR,
 * paths on the shared volume, are moved into the sandbox).
 */
export function watcherWorld(script: string, env: Record<string, string>): WatcherWorld {
    const box = watcherSandbox("node-watch-");
    const local = (p: string) => path.join(box.dir, "shared", p.slice(SHARED_MOUNT_PATH.length + 1));
    const sentinel = local(env.SENTINEL);
    const eventsDir = local(env.EVENTS_DIR);
    const tracker = local(env.TRACKER);
    const nodeFile = (name: string) => path.join(box.fake, `node-${name}.json`);
    const podsDir = path.join(box.fake, "pods");
    writePods(box.fake, []);
    const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
    return {
        dir: box.dir,
        sentinel,
        eventsDir,
        setNode: (n) => fs.writeFileSync(nodeFile(n.name), JSON.stringify(nodeObject(n), null, 2)),
        node: (name) => JSON.parse(fs.readFileSync(nodeFile(name), "utf8")),
        setPods: (pods) =>
            writePods(
                box.fake,
                pods.map((p) => ({ metadata: { name: p.name, namespace: env.NAMESPACE, labels: p.labels ?? {}, ownerReferences: [{ kind: "RayCluster", name: "rc" }] }, spec: { ...(p.node ? { nodeName: p.node } : {}), containers: [{ name: "ray-worker" }] }, status: { phase: p.node ? "Running" : "Pending" } })),
            ),
        pods: () =>
            fs
                .readdirSync(podsDir)
                .sort()
                .map((f) => JSON.parse(fs.readFileSync(path.join(podsDir, f), "utf8")))
                .map((p) => ({ name: p.metadata.name, node: p.spec.nodeName })),
        pass: (extraEnv = {}) => {
            const r = spawnSync("/bin/sh", ["-c", script], { env: { ...env, ...box.env, SENTINEL: sentinel, EVENTS_DIR: eventsDir, TRACKER: tracker, ...extraEnv }, encoding: "utf8", timeout: 20000 });
            assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
            return `${r.stdout}${r.stderr}`;
        },
        save: () => milesSaves(sentinel, tracker),
        giveUp: () => fs.rmSync(sentinel, { force: true }),
        timePasses: () => pastDeadline(path.dirname(eventsDir)),
        events: () => (fs.existsSync(eventsDir) ? fs.readdirSync(eventsDir).sort().map((f) => JSON.parse(fs.readFileSync(path.join(eventsDir, f), "utf8"))) : []),
        deleted: () => read(path.join(box.fake, "deleted")).split("\n").filter((l) => l !== ""),
        calls: () => read(path.join(box.fake, "calls")).split("\n").filter((l) => l !== ""),
        done: () => fs.rmSync(box.dir, { recursive: true, force: true }),
    };
}

// ---------------------------------------------------------------------------------------------
// Deployment simulation: a node of a running run goes unhealthy (issue 22).

/** One thing that happened, in minutes from the node monitoring agent's condition. */
export interface TimedStep {
    atMin: number;
    what: string;
}

export interface MidRunScenario {
    /** The node (by index in the run's placement) that gets AcceleratedHardwareReady=False. */
    badIndex: number;
    /** Seconds from the sentinel to the end of miles' step in progress and its save; Infinity: a collective hangs, no save comes. */
    saveSeconds: number;
    /** Minutes an instance that replaces the bad one takes to join and pass its check (an input). */
    joinMinutes: number;
}

export interface MidRunResult {
    steps: TimedStep[];
    badNode: string;
    /** The nodes the run ran on, then the ones its retry runs on (undefined: it did not start within the horizon). */
    before: string[];
    after?: string[];
    /** The bad node as the watcher left it. */
    badTaints: Taint[];
    badReason?: string;
    /** Minutes: the watcher's deadline for the save, the save (undefined: none), EKS auto repair, the retry's start. */
    deadlineMin: number;
    savedMin?: number;
    repairMin: number;
    restartedMin?: number;
    events: RunEvent[];
    attempts: Attempt[];
    /** Every wait of the path and its bound in minutes (Infinity = unbounded). */
    waits: Array<{ what: string; boundMin: number }>;
    problems: string[];
}

/**
 * A node of the run `runName` of plan `p` gets the node monitoring agent's AcceleratedHardwareReady=False
 * (the captured condition) at minute 0. The plan's node-watch Deployment's script runs for real (one pass
 * per poll that matters) against a stand-in API server holding the run's pods and `nodes` (the group's
 * nodes after their boot check, health.ts joinChecked); miles saves `saveSeconds` after the sentinel;
 * KubeRay retries per the RayJob's backoffLimit (rayjob_controller.go:542-555, a new RayCluster); the
 * retry's gang is placed with Kueue's waitForPodsReady (health.ts replay) on the nodes as the watcher
 * left them; EKS auto repair replaces the bad node after NODE_REPAIR_AFTER_MINUTES and `replacement()`
 * joins `joinMinutes` later.
 */
export function unhealthyMidRun(p: Plan, runName: string, nodes: SimNode[], replacement: () => SimNode, s: MidRunScenario): MidRunResult {
    const problems: string[] = [];
    const steps: TimedStep[] = [];
    const watcher = objectsOf(p, "Deployment").find((d) => d.metadata.labels?.["app.kubernetes.io/component"] === NODE_WATCH && envOf(d).RUN === runName);
    const rayJob = p.resources.find((r) => kindOf(r) === "RayJob" && (r.inputs.metadata as { name?: string })?.name === runName);
    if (!watcher || !rayJob) throw new Error(`${runName}: no node watcher or RayJob in the plan`);
    const env = envOf(watcher);
    const script = String((watcher.spec as any).template.spec.containers[0].command[2]);
    const gang = gangOf(rayJob);
    const ready = podsReadyOf(p.resources);
    const labels = Object.fromEntries(decodeURIComponent(String(env.NODE_SELECTORS).split(" ")[0]).split(",").filter((x) => x).map((kv) => kv.split("=") as [string, string]));
    const before = placeGang(gang, nodes);
    if (!before) throw new Error(`${runName}: the gang does not fit on the nodes given`);
    const bad = before[s.badIndex];
    const poll = Number(env.POLL_SECONDS) / 60;
    const cond = CAPTURED.acceleratedHardwareReady();
    const deadlineMin = Number(/(?:^| )AcceleratedHardwareReady=(\d+)/.exec(String(env.CONDITIONS))?.[1] ?? Infinity) / 60;
    const repairMin = NODE_REPAIR_AFTER_MINUTES.AcceleratedHardwareReady;

    const w = watcherWorld(script, env);
    const T0 = Date.parse("2026-12-07T12:00:00Z");
    const iso = (min: number) => new Date(T0 + Math.round(min * 60) * 1000).toISOString().replace(/\.000Z$/, "Z");
    const events: RunEvent[] = [];
    const pass = (atMin: number) => {
        const n = w.events().length;
        const out = w.pass();
        // The watcher writes wall-clock times: what this pass wrote happened at `atMin` on the simulation's clock.
        events.push(...w.events().slice(n).map((e) => ({ ...e, at: iso(atMin) })));
        for (const line of out.split("\n").filter((l) => l.trim() !== "" && !/ node-watch: watching /.test(l))) steps.push({ atMin, what: `watcher: ${line.replace(/^\S+ node-watch: /, "")}` });
    };
    try {
        for (const n of nodes) w.setNode({ name: n.name, labels, taints: n.taints, annotations: n.annotations });
        w.setNode({ name: "system-1" }); // the head's (a system node)
        w.setPods([...before.map((n, i) => ({ name: `${runName}-raycluster-gpu-worker-${i}`, node: n })), { name: `${runName}-raycluster-head`, node: "system-1" }]);
        pass(-poll); // the run runs: nothing to do
        steps.push({ atMin: 0, what: `node monitoring agent: ${bad} AcceleratedHardwareReady=False (${cond.reason}); EKS auto repair will act at ${repairMin} min` });
        const b = nodes.find((n) => n.name === bad)!;
        w.setNode({ name: bad, labels, taints: b.taints, annotations: b.annotations, conditions: [cond] });
        pass(poll);
        const asked = fs.existsSync(w.sentinel);
        if (!asked) problems.push("the watcher did not ask the run to save");
        let savedMin: number | undefined;
        let restartedMin: number | undefined;
        const saveAt = poll + s.saveSeconds / 60;
        if (asked && saveAt < poll + deadlineMin) {
            w.save();
            savedMin = saveAt;
            steps.push({ atMin: saveAt, what: "miles: the step in progress ended, the checkpoint is written, the sentinel removed" });
            restartedMin = saveAt + poll;
        } else if (asked) {
            steps.push({ atMin: poll, what: "miles: a collective hangs on the bad GPU: no step ends, no save" });
            w.timePasses();
            restartedMin = poll + deadlineMin + poll;
        }
        if (restartedMin !== undefined) pass(restartedMin);
        const left = w.pods().filter((x) => x.node === bad);
        if (left.length > 0) problems.push(`the run's pods on ${bad} were not deleted: ${left.map((x) => x.name).join(", ")}`);
        const badNow = w.node(bad);
        const badTaints: Taint[] = badNow.spec.taints ?? [];
        // KubeRay: the deleted workers' actors die, train.py fails, the Ray job is FAILED; a retry while failed < backoffLimit + 1.
        const backoffLimit = (rayJob.inputs.spec as any).backoffLimit;
        if (typeof backoffLimit !== "number" || backoffLimit < 1) problems.push(`RayJob backoffLimit ${backoffLimit}: the run is not retried`);
        const failMin = (restartedMin ?? 0) + POD_DELETE_GRACE_SECONDS / 60;
        steps.push({ atMin: failMin, what: `KubeRay: the Ray job failed (its workers on ${bad} are gone); Retrying (backoffLimit ${backoffLimit}): the RayCluster is deleted, a new one created` });
        // The retry's gang on the nodes as they are now; auto repair replaces the bad node, its replacement joins later.
        const now = nodes.map((n) => (n.name === bad ? { ...n, taints: badTaints, annotations: badNow.metadata.annotations as Record<string, string> } : n));
        const fresh = replacement();
        const o = replay(gang, now, ready, [
            { atMin: repairMin - failMin, remove: bad },
            { atMin: repairMin + s.joinMinutes - failMin, add: fresh },
        ]);
        for (const e of o.events) steps.push({ atMin: failMin + e.atMin, what: `retry: ${e.what}` });
        if (repairMin < failMin) problems.push(`EKS auto repair (${repairMin} min) acted before the run's pods left ${bad} (${failMin} min)`);
        steps.push({ atMin: repairMin, what: `EKS auto repair: ${bad} replaced; ${fresh.name} joins at ${repairMin + s.joinMinutes} min (health-pending until its check passes)` });
        const after = o.nodes;
        const startedMin = o.startedAt === undefined ? undefined : failMin + o.startedAt;
        // The run's records: attempt 1 ends (train.py exits non-zero), attempt 2 starts once the retry's pods run.
        const records: AttemptRecord[] = [
            { file: "1.json", startedAt: iso(-180), endedAt: iso(failMin), status: "failed", exitCode: 1, nodes: gang.pods, gpusPerNode: 8, deployKey: "same" },
            ...(startedMin !== undefined ? [{ file: "2.json", startedAt: iso(startedMin + 5), status: "running", nodes: gang.pods, gpusPerNode: 8, deployKey: "same" }] : []),
        ];
        const attempts = runAttempts(records, events, []);
        const waits = [
            { what: "the watcher's wait for the save (CONDITIONS AcceleratedHardwareReady)", boundMin: deadlineMin },
            { what: "the deleted pods' termination (gracePeriodSeconds)", boundMin: POD_DELETE_GRACE_SECONDS / 60 },
            { what: "KubeRay's retries (backoffLimit + 1 attempts)", boundMin: typeof backoffLimit === "number" ? backoffLimit + 1 : Infinity },
            { what: "the retry's pods waiting for nodes (waitForPodsReady, backoffLimitCount)", boundMin: o.waitsForever ? Infinity : (o.startedAt ?? o.deactivatedAt ?? Infinity) },
        ];
        return { steps: steps.sort((a, b2) => a.atMin - b2.atMin), badNode: bad, before, after, badTaints, badReason: (badNow.metadata.annotations as Record<string, string>)[UNHEALTHY_REASON_ANNOTATION], deadlineMin, savedMin, repairMin, restartedMin: startedMin, events, attempts, waits, problems };
    } finally {
        w.done();
    }
}

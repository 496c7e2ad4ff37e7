/**
 * Deployment simulation, layer "a node change never lets a bad node serve a run, and nothing waits
 * forever" (issue 22). It replays a run's node set changing — a Capacity Block resuming on new hosts,
 * EKS auto repair replacing a node mid-run — minute by minute, with what the plan deploys: the run's
 * pods (their GPUs per pod and tolerations, from the RayJob the program registered), the node
 * group's taints, and Kueue's `waitForPodsReady` from the Kueue release's controller configuration.
 *
 * Upstream behaviour modelled:
 * - kube-scheduler TaintToleration (kubernetes/kubernetes pkg/scheduler/framework/plugins/
 *   tainttoleration; k8s.io/api core/v1 toleration.go ToleratesTaint): a pod lands on a node only if
 *   it tolerates every NoSchedule/NoExecute taint; an empty key with operator Exists tolerates all.
 * - kubernetes-sigs/kueue v0.19.2: an admitted Workload whose pods are not all ready within
 *   `waitForPodsReady.timeout` (or, once running, `recoveryTimeout` after losing one) is evicted and
 *   requeued after `backoffBaseSeconds·2^(n-1)` capped at `backoffMaxSeconds`, and deactivated after
 *   `backoffLimitCount` requeues (apis/config/v1beta2/configuration_types.go:302-329, 404-440);
 *   a RayJob is ready when its RayCluster is Ready (pkg/controller/jobs/rayjob/rayjob_controller.go:229-231).
 * - Our node check, as deployed: a node joins with the taints its node group has in the plan (the
 *   health-pending startup taint among them); the scripts of the plan's node-check DaemonSet for that
 *   group run under /bin/sh (`runNodeCheck`, with a stand-in API server and `dcgmi` printing a real
 *   capture) and what they leave on the node is the node's state. The check does not act on the
 *   node monitoring agent's conditions (the run's node watcher does: test/sim/nodeWatch.ts unhealthyMidRun;
 *   without it a node the agent marks stays usable until EKS auto repair acts).
 * - EKS auto repair (managed node group nodeRepairConfig): after the condition's wait
 *   (catalog/nodeHealth.ts NODE_REPAIR_AFTER_MINUTES) the node is replaced (a new node, checked as it
 *   joins) or rebooted (the same node, a new boot ID: the check's gate re-taints and re-checks it)
 *   (https://docs.aws.amazon.com/eks/latest/userguide/node-repair.html). How long a new instance
 *   takes to join is an input.
 */
import { parse as parseYaml } from "yaml";
import type { RecordedResource } from "../../plan/evaluate";
import type { Taint } from "../../catalog/nodeLabels";
import { HEALTH_PENDING_TAINT, nodeVerdict } from "../../domain/health/nodeHealth";
import { GPU, kindOf } from "./awaits";
import { STARTUP_TAINT_KEYS } from "./scheduling";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface Toleration {
    key?: string;
    operator?: string;
    value?: string;
    effect?: string;
}

/** core/v1 ToleratesTaint. */
export function tolerates(ts: ReadonlyArray<Toleration>, t: Taint): boolean {
    return ts.some((x) => (!x.effect || x.effect === t.effect) && ((!x.key && x.operator === "Exists") || (x.key === t.key && (x.operator === "Exists" || (x.value ?? "") === t.value))));
}

export interface SimNode {
    name: string;
    gpus: number;
    taints: Taint[];
    annotations: Record<string, string>;
}

/** The GPU pods of a run's RayJob: how many, GPUs each, their tolerations. */
export interface Gang {
    pods: number;
    gpusPerPod: number;
    tolerations: Toleration[];
}

export function gangOf(rayJob: RecordedResource): Gang {
    if (kindOf(rayJob) !== "RayJob") throw new Error(`${rayJob.name} is not a RayJob`);
    const spec = (rayJob.inputs.spec as any).rayClusterSpec;
    const workers = (spec.workerGroupSpecs ?? []).filter((w: any) => Number(w.template.spec.containers[0]?.resources?.limits?.[GPU] ?? 0) > 0);
    const w = workers[0];
    return {
        pods: workers.reduce((n: number, x: any) => n + Number(x.replicas ?? 1) * Number(x.numOfHosts ?? 1), 0),
        gpusPerPod: Number(w.template.spec.containers[0].resources.limits[GPU]),
        tolerations: w.template.spec.tolerations ?? [],
    };
}

export interface PodsReady {
    timeoutMin: number;
    recoveryMin: number;
    backoffBaseS: number;
    backoffMaxS: number;
    backoffLimit?: number;
}

const minutes = (d: string) => {
    const m = /^(\d+)(m|s|h)$/.exec(d);
    if (!m) throw new Error(`duration ${d}`);
    return Number(m[1]) * { s: 1 / 60, m: 1, h: 60 }[m[2] as "s" | "m" | "h"];
};

/** waitForPodsReady of the Kueue release in a plan (Kueue's v0.19.2 defaults where unset). */
export function podsReadyOf(resources: ReadonlyArray<RecordedResource>): PodsReady {
    const release = resources.find((r) => r.type.startsWith("kubernetes:helm.sh/") && String(r.inputs.chart ?? "").includes("kueue"));
    const yaml = (release?.inputs.values as any)?.managerConfig?.controllerManagerConfigYaml;
    const w = (typeof yaml === "string" ? (parseYaml(yaml) as any).waitForPodsReady : undefined) ?? {};
    const timeout = minutes(w.timeout ?? "30m");
    const rq = w.requeuingStrategy ?? {};
    return { timeoutMin: timeout, recoveryMin: w.recoveryTimeout ? minutes(w.recoveryTimeout) : timeout, backoffBaseS: rq.backoffBaseSeconds ?? 60, backoffMaxS: rq.backoffMaxSeconds ?? 3600, ...(rq.backoffLimitCount != null ? { backoffLimit: rq.backoffLimitCount } : {}) };
}

/** Nodes the gang's pods can land on (one pod per node: each pod takes a whole node's GPUs). */
export function placeGang(g: Gang, nodes: ReadonlyArray<SimNode>): string[] | undefined {
    const fit = nodes.filter((n) => n.gpus >= g.gpusPerPod && n.taints.every((t) => t.effect === "PreferNoSchedule" || tolerates(g.tolerations, t)));
    return fit.length >= g.pods ? fit.slice(0, g.pods).map((n) => n.name) : undefined;
}

export interface Event {
    atMin: number;
    what: string;
}

export interface Outcome {
    events: Event[];
    /** Minute the gang runs on all its nodes (undefined: never, within the horizon). */
    startedAt?: number;
    nodes?: string[];
    /** Minute Kueue deactivated the Workload (backoffLimitCount reached). */
    deactivatedAt?: number;
    /** The simulation stopped at its horizon with the run still waiting: it would wait forever. */
    waitsForever: boolean;
}

/**
 * A queued gang admitted at minute 0 (or, with `running`, a running gang that lost a node at 0:
 * recoveryTimeout applies first), with `changes` to the node set at given minutes (a node leaving,
 * a new one joining). Kueue evicts and requeues per `podsReady` until the gang fits.
 */
export function replay(g: Gang, nodes: SimNode[], podsReady: PodsReady, changes: Array<{ atMin: number; remove?: string; add?: SimNode }>, opts: { running?: boolean; horizonMin?: number } = {}): Outcome {
    const events: Event[] = [];
    const horizon = opts.horizonMin ?? 7 * 24 * 60;
    let set = [...nodes];
    let t = 0;
    let requeues = 0;
    let first = true;
    const apply = (until: number) => {
        for (const c of changes.filter((x) => x.atMin <= until)) {
            if (c.remove) set = set.filter((n) => n.name !== c.remove);
            if (c.add && !set.some((n) => n.name === c.add!.name)) set.push(c.add);
        }
    };
    while (t <= horizon) {
        apply(t);
        const at = placeGang(g, set);
        if (at) {
            events.push({ atMin: t, what: `admitted; pods on ${at.join(", ")}; RayCluster Ready (PodsReady)` });
            return { events, startedAt: t, nodes: at, waitsForever: false };
        }
        const wait = first && opts.running ? podsReady.recoveryMin : podsReady.timeoutMin;
        events.push({ atMin: t, what: `${first && opts.running ? "running gang lost a pod" : "admitted"}; ${g.pods} pods need a healthy node each, ${set.filter((n) => placeGang({ ...g, pods: 1 }, [n])).length} usable: pods Pending` });
        first = false;
        // Within the timeout, a change may make room: the pending pods then schedule.
        const during = changes.map((c) => c.atMin).filter((m) => m > t && m <= t + wait).sort((a, b) => a - b);
        let started: number | undefined;
        for (const m of during) {
            apply(m);
            if (placeGang(g, set)) {
                started = m;
                break;
            }
        }
        if (started !== undefined) {
            const on = placeGang(g, set)!;
            events.push({ atMin: started, what: `pods scheduled on ${on.join(", ")}; RayCluster Ready (PodsReady)` });
            return { events, startedAt: started, nodes: on, waitsForever: false };
        }
        t += wait;
        requeues += 1;
        events.push({ atMin: t, what: `waitForPodsReady: evicted (GPUs freed), requeue #${requeues}` });
        if (podsReady.backoffLimit !== undefined && requeues > podsReady.backoffLimit) {
            events.push({ atMin: t, what: `backoffLimitCount ${podsReady.backoffLimit} reached: Workload deactivated (spec.active: false)` });
            return { events, deactivatedAt: t, waitsForever: false };
        }
        t += Math.min(podsReady.backoffBaseS * 2 ** (requeues - 1), podsReady.backoffMaxS) / 60;
    }
    return { events, waitsForever: true };
}

export const verdictOf = nodeVerdict;

// ---- the node check as deployed: its DaemonSet in the plan, its scripts run under /bin/sh ----

/** The node-check scripts and settings of the plan's DaemonSet for a node group (by its node selector). */
export interface NodeCheckPod {
    gate: string;
    diag: string;
    verdict: string;
    env: Record<string, string>;
    tolerations: Toleration[];
}

export function nodeCheckOf(resources: ReadonlyArray<RecordedResource>, selector: Record<string, string>): NodeCheckPod | undefined {
    const ds = resources.find((r) => kindOf(r) === "DaemonSet" && JSON.stringify((r.inputs.spec as any)?.template?.spec?.nodeSelector) === JSON.stringify(selector) && /node-check/.test(String((r.inputs.metadata as any)?.name)));
    if (!ds) return undefined;
    const spec = (ds.inputs.spec as any).template.spec;
    const all = [...(spec.initContainers ?? []), ...spec.containers];
    const script = (n: string) => String(all.find((c: any) => c.name === n)?.command?.[2] ?? "");
    const env: Record<string, string> = {};
    for (const c of all) for (const e of c.env ?? []) if (typeof e.value === "string") env[e.name] = e.value.replace("$(NODE_IP)", "10.0.0.5");
    return { gate: script("gate"), diag: script("diag"), verdict: script("verdict"), env, tolerations: spec.tolerations ?? [] };
}

/** JS (for a stand-in API server): `patchNode(node, contentType, data)` → `{ node, code }`, JSON Patch (RFC 6902, test ops included) or JSON merge patch (RFC 7386). */
export const PATCH_NODE_JS = `const ptr = (p) => p.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
const merge = (t, p) => { if (p === null || typeof p !== "object" || Array.isArray(p)) return p; t = t && typeof t === "object" && !Array.isArray(t) ? { ...t } : {};
  for (const [k, v] of Object.entries(p)) { if (v === null) delete t[k]; else t[k] = merge(t[k], v); } return t; };
function patchNode(node, type, data) {
  try {
    if (type === "application/merge-patch+json") return { node: merge(node, JSON.parse(data)), code: 200 };
    if (type !== "application/json-patch+json") return { node, code: 415 };
    const n = JSON.parse(JSON.stringify(node));
    for (const op of JSON.parse(data)) { const ks = ptr(op.path); const last = ks.pop(); let p = n; for (const k of ks) { if (p[k] === undefined) throw 422; p = p[k]; }
      if (op.op === "test") { if (JSON.stringify(p[last]) !== JSON.stringify(op.value)) throw 422; }
      else if (op.op === "remove") { if (!Array.isArray(p) || p[last] === undefined) throw 422; p.splice(Number(last), 1); }
      else if (op.op === "add") { if (Array.isArray(p)) { if (last === "-") p.push(op.value); else p.splice(Number(last), 0, op.value); } else p[last] = op.value; } else throw 422; }
    return { node: n, code: 200 };
  } catch (e) { return { node, code: typeof e === "number" ? e : 500 }; }
}`;

/** The API server for one node: GET returns it pretty-printed (as to a curl user agent); PATCH applies JSON Patch (RFC 6902, test ops included) or JSON merge patch (RFC 7386). */
const FAKE_CURL = `#!/usr/bin/env node
const fs = require("fs");
const a = process.argv.slice(2); let out, method = "GET", type, data, url;
for (let i = 0; i < a.length; i++) { const x = a[i];
  if (x === "-o") out = a[++i]; else if (x === "-X") method = a[++i]; else if (x === "--data") data = a[++i];
  else if (x === "-H") { const h = a[++i]; if (/^Content-Type:/.test(h)) type = h.split(": ")[1]; } else if (x === "-w" || x === "--cacert") i++; else if (x !== "-sS") url = x; }
const dir = process.env.FAKE, file = dir + "/node.json";
fs.appendFileSync(dir + "/calls", method + " " + url + " " + (type || "") + " " + (data || "") + "\\n");
let node = JSON.parse(fs.readFileSync(file, "utf8")); let code = 200;
${PATCH_NODE_JS}
if (method === "PATCH") ({ node, code } = patchNode(node, type, data)); else if (method !== "GET") code = 405;
if (code === 200 && method === "PATCH") fs.writeFileSync(file, JSON.stringify(node, null, 2));
fs.writeFileSync(out || "/dev/null", code === 200 ? JSON.stringify(node, null, 2) : '{"kind":"Status"}');
process.stdout.write(String(code));
`;
/** `dcgmi` prints the capture $DIAG_FIXTURE names, or fails like a host engine it cannot reach. */
const FAKE_DCGMI = `#!/bin/sh
echo "dcgmi $*" >> "$FAKE/calls"
[ -n "\${DIAG_FIXTURE:-}" ] && cat "$DIAG_FIXTURE" && exit 0
echo "Error: unable to establish a connection to the specified host: $DCGM_HOST"; exit 1
`;
const FAKE_TIMEOUT = `#!/bin/sh
shift; exec "$@"
`;

export interface CheckedNode {
    taints: Taint[];
    annotations: Record<string, string>;
    /** Calls the scripts made (API requests, dcgmi). */
    calls: string[];
    out: string;
}

/**
 * One node-check pod on one node: gate, diag (the EFA count written by hand: the stand-in has no
 * /sys), verdict, as the kubelet runs them (init containers in order, then the main one; IDLE=false
 * so it returns). `diag.fixture`: a file of test/fixtures/health; none: dcgmi cannot reach an engine.
 */
export function runNodeCheck(pod: NodeCheckPod, node: { taints?: Taint[]; annotations?: Record<string, string>; bootID?: string }, diag: { fixture?: string; efaFound: number }): CheckedNode {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodecheck-"));
    for (const d of ["bin", "state", "sa"]) fs.mkdirSync(path.join(dir, d));
    for (const [name, body] of Object.entries({ curl: FAKE_CURL, dcgmi: FAKE_DCGMI, timeout: FAKE_TIMEOUT })) fs.writeFileSync(path.join(dir, "bin", name), body, { mode: 0o755 });
    for (const f of ["token", "ca.crt"]) fs.writeFileSync(path.join(dir, "sa", f), "x");
    const obj = {
        kind: "Node",
        apiVersion: "v1",
        metadata: { name: "gpu-1", annotations: { "node.alpha.kubernetes.io/ttl": "0", ...(node.annotations ?? {}) } },
        spec: { providerID: "aws:///us-east-1a/i-0abc", ...(node.taints && node.taints.length ? { taints: node.taints } : {}) },
        status: { nodeInfo: { bootID: node.bootID ?? "boot-1" }, conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" }] },
    };
    fs.writeFileSync(path.join(dir, "node.json"), JSON.stringify(obj, null, 2));
    const env = { ...process.env, ...pod.env, PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, FAKE: dir, STATE_DIR: path.join(dir, "state"), SA_DIR: path.join(dir, "sa"), NODE_NAME: "gpu-1", IDLE: "false", ...(diag.fixture ? { DIAG_FIXTURE: path.join(__dirname, "..", "fixtures", "health", diag.fixture) } : {}) };
    let out = "";
    for (const [step, script] of [["gate", pod.gate], ["diag", pod.diag], ["verdict", pod.verdict]] as const) {
        const r = spawnSync("/bin/sh", ["-c", script], { env, encoding: "utf8" });
        out += `${r.stdout}${r.stderr}`;
        if (r.status !== 0) throw new Error(`node check ${step} exited ${r.status}:\n${out}`);
        if (step === "diag" && fs.existsSync(path.join(dir, "state", "efa"))) fs.writeFileSync(path.join(dir, "state", "efa"), `${diag.efaFound}\n`);
    }
    const n = JSON.parse(fs.readFileSync(path.join(dir, "node.json"), "utf8"));
    const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
    fs.rmSync(dir, { recursive: true, force: true });
    return { taints: n.spec.taints ?? [], annotations: n.metadata.annotations ?? {}, calls, out };
}

/**
 * A node that joined with its group's taints (from the plan) and went through the deployed check.
 * The other startup taints are gone too: their owners lift them (the FSx CSI node plugin, once it can
 * mount; test/sim/scheduling.ts STARTUP_TAINT_KEYS), which this layer does not replay.
 */
export function joinChecked(name: string, gpus: number, joinTaints: ReadonlyArray<Taint>, checked: (taints: ReadonlyArray<Taint>) => CheckedNode): SimNode {
    const c = checked(joinTaints);
    const { "node.alpha.kubernetes.io/ttl": _ttl, ...annotations } = c.annotations;
    const liftedByOthers = (t: Taint) => STARTUP_TAINT_KEYS.has(t.key) && t.key !== HEALTH_PENDING_TAINT.key;
    return { name, gpus, taints: c.taints.filter((t) => !liftedByOthers(t)), annotations };
}

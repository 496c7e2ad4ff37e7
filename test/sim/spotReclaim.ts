/**
 * Deployment simulation, layer "spot reclaim" (issue 22): a spot node of a running run is reclaimed.
 * It executes, on the objects a stack's plan registers, the path from EC2's notice to the run's
 * resume, and says where it would break on a real cluster and whether anything waits without bound.
 * The save watcher's own script runs under /bin/sh against a stand-in API server whose pods and
 * nodes are the simulation's.
 *
 * Upstream behaviour modelled (file:line at the version we pin):
 * - EC2 (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html):
 *   the warning comes two minutes before the interruption; then the instance and its pods are gone.
 *   A rebalance recommendation may come earlier (rebalance-recommendations.html) and sets no deadline.
 * - EventBridge (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html): a
 *   rule matches when, for every field of its pattern, the event's value is in the pattern's list.
 * - aws-node-termination-handler v1.25.6, queue processor: the event id becomes the taint value
 *   `spot-itn-event-%x` / `rebalance-recommendation-event-%x` of the event's `id`
 *   (pkg/monitor/sqsevent/spot-itn-event.go:63, rebalance-recommendation-event.go:61); the taint is set
 *   in the PreDrainTask (spot-itn-event.go:82-100) before the cordon and the drain
 *   (pkg/interruptionevent/draincordon/handler.go:83-107); the drain evicts through kubectl's drain
 *   helper with Timeout = nodeTerminationGracePeriod, 120 s by default (pkg/node/node.go:743-752,
 *   values.yaml nodeTerminationGracePeriod); a message whose drain failed is not deleted
 *   (handler.go:121-123) and comes back until the queue's retention ends.
 * - Kubernetes Eviction API (https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/):
 *   an eviction a PodDisruptionBudget does not allow is refused (429), so a pod under
 *   `maxUnavailable: 0` is never deleted by a drain and its preStop never runs before the instance dies.
 * - miles v0.1.0 train.py:121-127: the sentinel is checked at the end of each training step; the
 *   forced save is synchronous and removes the file after it is written.
 * - KubeRay v1.7.0 ray-operator/controllers/ray/rayjob_controller.go:542-555: a Failed RayJob is
 *   retried (JobDeploymentStatusRetrying: a new RayCluster, :366, :408) while `failed < backoffLimit + 1`.
 *   A lost worker fails the training step (all ranks take part in each collective), so the job fails.
 * - The spot group's ASG keeps its desired capacity and the Cluster Autoscaler scales for a pending
 *   pod within the group's max: a replacement node with the group's labels and taints joins.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Plan } from "../../plan/run";
import type { RecordedResource } from "../../plan/evaluate";
import { rayJobCommand } from "../harness";
import { objectsOf, type K8sObject } from "./world";
import { podTemplatesOf } from "./images";
import { nodeGroupsOf, podLandsOn, type NodeGroupModel } from "./scheduling";
import { NTH_TAINTS, SPOT_NOTICE_SECONDS } from "../../catalog/spotInterruption";
import { SHARED_MOUNT_PATH } from "../../catalog/sharedPaths";
import { parseSpotEvent, type SpotEvent } from "../../domain/lifecycle/spotEvents";
import { runAttempts, type Attempt, type AttemptRecord, type RunEvent } from "../../domain/training/attempts";
import { PATCH_NODE_JS } from "./health";
import { NODE_WATCH } from "../../domain/lifecycle/nodeWatch";

type Obj = Record<string, any>;

/**
 * miles' forced save as the watcher sees it on the shared volume: Megatron rewrites the checkpoint tracker
 * (catalog/observability.ts CHECKPOINT_TRACKER_FILE) after the checkpoint, then miles removes the sentinel
 * (train.py:121-127). The tracker's time is set a few seconds ahead so a one-second file clock still sees
 * it newer than the request.
 */
export function milesSaves(sentinel: string, tracker: string): void {
    fs.mkdirSync(path.dirname(tracker), { recursive: true });
    fs.writeFileSync(tracker, "40\n");
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(tracker, t, t);
    fs.rmSync(sentinel, { force: true });
}

/** Label selector (`k=v,k in (a,b)`) against labels. */
export function selects(selector: string, labels: Record<string, string>): boolean {
    return selector
        .split(/,(?![^(]*\))/)
        .filter((s) => s !== "")
        .every((term) => {
            const inSet = /^\s*([^\s]+)\s+in\s+\(([^)]*)\)\s*$/.exec(term);
            if (inSet) return inSet[2].split(",").map((x) => x.trim()).includes(labels[inSet[1]]);
            const [k, v] = term.split("=");
            return labels[k] === v;
        });
}

/** EventBridge matching of our patterns (lists of exact values, nested objects). */
export function patternMatches(pattern: Obj, event: Obj): boolean {
    return Object.entries(pattern).every(([k, v]) => (Array.isArray(v) ? v.includes(event[k]) : typeof event[k] === "object" && patternMatches(v, event[k])));
}

/** The taint NTH sets for an event (spot-itn-event.go:63: `fmt.Sprintf("spot-itn-event-%x", event.ID)`, truncated to 63 characters, node.go:464-466). */
export function nthTaint(e: SpotEvent): { key: string; value: string; effect: "NoSchedule" } {
    const prefix = e.kind === "spotInterruption" ? "spot-itn-event" : "rebalance-recommendation-event";
    return { key: e.kind === "spotInterruption" ? NTH_TAINTS.spotInterruption : NTH_TAINTS.rebalanceRecommendation, value: `${prefix}-${Buffer.from(e.id).toString("hex")}`.slice(0, 63), effect: "NoSchedule" };
}

/** The spot machinery a plan registered. */
export interface SpotPath {
    rules: RecordedResource[];
    targets: RecordedResource[];
    queue?: RecordedResource;
    queuePolicy?: RecordedResource;
    nth?: Obj;
    watchers: K8sObject[];
}

export function spotPathOf(p: Plan): SpotPath {
    const of = (type: string) => p.resources.filter((r) => r.type === type);
    const nth = p.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.name === "aws-node-termination-handler");
    return {
        rules: of("aws:cloudwatch/eventRule:EventRule"),
        targets: of("aws:cloudwatch/eventTarget:EventTarget"),
        queue: of("aws:sqs/queue:Queue")[0],
        queuePolicy: of("aws:sqs/queuePolicy:QueuePolicy")[0],
        nth: nth?.inputs.values as Obj | undefined,
        // The run node watchers that react to the handler's taints (every run has a watcher; off spot its WATCH is empty).
        watchers: objectsOf(p, "Deployment").filter((d) => d.metadata.labels?.["app.kubernetes.io/component"] === NODE_WATCH && String(envOf(d).WATCH ?? "").includes(NTH_TAINTS.spotInterruption)),
    };
}

/** Why an EC2 event would not reach the handler as a taint on the node. */
export function routeProblems(sp: SpotPath, event: Obj): string[] {
    const problems: string[] = [];
    const rule = sp.rules.find((r) => patternMatches(JSON.parse(String(r.inputs.eventPattern)), event));
    if (!rule) problems.push(`no EventBridge rule matches ${event["detail-type"]}`);
    else if (!sp.targets.some((t) => t.name === rule.name && t.parent?.name === rule.parent?.name)) problems.push(`rule ${rule.name} has no target`);
    if (!sp.queue) problems.push("no SQS queue");
    else if (sp.queue.inputs.sqsManagedSseEnabled !== true && !sp.queue.inputs.kmsMasterKeyId) problems.push("the queue is not encrypted");
    if (!sp.queuePolicy) problems.push("no queue policy: EventBridge cannot send to the queue");
    if (!sp.nth) problems.push("no aws-node-termination-handler release");
    else {
        if (sp.nth.enableSqsTerminationDraining !== true) problems.push("the handler is not in queue-processor mode (enableSqsTerminationDraining)");
        if (sp.nth.taintNode !== true) problems.push("the handler does not taint the node (taintNode): the save watcher never sees the notice");
        if (sp.nth.queueURL === undefined) problems.push("the handler has no queueURL");
    }
    return problems;
}

export const envOf = (d: K8sObject) => Object.fromEntries(((d.spec as Obj).template.spec.containers[0].env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));

/** The run a watcher serves, and what makes it wrong for that run. */
export function watcherProblems(p: Plan, watcher: K8sObject): string[] {
    const env = envOf(watcher);
    const problems: string[] = [];
    const rayJob = p.resources.find((r) => r.type === "kubernetes:ray.io/v1:RayJob" && (r.inputs.metadata as Obj)?.name === env.RUN);
    if (!rayJob) return [`no RayJob ${env.RUN}`];
    const cmd = rayJobCommand(p, rayJob);
    const arg = (flag: string) => new RegExp(`(?:^| )${flag} (\\S+)`).exec(cmd)?.[1];
    if (arg("--save-trigger-sentinel") !== env.SENTINEL) problems.push(`the watcher's SENTINEL ${env.SENTINEL} is not the run's --save-trigger-sentinel ${arg("--save-trigger-sentinel")}`);
    if (arg("--load") === undefined || arg("--load") !== arg("--save")) problems.push(`--load ${arg("--load")} is not --save ${arg("--save")}: a retry would not resume from the save`);
    const spec = (watcher.spec as Obj).template.spec;
    const mounts = spec.containers[0].volumeMounts as Array<{ name: string; mountPath: string }>;
    const shared = mounts.find((m) => m.mountPath === SHARED_MOUNT_PATH);
    const claim = (spec.volumes as Array<{ name: string; persistentVolumeClaim?: { claimName: string } }>).find((v) => v.name === shared?.name)?.persistentVolumeClaim;
    if (!claim || !env.SENTINEL.startsWith(`${SHARED_MOUNT_PATH}/`)) problems.push(`the watcher does not mount the shared volume the sentinel ${env.SENTINEL} is on`);
    const selector = decodeURIComponent(env.POD_SELECTOR);
    const ray = podTemplatesOf({ ...(rayJob.inputs as Obj), kind: "RayJob", metadata: rayJob.inputs.metadata, resource: rayJob } as K8sObject).filter((t) => t.role === "head" || t.role.startsWith("worker:"));
    for (const t of ray) if (!selects(selector, t.labels)) problems.push(`the watcher's pod selector ${selector} misses the run's ${t.id}`);
    for (const key of [NTH_TAINTS.spotInterruption, NTH_TAINTS.rebalanceRecommendation]) if (!env.WATCH.split(" ").some((w: string) => w.startsWith(`${key}=`))) problems.push(`the watcher does not react to ${key}`);
    return problems;
}

// ---------------------------------------------------------------------------------------------
// The timeline

/** One thing that happened, in seconds from the interruption warning (negative: before it). */
export interface Step {
    t: number;
    what: string;
}

export interface ReclaimScenario {
    /** Seconds before the warning that a rebalance recommendation came; none = the warning alone. */
    rebalanceLeadSeconds?: number;
    /** The training step in progress ends this many seconds after the sentinel appears. */
    stepRemainingSeconds: number;
    /** A checkpoint write (the plan's storage sizing). */
    writeSeconds: number;
    /** Seconds for a replacement node to join (EC2 launch, join, device plugins). */
    replacementSeconds: number;
    /** Remove the watcher (negative control): what happens with the drain and the preStop alone. */
    withoutWatcher?: boolean;
}

export interface ReclaimResult {
    steps: Step[];
    /** When the sentinel appeared (s from the warning), undefined if never. */
    triggeredAt?: number;
    /** Whether the run resumed from a save made for this reclaim. */
    resumedFromTriggeredSave: boolean;
    /** Every wait of the path and its bound in seconds (Infinity = unbounded). */
    waits: Array<{ what: string; bound: number }>;
    attempts: Attempt[];
    problems: string[];
}

/**
 * The stand-in API server for the node watcher's script: `curl` on its PATH answers GETs in sh (the
 * pods list from the files $FAKE/pods/<name>.json (`writePods`), a node from $FAKE/node-<name>.json
 * or 404, the node list of a label selector from the node files whose labels match), DELETE of a pod
 * (its file removed, logged in $FAKE/deleted), and hands PATCH of a node (JSON Patch, merge patch) to
 * a node script. Every call is logged to $FAKE/calls.
 */
const CURL = `#!/bin/sh
url=""; out=""; w=""; method=GET; type=""; data=""
while [ $# -gt 0 ]; do case "$1" in -o) out=$2; shift 2;; -w) w=$2; shift 2;; -X) method=$2; shift 2;; --data) data=$2; shift 2;; -H) case "$2" in Content-Type:*) type=\${2#Content-Type: };; esac; shift 2;; --cacert) shift 2;; -sS) shift;; *) url=$1; shift;; esac; done
echo "$method $url $type $data" >> "$FAKE/calls"
[ "$method" = PATCH ] && exec node "$FAKE/api.js" "$method" "$url" "$type" "$data" "\${out:-/dev/stdout}" "$w"
# list KIND FILE…: the files' objects as a list.
list() { k=$1; shift; if [ $# -eq 0 ]; then echo "{\\"kind\\":\\"$k\\",\\"items\\":[]}"; else awk -v k="$k" 'BEGIN { printf "{\\"kind\\":\\"%s\\",\\"items\\":[", k } FNR == 1 && NR > 1 { printf "," } { print } END { print "]}" }' "$@"; fi; }
code=200
case "$method $url" in
  "DELETE "*/pods/*) p=\${url##*/pods/}; p=\${p%%\\?*}; body='{"kind":"Status"}'
    if rm "$FAKE/pods/$p.json" 2>/dev/null; then echo "$p $url" >> "$FAKE/deleted"; else code=404; fi ;;
  DELETE*) code=405; body='{"kind":"Status"}' ;;
  *"/pods?"*) set -- "$FAKE"/pods/*.json; [ -f "$1" ] || set --; body=$(list PodList "$@") ;;
  *"/api/v1/nodes?labelSelector="*)
    sel=$(echo "\${url#*labelSelector=}" | sed 's/%3D/=/g; s/%2C/,/g; s/%2F/\\//g')
    set -- "$FAKE"/node-*.json; [ -f "$1" ] || set --
    for kv in $(echo "$sel" | tr ',' ' '); do [ $# -gt 0 ] && set -- $(grep -l "\\"\${kv%%=*}\\": *\\"\${kv#*=}\\"" "$@"); done
    body=$(list NodeList "$@") ;;
  */api/v1/nodes/*) n=\${url##*/}; body=$(cat "$FAKE/node-$n.json" 2>/dev/null) || { code=404; body='{"kind":"Status","code":404}'; } ;;
  *) code=404; body='{"kind":"Status","code":404}' ;;
esac
if [ -n "$out" ]; then printf '%s\\n' "$body" > "$out"; else printf '%s\\n' "$body"; fi
[ -z "$w" ] || printf '%s' "$code"
`;
const API_JS = `const fs = require("fs");
const [method, url, type, data, out, w] = process.argv.slice(2);
const dir = process.env.FAKE;
${PATCH_NODE_JS}
let code = 405, body = { kind: "Status" };
if (method === "PATCH" && /\\/api\\/v1\\/nodes\\/[^/?]+$/.test(url)) {
  const file = dir + "/node-" + url.split("/").pop() + ".json";
  if (!fs.existsSync(file)) code = 404;
  else { const r = patchNode(JSON.parse(fs.readFileSync(file, "utf8")), type, data); code = r.code; if (code === 200) { body = r.node; fs.writeFileSync(file, JSON.stringify(r.node, null, 2)); } }
}
fs.writeFileSync(out, JSON.stringify(body));
if (w) process.stdout.write(String(code));
`;

/** The run's pods the stand-in API server lists (one file each, so that a DELETE is a file removal). */
export function writePods(fake: string, items: ReadonlyArray<{ metadata: { name: string } & Record<string, unknown>; spec?: Record<string, unknown> } & Record<string, unknown>>): void {
    fs.rmSync(path.join(fake, "pods"), { recursive: true, force: true });
    fs.mkdirSync(path.join(fake, "pods"));
    for (const p of items) fs.writeFileSync(path.join(fake, "pods", `${p.metadata.name}.json`), JSON.stringify(p, null, 2));
}

/** Moves the deadlines of the saves the watcher waits for (under `recordsDir`/node-watch/pending) into the past, as if their time had gone by. */
export function pastDeadline(recordsDir: string): void {
    const dir = path.join(recordsDir, NODE_WATCH, "pending");
    for (const f of fs.readdirSync(dir)) {
        const [kind, n, , ...rest] = fs.readFileSync(path.join(dir, f), "utf8").trim().split(" ");
        fs.writeFileSync(path.join(dir, f), `${[kind, n, 0, ...rest].join(" ")}\n`);
    }
}

/** A scratch directory with the stand-in API server (`fake/bin/curl`), a service-account token and the watcher's state directory. */
export function watcherSandbox(prefix: string): { dir: string; fake: string; env: Record<string, string> } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    const fake = path.join(dir, "fake");
    fs.mkdirSync(path.join(fake, "bin"), { recursive: true });
    fs.writeFileSync(path.join(fake, "bin", "curl"), CURL, { mode: 0o755 });
    fs.writeFileSync(path.join(fake, "api.js"), API_JS);
    fs.mkdirSync(path.join(dir, "sa"));
    fs.writeFileSync(path.join(dir, "sa", "token"), "t");
    fs.writeFileSync(path.join(dir, "sa", "ca.crt"), "x");
    fs.mkdirSync(path.join(dir, "state"));
    return { dir, fake, env: { PATH: `${path.join(fake, "bin")}:${process.env.PATH}`, FAKE: fake, SA_DIR: path.join(dir, "sa"), STATE_DIR: path.join(dir, "state"), POLL_SECONDS: "0", ONCE: "1" } };
}

/**
 * A spot reclaim of the node that holds the run's GPU workers, executed on a plan. The watcher's
 * script runs for real (one pass per poll that matters); EC2, the handler, miles and KubeRay are the
 * models above.
 */
export function spotReclaim(p: Plan, itnEvent: Obj, rebalanceEvent: Obj, s: ReclaimScenario): ReclaimResult {
    const steps: Step[] = [];
    const problems: string[] = [];
    const sp = spotPathOf(p);
    const watcher = s.withoutWatcher ? undefined : sp.watchers[0];
    const itn = parseSpotEvent(itnEvent) as SpotEvent;
    const rb = parseSpotEvent(rebalanceEvent) as SpotEvent;
    const rayJob = p.resources.find((r) => r.type === "kubernetes:ray.io/v1:RayJob")!;
    const runName = String((rayJob.inputs.metadata as Obj).name);
    const templates = podTemplatesOf({ ...(rayJob.inputs as Obj), kind: "RayJob", metadata: rayJob.inputs.metadata, resource: rayJob } as K8sObject);
    const workers = templates.filter((t) => t.role.startsWith("worker:"));
    const head = templates.find((t) => t.role === "head")!;
    const groups = nodeGroupsOf(p).filter((g) => g.role === "gpu");
    const group = groups.find((g) => workers.some((w) => podLandsOn(w.spec, g.shape).lands));
    if (!group) return { steps, resumedFromTriggeredSave: false, waits: [], attempts: [], problems: ["the run's workers land on no GPU group"], triggeredAt: undefined };
    const node = "ip-10-40-0-10";
    const headOnNode = podLandsOn(head.spec, group.shape).lands && (head.spec.nodeSelector !== undefined || head.spec.affinity !== undefined);

    // The stand-in API server: the run's pods (head elsewhere unless it must sit on a GPU node) and the node's taints.
    const box = watcherSandbox("sim-spot-");
    const { dir, fake } = box;
    const pods = [...workers.map((w, i) => ({ labels: w.labels, node, name: `w${i}` })), { labels: head.labels, node: headOnNode ? node : "ip-10-40-0-2", name: "head" }];
    writePods(fake, pods.map((x) => ({ metadata: { name: x.name, labels: x.labels }, spec: { nodeName: x.node } })));
    const taints: Obj[] = [...group.shape.taints];
    const writeNode = () => fs.writeFileSync(path.join(fake, `node-${node}.json`), JSON.stringify({ metadata: { name: node }, spec: { taints } }));
    writeNode();
    const env = watcher ? envOf(watcher) : {};
    const shared = path.join(dir, "shared");
    const local = (p0: string) => path.join(shared, p0.slice(SHARED_MOUNT_PATH.length + 1));
    const sentinel = watcher ? local(env.SENTINEL) : path.join(shared, "control", runName, "save-now");
    const eventsDir = watcher ? local(env.EVENTS_DIR) : path.join(shared, "events");
    const tracker = watcher ? local(env.TRACKER) : path.join(shared, "checkpoints", runName, "latest_checkpointed_iteration.txt");
    const pass = (t: number) => {
        if (!watcher) return;
        const r = spawnSync("/bin/sh", ["-c", (watcher.spec as Obj).template.spec.containers[0].command[2]], {
            env: { ...env, ...box.env, SENTINEL: sentinel, EVENTS_DIR: eventsDir, TRACKER: tracker },
            encoding: "utf8",
            timeout: 15000,
        });
        if (r.status !== 0) problems.push(`watcher pass at t=${t}: exit ${r.status}: ${r.stderr}`);
        // Its start line ("watching …") is printed by every one-shot pass: only what it did goes on the timeline.
        for (const line of r.stdout.split("\n").filter((l) => l.trim() !== "" && !/ node-watch: watching /.test(l))) steps.push({ t, what: `watcher: ${line.replace(/^\S+ node-watch: /, "")}` });
    };
    // The handler's latency from the event to the taint: EventBridge delivery + its 2 s poll (the plan's allowance).
    const handlerSeconds = 10;
    const poll = Number(env.POLL_SECONDS ?? 5);
    let savedAt: number | undefined;
    let triggeredAt: number | undefined;
    const stepAndWrite = s.stepRemainingSeconds + s.writeSeconds;

    const notice = (e: SpotEvent, t0: number) => {
        steps.push({ t: t0, what: `EC2: ${e.kind === "spotInterruption" ? `interruption warning for ${e.instanceId} (${e.action}, interruption at +${SPOT_NOTICE_SECONDS} s)` : `rebalance recommendation for ${e.instanceId}`}` });
        const route = routeProblems(sp, e.kind === "spotInterruption" ? itnEvent : rebalanceEvent);
        if (route.length > 0) {
            problems.push(...route);
            return;
        }
        const taint = nthTaint(e);
        taints.push(taint);
        writeNode();
        steps.push({ t: t0 + handlerSeconds, what: `aws-node-termination-handler: taint ${taint.key}=${taint.value}, cordon, drain ${node}` });
        const hadSentinel = fs.existsSync(sentinel);
        pass(t0 + handlerSeconds + poll);
        if (!hadSentinel && fs.existsSync(sentinel)) triggeredAt ??= t0 + handlerSeconds + poll;
        if (fs.existsSync(sentinel) && triggeredAt !== undefined && savedAt === undefined) {
            // miles: the step in progress ends, the forced save is written, the sentinel removed.
            const done = triggeredAt + stepAndWrite;
            if (done < (e.kind === "spotInterruption" ? t0 + SPOT_NOTICE_SECONDS : Number.POSITIVE_INFINITY)) {
                milesSaves(sentinel, tracker);
                savedAt = done;
                steps.push({ t: done, what: `miles: step ended, checkpoint written (${s.writeSeconds} s), sentinel removed` });
                pass(done + poll);
            }
        }
    };

    if (s.rebalanceLeadSeconds !== undefined) notice(rb, -s.rebalanceLeadSeconds);
    notice(itn, 0);
    // The drain: NTH evicts; the PDB refuses the Ray pods' eviction; the drain gives up after nodeTerminationGracePeriod.
    const pdb = objectsOf(p, "PodDisruptionBudget").find((d) => (d.spec as Obj).maxUnavailable === 0 && selects(Object.entries(((d.spec as Obj).selector.matchLabels ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(","), workers[0].labels));
    const drainTimeout = Number(sp.nth?.nodeTerminationGracePeriod ?? 120);
    steps.push({ t: handlerSeconds + drainTimeout, what: pdb ? `drain: evictions of the Ray pods refused by PDB ${pdb.metadata.name} (maxUnavailable 0): drain gives up after ${drainTimeout} s; the pods' preStop never ran` : `drain: the Ray pods evicted; their preStop runs (terminationGracePeriodSeconds ${workers[0].spec.terminationGracePeriodSeconds ?? 30})` });
    if (!pdb && !watcher) {
        const preStop = (workers[0].spec.containers as Obj[]).some((c) => c.lifecycle?.preStop);
        if (preStop && triggeredAt === undefined) triggeredAt = handlerSeconds + 5;
    }
    // EC2 interrupts; the worker pods are gone.
    steps.push({ t: SPOT_NOTICE_SECONDS, what: `EC2: ${node} terminated; the run's pods on it are gone${headOnNode ? " (its head too)" : ""}` });
    if (savedAt === undefined && fs.existsSync(sentinel)) steps.push({ t: SPOT_NOTICE_SECONDS, what: "miles: the run died before its step ended and the save was written" });
    // The watcher's deadline for the pending save passes: it removes the stale sentinel.
    if (watcher && fs.existsSync(sentinel)) {
        const wl = env.WATCH.split(" ").find((w: string) => w.startsWith(`${NTH_TAINTS.spotInterruption}=`))!;
        const deadline = Number(wl.split("=").pop());
        pastDeadline(path.dirname(eventsDir)); // the clock has passed it
        pass(deadline);
    }
    // KubeRay: the job failed; a retry while failed < backoffLimit + 1.
    const backoffLimit = (rayJob.inputs.spec as Obj).backoffLimit;
    if (typeof backoffLimit !== "number" || backoffLimit < 1) problems.push(`RayJob backoffLimit ${backoffLimit}: the run is not retried after the reclaim`);
    const retryAt = SPOT_NOTICE_SECONDS + 30;
    steps.push({ t: retryAt, what: `KubeRay: job failed (1 of backoffLimit ${backoffLimit} + 1); Retrying: a new RayCluster` });
    // The retry's workers: never on the reclaimed (tainted, cordoned) node; on a replacement node of the group.
    const tainted: NodeGroupModel["shape"] = { ...group.shape, taints: taints as NodeGroupModel["shape"]["taints"] };
    for (const w of workers) if (podLandsOn(w.spec, tainted).lands) problems.push(`${w.id} tolerates the handler's taint: the retry could land on the reclaimed node`);
    if (group.maxNodes < workers.reduce((n, w) => n + w.pods, 0)) problems.push(`group ${group.name} has max ${group.maxNodes} nodes: no room for replacements`);
    const fresh = workers.every((w) => podLandsOn(w.spec, group.shape).lands);
    if (!fresh) problems.push("the retry's workers do not land on a replacement node of their group");
    const resumeAt = retryAt + s.replacementSeconds;
    const resumedFromTriggeredSave = savedAt !== undefined;
    steps.push({ t: resumeAt, what: `replacement node joined; the run resumes from ${resumedFromTriggeredSave ? `the save finished at ${savedAt} s` : "its last periodic save"} (--load = --save)` });

    // The attempt record: the head's records (the first has no end when the head died; here the head survives and ends the record as failed) and the watcher's events.
    const t0 = Date.parse(itn.time.toISOString());
    const at = (sec: number) => new Date(t0 + sec * 1000).toISOString().replace(/\.000Z$/, "Z");
    const workerNodes = workers.reduce((n, w) => n + w.pods, 0);
    const records: AttemptRecord[] = [
        { file: "1.json", startedAt: at(-3 * 3600), endedAt: headOnNode ? undefined : at(retryAt - 5), status: headOnNode ? "running" : "failed", exitCode: headOnNode ? undefined : 1, nodes: workerNodes, gpusPerNode: 8, deployKey: "same" },
        { file: "2.json", startedAt: at(resumeAt + 60), status: "running", nodes: workerNodes, gpusPerNode: 8, deployKey: "same" },
    ];
    const events: RunEvent[] = fs.existsSync(eventsDir) ? fs.readdirSync(eventsDir).sort().map((f) => JSON.parse(fs.readFileSync(path.join(eventsDir, f), "utf8"))) : [];
    // The watcher wrote its events at wall-clock time: place them on the simulation's clock.
    const deadlineOf = (kind: string) => Number(String(env.WATCH ?? "").split(" ").find((w: string) => w.includes(`=${kind}=`))?.split("=").pop() ?? 0);
    const simTime = (e: RunEvent): number => {
        const start = e.kind === "rebalance-recommendation" ? -(s.rebalanceLeadSeconds ?? 0) : 0;
        if (e.outcome === "save-requested") return start + handlerSeconds + poll;
        if (e.outcome === "saved") return (savedAt ?? start) + poll;
        return start + handlerSeconds + poll + deadlineOf(e.kind);
    };
    const placed = events.map((e) => ({ ...e, at: at(simTime(e)) }));
    // The run was admitted by Kueue ten minutes before its first attempt started (the Workload's Admitted condition).
    const admitted = { type: "Admitted", status: "True" as const, reason: "Admitted", message: "The workload is admitted", lastTransitionTime: at(-3 * 3600 - 600) };
    const attempts = runAttempts(records, placed, [admitted]);

    const lc = Number(((watcher?.spec as Obj)?.template?.spec?.terminationGracePeriodSeconds) ?? 30);
    const waits = [
        { what: "the watcher's wait for the save after the warning (WATCH)", bound: watcher ? Number(env.WATCH.split(" ").find((w: string) => w.startsWith(`${NTH_TAINTS.spotInterruption}=`))?.split("=").pop() ?? Infinity) : 0 },
        { what: "the watcher's wait after a rebalance recommendation (WATCH)", bound: watcher ? Number(env.WATCH.split(" ").find((w: string) => w.startsWith(`${NTH_TAINTS.rebalanceRecommendation}=`))?.split("=").pop() ?? Infinity) : 0 },
        { what: "the handler's drain (nodeTerminationGracePeriod)", bound: drainTimeout },
        { what: "an undeleted queue message (messageRetentionSeconds)", bound: Number(sp.queue?.inputs.messageRetentionSeconds ?? Infinity) },
        { what: "KubeRay's retries (backoffLimit + 1 attempts)", bound: typeof backoffLimit === "number" ? backoffLimit + 1 : Infinity },
        { what: "the watcher pod's termination", bound: lc },
    ];
    fs.rmSync(dir, { recursive: true, force: true });
    return { steps: steps.sort((a, b) => a.t - b.t), triggeredAt, resumedFromTriggeredSave, waits, attempts, problems };
}

/**
 * The run record: one JSON file per attempt of a run, written by the job itself next to its
 * checkpoints (`<--save>/run-records/<start>.json`, on the shared volume and so, with FSx, exported
 * to S3 with the checkpoints): the resolved training config, the generated argv and env (secret
 * values never: only their names), the image, the git commit of the deployment, start and end,
 * nodes and GPUs, GPU-hours and the on-demand cost estimate.
 *
 * The static part is a ConfigMap mounted into the head (/etc/miles-cluster/run-record); so is the
 * run's entrypoint script, which runs the writer before and after train.py. The writer is python3 (stdlib) and runs in
 * the run's image; test/monitoring.test.ts runs it.
 */
import { createHash } from "node:crypto";
import type { ResolvedRun } from "./run";
import { shellQuote } from "./argv";
import { partOfLabels } from "../labels";
import { HEAD_COMPONENT, RUN_LABELS } from "../../catalog/runLabels";
import { SHARED_MOUNT_PATH } from "../../catalog/sharedPaths";
import type { StorageConfig } from "../../config";
import { trainingSecretPaths } from "../../config/training";
import { linkS3Prefix } from "../storage";

export const RUN_RECORD_DIR = "run-records";
export const RUN_RECORD_MOUNT = "/etc/miles-cluster/run-record";
export const RUN_RECORD_VOLUME = "run-record";
export const RUN_RECORD_SCHEMA = "miles-cluster/run-record/v1";
/**
 * Schema of a run event: one JSON file written beside the records by a watcher of the run (the spot
 * node watcher, domain/lifecycle/nodeWatch.ts) when something happens to a node of the run —
 * `{ schema, run, kind, node, event, outcome, at }` — which `miles-cluster runs` reads to say why an
 * attempt ended and which nodes were left out (attempts.ts).
 */
export const RUN_EVENT_SCHEMA = "miles-cluster/run-event/v1";
/** Sub-directory of the run's records directory (`<checkpointDir>/run-records/`) the events go to. */
export const RUN_EVENTS_DIR = "events";
/** The run record's git commit when the program does not run from a git checkout (or under `plan`). */
export const UNKNOWN_COMMIT = "unknown";

export interface RunRecordStatic {
    schema: string;
    stack: string;
    run: string;
    namespace: string;
    image: string;
    gitCommit: string;
    nodes: number;
    gpusPerNode: number;
    instanceType?: string;
    /** On-demand USD per node-hour (catalog/instances.ts), when the instance type is known. */
    usdPerNodeHour?: number;
    checkpointDir: string;
    argv: string[];
    env: Record<string, string>;
    secretEnv: string[];
    config: unknown;
}

export function runRecordStatic(r: ResolvedRun, meta: { stack: string; gitCommit: string; usdPerNodeHour?: number }): RunRecordStatic {
    return {
        schema: RUN_RECORD_SCHEMA,
        stack: meta.stack,
        run: r.runName,
        namespace: r.namespace,
        image: r.imageName,
        gitCommit: meta.gitCommit,
        nodes: r.nodesNeeded,
        gpusPerNode: r.gpusPerNode,
        instanceType: r.group?.instanceType,
        usdPerNodeHour: meta.usdPerNodeHour,
        checkpointDir: r.paths.checkpointDir,
        argv: r.command.argv,
        env: Object.fromEntries(r.command.env.map((e) => [e.name, e.value])),
        secretEnv: r.command.secretEnv.map((s) => s.name),
        config: redactSecrets(r.training, trainingSecretPaths),
    };
}

/** What a secret's value becomes in the record (the ConfigMap is not a Secret). */
export const REDACTED = "(secret)";

/** `value` with every leaf at one of `paths` (`*` = any key) replaced by REDACTED. */
export function redactSecrets(value: unknown, paths: ReadonlyArray<ReadonlyArray<string>>, at: string[] = []): unknown {
    if (value === undefined) return undefined;
    if (paths.some((p) => p.length === at.length && p.every((seg, i) => seg === "*" || seg === at[i]))) return REDACTED;
    if (Array.isArray(value)) return value.map((x, i) => redactSecrets(x, paths, [...at, String(i)]));
    if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, redactSecrets(x, paths, [...at, k])]));
    return value;
}

/** `start` prints the record's path; `end <path> <exit code> [<reason>]` completes it (the reason: why train.py did not start). Atomic writes (tmp + rename). */
export const RUN_RECORD_WRITER = `
import datetime, json, os, socket, sys, time
def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
def write(path, rec):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(rec, f, indent=2, sort_keys=True)
    os.replace(tmp, path)
if sys.argv[1] == "start":
    rec = json.load(open(os.path.join(os.environ.get("MILES_CLUSTER_RECORD_DIR", "${RUN_RECORD_MOUNT}"), "record.json")))
    d = os.path.join(rec["checkpointDir"], "${RUN_RECORD_DIR}")
    os.makedirs(d, exist_ok=True)
    rec.update(startedAt=now(), startedAtEpoch=time.time(), headPod=socket.gethostname(), status="running")
    path = os.path.join(d, rec["startedAt"].replace(":", "") + ".json")
    write(path, rec)
    print(path)
else:
    path, code = sys.argv[2], int(sys.argv[3])
    rec = json.load(open(path))
    secs = max(0.0, time.time() - rec["startedAtEpoch"])
    rec.update(endedAt=now(), exitCode=code, status="succeeded" if code == 0 else "failed", durationSeconds=round(secs))
    if len(sys.argv) > 4 and sys.argv[4]:
        rec["endReason"] = sys.argv[4]
    rec["gpuHours"] = round(rec["nodes"] * rec["gpusPerNode"] * secs / 3600, 3)
    if rec.get("usdPerNodeHour") is not None:
        rec["costUsdEstimate"] = round(rec["nodes"] * rec["usdPerNodeHour"] * secs / 3600, 2)
    write(path, rec)
`.trimStart();

/**
 * The run's entrypoint script, a key of the run-record ConfigMap mounted in the head: the record's
 * start, then `<words…>` (python3 train.py and its argv, each word quoted for bash), then the
 * record's end; train.py's exit code is the job's. A failed start never stops the run.
 *
 * Why a file: KubeRay v1.7.0 pastes `spec.entrypoint` raw into the submitter's bash script
 * (ray-project/kuberay v1.7.0 ray-operator/controllers/ray/common/job.go:205
 * `cmd = append(cmd, "--", entrypoint, ";")`, joined with spaces and run by `/bin/bash -ce`:
 * rayjob_controller.go:645-646, utils/util.go:1012), so a `;` in it ends `ray job submit` there and
 * the rest runs in the 1-CPU submitter pod (kuberay issue #3802). `ray job submit -- <words>` then
 * joins the words again (ray python/ray/dashboard/modules/job/cli.py `submit`: `list2cmdline`,
 * `shlex.join` since ray-project/ray#63797) and the head runs that with a shell (job_supervisor.py
 * `JobSupervisor._exec_entrypoint`: `subprocess.Popen(entrypoint, shell=True)`). Words of
 * CHAIN_SAFE characters only pass all three unchanged, so the RayJob's entrypoint is just
 * `bash <mount>/<this key>` (runEntrypoint) and every other character stays inside this file.
 *
 * The script finds write.py and record.json next to itself (`$0`), and gives the writer its
 * directory only: train.py's environment is the one Ray gives the job, as before.
 */
export function recordedEntrypointScript(words: readonly string[], pre?: RunPreconditions): string {
    // One line, each word quoted for bash: the same text as the run's `command.entrypoint` (argv.ts).
    const command = words.map(shellQuote).join(" ");
    const head = [
        "# The run's entrypoint (miles-cluster domain/training/runRecord.ts): the run record's start, the command, its end.",
        'd=$(dirname "$0")',
        'MILES_CLUSTER_RECORD=$(MILES_CLUSTER_RECORD_DIR="$d" python3 "$d/write.py" start) || MILES_CLUSTER_RECORD=',
    ];
    const end = [
        'if [ -n "$MILES_CLUSTER_RECORD" ]; then MILES_CLUSTER_RECORD_DIR="$d" python3 "$d/write.py" end "$MILES_CLUSTER_RECORD" "$rc"' + (pre ? ' "$MILES_CLUSTER_BLOCKED"' : "") + "; fi",
        'exit "$rc"',
        "",
    ];
    if (!pre) return [...head, command, "rc=$?", ...end].join("\n");
    // Preconditions (queued runs, issue 22): `ready.py` waits for each check of `ready.json` (bounded),
    // prints why it gave up on stdout (kept for the record) and its progress on stderr (the job's
    // log); train.py runs only when every one holds. The checks (identities, files, bounds) are in
    // ready.json, not in this script: a new gate identity (say another threshold) updates the
    // ConfigMap but not the RayJob's entrypoint, so a running run is not replaced for it (the
    // gate's issue-20 rule); its next attempt checks the new identity.
    return [
        ...head,
        'MILES_CLUSTER_BLOCKED=$(python3 "$d/ready.py" "$d/ready.json")',
        "rc=$?",
        'if [ "$rc" = 0 ]; then',
        `  ${command}`,
        "  rc=$?",
        "else",
        '  [ -n "$MILES_CLUSTER_BLOCKED" ] || MILES_CLUSTER_BLOCKED="miles-cluster: train.py not started: the precondition check (ready.py) failed with exit code $rc"',
        '  echo "$MILES_CLUSTER_BLOCKED" >&2',
        `  rc=${RUN_BLOCKED_EXIT}`,
        "fi",
        ...end,
    ].join("\n");
}

/**
 * What a queued run waits for before train.py (issue 22: with Kueue on, `pulumi up` awaits neither
 * the gate nor the conversion, and the queue may admit the run beside them when the quota fits both):
 * a passing verdict of its fabric gate, and the done file of its conversion, each with its identity.
 */
export interface RunPreconditions {
    /** The gate's verdict file, the gate Job's name and identity hash (domain/fabric/gateVerdict.ts). */
    gate?: { gate: string; hash: string; file: string; waitSeconds: number };
    /** The convert Job's done file and the conversion's hash (prepJobs.ts convertScript). */
    conversion?: { job: string; hash: string; file: string; waitSeconds: number };
}

/** Exit code of a run whose preconditions did not hold (train.py not started). */
export const RUN_BLOCKED_EXIT = 3;

/** One check of ready.json. */
export interface ReadyCheck {
    kind: "conversion" | "gate";
    file: string;
    /** The Job that writes the file. */
    name: string;
    hash: string;
    waitSeconds: number;
}

/** ready.json: the checks in order, conversion first (the gate measures after it). */
export function readyChecks(pre: RunPreconditions): ReadyCheck[] {
    const out: ReadyCheck[] = [];
    if (pre.conversion) out.push({ kind: "conversion", file: pre.conversion.file, name: pre.conversion.job, hash: pre.conversion.hash, waitSeconds: pre.conversion.waitSeconds });
    if (pre.gate) out.push({ kind: "gate", file: pre.gate.file, name: pre.gate.gate, hash: pre.gate.hash, waitSeconds: pre.gate.waitSeconds });
    return out;
}

/**
 * The precondition checker (python3, stdlib), a key of the run-record ConfigMap: for each check of
 * ready.json (readyChecks), polls
 * its file until it holds this run's identity, at most the check's seconds; exit 0 when all hold, else
 * exit 1 with the reason on stdout. A gate verdict of the right identity that failed ends the wait at
 * once (the gate Job does not retry: backoffLimit 0); a file of another identity is stale (another
 * gate or conversion wrote it) and is waited past.
 */
export const RUN_READY_CHECKER = `
import json, sys, time
def log(s):
    print(s, file=sys.stderr, flush=True)
def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None
def fig(x):
    return "none" if x is None else f"{x:g} GB/s"
def gate(text, name, want):
    try:
        v = json.loads(text)
    except ValueError:
        return None, f"unreadable verdict"
    if v.get("hash") != want:
        return None, f"a verdict of gate identity {v.get('hash')} (gate {v.get('gate')}), not {want}"
    what = f"fabric gate {name} (identity {want}): {v.get('nodes')} node(s), {v.get('fabric')}, transport {v.get('transport')}, bus bandwidth {fig(v.get('busBandwidthGBps'))}, threshold {fig(v.get('thresholdGBps'))}"
    if v.get("pass") is True:
        return True, what + ": passed"
    return False, what + ": FAILED: " + "; ".join(v.get("problems") or ["no reason recorded"])
for c in json.load(open(sys.argv[1])):
    kind, path, name, want, secs = c["kind"], c["file"], c["name"], c["hash"], float(c["waitSeconds"])
    deadline = time.time() + secs
    step = max(0.2, min(10.0, secs / 20))
    while True:
        text = read(path)
        if kind == "gate":
            ok, why = gate(text, name, want) if text is not None else (None, "no verdict")
        else:
            have = None if text is None else text.strip()
            ok, why = (True, f"conversion {name} done ({want})") if have == want else (None, "no done file" if have is None else f"the done file of another conversion ({have}), not {want}")
        if ok is True:
            log(f"miles-cluster: {why}")
            break
        if ok is False:
            print(f"miles-cluster: train.py not started: {why} (verdict {path}). Fix the cause, then resubmit the run (pulumi up --replace on the gate Job reruns the gate).")
            sys.exit(1)
        if time.time() >= deadline:
            if kind == "gate":
                print(f"miles-cluster: train.py not started: no passing verdict of fabric gate {name} (identity {want}) at {path} after {secs:g} s ({why}). Is the gate Job queued or failed? kubectl get job {name}; kubectl logs -l job-name={name}")
            else:
                print(f"miles-cluster: train.py not started: conversion {name} not done after {secs:g} s ({why} at {path}). kubectl get job {name}; kubectl logs -l job-name={name}")
            sys.exit(1)
        log(f"miles-cluster: waiting for {'fabric gate ' if kind == 'gate' else 'conversion '}{name}: {why} at {path} ({max(0, round(deadline - time.time()))} s left)")
        time.sleep(step)
`.trimStart();

/** Characters a word of the RayJob entrypoint may hold to reach the head's shell unchanged (bash, list2cmdline or shlex.join, sh: none of them quotes or splits these). */
export const CHAIN_SAFE = /^[A-Za-z0-9_\-.,/:=@+%]+$/;

/** The run's command: `python3 <script> <argv…>`. */
export function runWords(r: Pick<ResolvedRun, "command">): string[] {
    return ["python3", r.command.script, ...r.command.argv];
}

/**
 * ConfigMap key of the run's entrypoint script: named after its content, so that a changed command
 * changes the RayJob's entrypoint and so replaces the RayJob (RAYJOB_REPLACE_ON_CHANGES), as a
 * changed inline entrypoint did.
 */
export function entrypointScriptKey(script: string): string {
    return `entrypoint-${createHash("sha256").update(script).digest("hex").slice(0, 12)}.sh`;
}

/** The run's entrypoint script and its ConfigMap key. */
export function runEntrypointScript(r: Pick<ResolvedRun, "command">, pre?: RunPreconditions): { key: string; script: string } {
    const script = recordedEntrypointScript(runWords(r), pre);
    return { key: entrypointScriptKey(script), script };
}

/** The RayJob's `spec.entrypoint` when the run-record ConfigMap is mounted at `mount`: only CHAIN_SAFE words. */
export function runEntrypoint(r: Pick<ResolvedRun, "command">, mount: string = RUN_RECORD_MOUNT, pre?: RunPreconditions): string {
    return `bash ${mount}/${runEntrypointScript(r, pre).key}`;
}

/** ConfigMap name of a run's record. */
export function runRecordConfigMapName(runName: string): string {
    return `${runName}-run-record`;
}

export interface RunRecordConfigMapManifest {
    apiVersion: "v1";
    kind: "ConfigMap";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    /** record.json, write.py, ready.py and ready.json (a queued run) and the entrypoint script (`entrypoint-<hash>.sh`, runEntrypointScript). */
    data: { "record.json": string; "write.py": string; [entrypointScript: string]: string };
}

/**
 * The ConfigMap the head mounts at RUN_RECORD_MOUNT: the record's static part, its writer and the
 * run's entrypoint script; with `pre` (a queued run), the precondition checker the script runs.
 */
export function runRecordConfigMap(r: ResolvedRun, meta: { stack: string; gitCommit: string; usdPerNodeHour?: number }, pre?: RunPreconditions): RunRecordConfigMapManifest {
    const entry = runEntrypointScript(r, pre);
    const ready: Record<string, string> = pre ? { "ready.py": RUN_READY_CHECKER, "ready.json": JSON.stringify(readyChecks(pre), null, 2) } : {};
    return {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: runRecordConfigMapName(r.runName), namespace: r.namespace, labels: { ...partOfLabels("run-record"), [RUN_LABELS.instance]: r.runName } },
        data: { "record.json": JSON.stringify(runRecordStatic(r, meta), null, 2), "write.py": RUN_RECORD_WRITER, ...ready, [entry.key]: entry.script },
    };
}

/**
 * Where a run's records can be read once the run is over: the S3 prefix they are exported to, when
 * the checkpoint directory lies in an FSx directory linked to the bucket with NEW and CHANGED
 * exported (the record is created at the start and completed at the end); else undefined (EFS, an
 * existing file system, a directory not exported): then only on the volume.
 */
export function runRecordsS3Path(checkpointDir: string, storage: Pick<StorageConfig, "type" | "existingFileSystem" | "links">): string | undefined {
    if (storage.type !== "fsx-lustre" || storage.existingFileSystem !== undefined) return undefined;
    const onVolume = checkpointDir.startsWith(`${SHARED_MOUNT_PATH}/`) ? checkpointDir.slice(SHARED_MOUNT_PATH.length) : undefined;
    if (onVolume === undefined) return undefined;
    const link = storage.links.find((l) => (onVolume === l.path || onVolume.startsWith(`${l.path}/`)) && l.export.includes("NEW") && l.export.includes("CHANGED"));
    if (!link) return undefined;
    return [linkS3Prefix(link), onVolume.slice(link.path.length).replace(/^\/+/, ""), RUN_RECORD_DIR].filter((x) => x !== "").join("/");
}

/** The local directory `runRecordsCommand` copies a stack's records to (and `miles-cluster runs --stack` reads). */
export function localRunRecordsDir(stack: string): string {
    return `run-records/${stack}`;
}

/** The file a stack's Kueue Workloads of one namespace are copied to, beside the records (`miles-cluster runs` reads them: admission times, eviction reasons). */
export const workloadsFile = (namespace: string) => `workloads-${namespace}.json`;

/**
 * How to copy a stack's run records to `run-records/<stack>/<run>/` and list them: from the
 * checkpoint bucket (`aws s3 sync`, also after the Ray cluster is gone), else from the run's head
 * pod while its Ray cluster exists (`kubectl cp`, needs tar in the image). Runs in a Kueue queue
 * also get their namespace's Workloads copied (`kubectl get workloads -o json`): the admission each
 * attempt's GPU-hours count from and the reason of the latest eviction (domain/training/attempts.ts).
 */
export function runRecordsCommand(stack: string, runs: ReadonlyArray<{ runName: string; namespace: string; checkpointDir: string; queued?: boolean }>, storage: Pick<StorageConfig, "type" | "existingFileSystem" | "links">): string {
    const local = localRunRecordsDir(stack);
    const copies = runs.map((r) => {
        const s3 = runRecordsS3Path(r.checkpointDir, storage);
        if (s3 !== undefined) return `aws s3 sync s3://$(pulumi stack output checkpointBucket --stack ${stack})/${s3}/ ./${local}/${r.runName}/`;
        const head = `$(kubectl -n ${r.namespace} get pod -l ${RUN_LABELS.instance}=${r.runName},${RUN_LABELS.component}=${HEAD_COMPONENT} -o jsonpath='{.items[0].metadata.name}')`;
        return `kubectl cp -c ${HEAD_COMPONENT} ${r.namespace}/${head}:${r.checkpointDir}/${RUN_RECORD_DIR} ./${local}/${r.runName}`;
    });
    const queuedNamespaces = [...new Set(runs.filter((r) => r.queued).map((r) => r.namespace))];
    const workloads = queuedNamespaces.map((ns) => `kubectl -n ${ns} get workloads.kueue.x-k8s.io -o json > ./${local}/${workloadsFile(ns)}`);
    return [...copies, ...workloads, `npx miles-cluster runs --stack ${stack}`].join(" && ");
}

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
 * save watcher, domain/lifecycle/spotSave.ts) when something happens to a node of the run —
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

/** `start` prints the record's path; `end <path> <exit code>` completes it. Atomic writes (tmp + rename). */
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
export function recordedEntrypointScript(words: readonly string[]): string {
    // One line, each word quoted for bash: the same text as the run's `command.entrypoint` (argv.ts).
    const command = words.map(shellQuote).join(" ");
    return [
        "# The run's entrypoint (miles-cluster domain/training/runRecord.ts): the run record's start, the command, its end.",
        'd=$(dirname "$0")',
        'MILES_CLUSTER_RECORD=$(MILES_CLUSTER_RECORD_DIR="$d" python3 "$d/write.py" start) || MILES_CLUSTER_RECORD=',
        command,
        "rc=$?",
        'if [ -n "$MILES_CLUSTER_RECORD" ]; then MILES_CLUSTER_RECORD_DIR="$d" python3 "$d/write.py" end "$MILES_CLUSTER_RECORD" "$rc"; fi',
        'exit "$rc"',
        "",
    ].join("\n");
}

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
export function runEntrypointScript(r: Pick<ResolvedRun, "command">): { key: string; script: string } {
    const script = recordedEntrypointScript(runWords(r));
    return { key: entrypointScriptKey(script), script };
}

/** The RayJob's `spec.entrypoint` when the run-record ConfigMap is mounted at `mount`: only CHAIN_SAFE words. */
export function runEntrypoint(r: Pick<ResolvedRun, "command">, mount: string = RUN_RECORD_MOUNT): string {
    return `bash ${mount}/${runEntrypointScript(r).key}`;
}

/** ConfigMap name of a run's record. */
export function runRecordConfigMapName(runName: string): string {
    return `${runName}-run-record`;
}

export interface RunRecordConfigMapManifest {
    apiVersion: "v1";
    kind: "ConfigMap";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    /** record.json, write.py and the entrypoint script (`entrypoint-<hash>.sh`, runEntrypointScript). */
    data: { "record.json": string; "write.py": string; [entrypointScript: string]: string };
}

/** The ConfigMap the head mounts at RUN_RECORD_MOUNT: the record's static part, its writer and the run's entrypoint script. */
export function runRecordConfigMap(r: ResolvedRun, meta: { stack: string; gitCommit: string; usdPerNodeHour?: number }): RunRecordConfigMapManifest {
    const entry = runEntrypointScript(r);
    return {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: runRecordConfigMapName(r.runName), namespace: r.namespace, labels: { ...partOfLabels("run-record"), [RUN_LABELS.instance]: r.runName } },
        data: { "record.json": JSON.stringify(runRecordStatic(r, meta), null, 2), "write.py": RUN_RECORD_WRITER, [entry.key]: entry.script },
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

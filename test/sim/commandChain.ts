/**
 * The deployment simulation's command chain: what becomes of a RayJob's `spec.entrypoint` between
 * KubeRay and train.py, executed with real shells in a sandbox.
 *
 * 1. KubeRay v1.7.0 (K8sJobMode) builds the submitter's command (ray-project/kuberay v1.7.0
 *    ray-operator/controllers/ray/common/job.go BuildJobSubmitCommand, lines 90-212: the GCS health
 *    wait loop 142-152, `if ! ray job status … ; then` 160-164, `ray job submit --address … --no-wait`
 *    166-170, the options 172-202, `"--", entrypoint, ";"` 205 — the entrypoint pasted raw, after
 *    strings.TrimSpace 114 — and `fi ; ray job logs --follow` 206-209), joins it with spaces and runs
 *    it as `/bin/bash -ce -- <script>` in the submitter pod (rayjob_controller.go
 *    configureSubmitterContainer 641-647, only when the template's container has no command;
 *    utils/util.go GetContainerCommand 1005-1013; env PYTHONUNBUFFERED, RAY_DASHBOARD_ADDRESS,
 *    RAY_JOB_SUBMISSION_ID 649-656). kuberaySubmitterScript models it; the real bash runs it.
 * 2. `ray job submit -- <words>` joins the words into one string (ray python/ray/dashboard/modules/
 *    job/cli.py `submit`: `list2cmdline(entrypoint)`; since ray-project/ray#63797, merged 2026-06,
 *    `shlex.join(entrypoint)` off Windows). The miles image does not pin Ray (bare `ray[default]`),
 *    so both are simulated. `ray job status` of an unknown job fails; `ray job logs --follow` exits 0
 *    whatever the job did (cli.py `logs`). A stub `ray` (python3) stands for the CLI.
 * 3. The job supervisor runs that string with a shell on the head: job_supervisor.py
 *    `JobSupervisor._exec_entrypoint`, `subprocess.Popen(self._entrypoint, shell=True,
 *    start_new_session=True, env=env)`; the supervisor actor is pinned to the head node unless the job
 *    asks for entrypoint resources or RAY_JOB_ALLOW_DRIVER_ON_WORKER_NODES=1 (job_manager.py
 *    `JobManager._get_scheduling_strategy`; our RayJobs ask for none). The stub runs it the same way,
 *    in a working directory standing for the head, with the head container's env.
 *    (Ray's snapshot is too large to bring here whole; these are read at ray-project/ray master,
 *    cli.py blob 0718d5b0, job_supervisor.py 06a58f81: functions named, not line numbers.)
 *
 * Sandbox: the head's mounted ConfigMap files are written under <tmp>/head-fs<mount path>, and every
 * volume path of the head (the ConfigMap mounts and the shared volume) is relocated there by replacing
 * its prefix with the sandbox directory, in the files' contents and in the string the head's shell
 * runs (not in what the submitter runs: that pod has none of these volumes, so a path to them fails
 * there as in the cluster). The sandbox root is made of plain characters only, so the replacement
 * changes no word's quoting. Paths train.py receives and files it writes are mapped back before they
 * are reported. train.py itself is intercepted by a `python3` wrapper first on
 * PATH: for the run's script it records argv, cwd and env and exits with the chosen code; anything
 * else (the run-record writer, the `ray` stub) runs with the real python3.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Plan } from "../../plan/run";
import { fabricGatePlan, type Fabric } from "../../domain/fabric/gate";
import { objectsOf } from "./world";

/** The RayJob fields KubeRay v1.7.0 reads to build the submitter's command. */
export interface RayJobSpecLike {
    entrypoint: string;
    runtimeEnvYAML?: string;
    metadata?: Record<string, string>;
    entrypointNumCpus?: number;
    entrypointNumGpus?: number;
    entrypointResources?: string;
    submitterPodTemplate?: { spec?: { containers?: Array<{ command?: string[] }> } };
}

/** Go's strconv.Quote for printable ASCII (JSON's escaping agrees there); anything else is not modelled. */
function goQuote(s: string): string {
    if (!/^[\x20-\x7e]*$/.test(s)) throw new Error(`strconv.Quote of non-printable or non-ASCII text is not modelled: ${JSON.stringify(s)}`);
    return JSON.stringify(s);
}

/** utils/constant.go:335-343 (RayDashboardGCSHealthPath, the 10 s timeout, BasePythonHealthCommand). */
const healthCommand = (url: string) => `python -c "import urllib.request; r=urllib.request.urlopen('${url}/api/gcs_healthz', timeout=10); exit(0 if b'success' in r.read() else 1)"`;

/** The words of KubeRay v1.7.0's submitter command in K8sJobMode (job.go BuildJobSubmitCommand 90-212). */
export function kuberaySubmitterWords(spec: RayJobSpecLike, status: { dashboardURL: string; jobId: string }): string[] {
    if (spec.runtimeEnvYAML) throw new Error("runtimeEnvYAML is not modelled (job.go getRuntimeEnvJson: YAML to JSON, then strconv.Quote)");
    // job.go:103-106
    const address = status.dashboardURL.startsWith("http://") ? status.dashboardURL : `http://${status.dashboardURL}`;
    const jobId = status.jobId;
    const entrypoint = spec.entrypoint.trim(); // job.go:114 strings.TrimSpace
    const cmd: string[] = [];
    // job.go:142-152: wait for the dashboard's GCS.
    cmd.push("until", healthCommand(address), ">/dev/null", "2>&1", ";", "do", "echo", goQuote(`Waiting for Ray Dashboard GCS to become healthy at ${address} ...`), ";", "sleep", "2", ";", "done", ";");
    // job.go:158-164: K8sJobMode checks the job's status first.
    cmd.push("if", "!", "ray", "job", "status", "--address", address, jobId, ">/dev/null", "2>&1", ";", "then");
    cmd.push("ray", "job", "submit", "--address", address, "--no-wait"); // 166-170
    if (spec.metadata && Object.keys(spec.metadata).length > 0) cmd.push("--metadata-json", goQuote(JSON.stringify(spec.metadata))); // 180-186
    if (jobId.length > 0) cmd.push("--submission-id", jobId); // 188-190
    if ((spec.entrypointNumCpus ?? 0) > 0) cmd.push("--entrypoint-num-cpus", spec.entrypointNumCpus!.toFixed(6)); // 192-194 (%f)
    if ((spec.entrypointNumGpus ?? 0) > 0) cmd.push("--entrypoint-num-gpus", spec.entrypointNumGpus!.toFixed(6)); // 196-198
    if (spec.entrypointResources) cmd.push("--entrypoint-resources", goQuote(spec.entrypointResources)); // 200-202
    cmd.push("--", entrypoint, ";"); // 205: pasted raw
    cmd.push("fi", ";", "ray", "job", "logs", "--address", address, "--follow", jobId); // 206-209
    return cmd;
}

/** The submitter container's command and args (rayjob_controller.go:643-647, util.go:1005-1013 without ENABLE_LOGIN_SHELL). */
export function kuberaySubmitterCommand(spec: RayJobSpecLike, status: { dashboardURL: string; jobId: string }): string[] {
    const own = spec.submitterPodTemplate?.spec?.containers?.[0]?.command;
    if (own && own.length > 0) throw new Error("the submitter template sets a command: KubeRay keeps it (rayjob_controller.go:643), not modelled");
    return ["/bin/bash", "-ce", "--", kuberaySubmitterWords(spec, status).join(" ")];
}

/** How `ray job submit` joins the words after `--` (cli.py `submit`). */
export type RayJoin = "list2cmdline" | "shlex.join";

export interface ChainInput {
    rayJobName: string;
    namespace: string;
    spec: RayJobSpecLike;
    /** The head's mounted ConfigMaps: mount path → file name → content. */
    headConfigMaps: Record<string, Record<string, string>>;
    /** Other volumes of the head (e.g. the shared volume at /shared), relocated into the sandbox. */
    headVolumes: string[];
    /** The head container's plain env (name → value). */
    headEnv: Record<string, string>;
    /** train.py's path in the image (e.g. /root/miles/train.py): intercepted. */
    trainScript: string;
    /** train.py's exit code. @default 0 */
    trainExit?: number;
    join: RayJoin;
    /** Files on the head's volumes before the job starts (path as the pod sees it → content): what other pods wrote to the shared volume. */
    headFilesBefore?: Record<string, string>;
    /** Files another pod writes on the head's volumes while the job runs: `afterMs` after `when` (a path on the head's volumes) appears, atomically (by rename). */
    headFilesLater?: { when: string; afterMs: number; files: Record<string, string> };
}

export interface TrainRun {
    side: "head" | "submitter" | "elsewhere";
    argv: string[];
    env: Record<string, string>;
}

export interface ChainResult {
    /** Exit code of the submitter's `/bin/bash -ce` (the submitter Job's). */
    submitterExit: number | null;
    /** What `ray job submit` received after `--`, and the string it sent (undefined: never submitted). */
    submitted?: { words: string[]; entrypoint: string };
    /** Exit code of the job: the supervisor's shell running the entrypoint on the head. */
    jobExit?: number;
    /** Every start of train.py, with the side it ran on. */
    trainRuns: TrainRun[];
    /** Files the run wrote on the head's volumes, by path as the pod sees it → content. */
    headFiles: Record<string, string>;
    stdout: string;
    stderr: string;
}

let realPython: string | undefined;
/** The real python3 (not a pyenv shim), for the stubs' shebangs and the wrapper. */
function pythonPath(): string {
    if (realPython === undefined) {
        const r = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8", timeout: 10000 });
        if (r.status !== 0) throw new Error(`python3 is needed: ${r.stderr}`);
        realPython = r.stdout.trim();
    }
    return realPython;
}

/**
 * Stub of the Ray job CLI: `job status` of an unknown job fails, `job logs --follow` exits 0 (both
 * answered by sh, cheaply); `job submit` runs RAY_SUBMIT_STUB.
 */
const RAY_STUB = (py: string, submit: string) => `#!/bin/sh
case "$1 $2" in
    "job status") exit 1 ;;
    "job logs") exit 0 ;;
    "job submit") exec ${py} -S ${submit} "$@" ;;
esac
exit 2
`;

/**
 * `ray job submit … -- <words>`: joins the words as cli.py does, then runs the string on the "head"
 * with shell=True as JobSupervisor._exec_entrypoint does (python3 -S: the stub needs the stdlib only).
 */
const RAY_SUBMIT_STUB = `
import json, os, re, shlex, subprocess, sys
args = sys.argv[1:]
def note(**kw):
    with open(os.environ["SIM_EVENTS"], "a") as f:
        f.write(json.dumps(kw) + "\\n")
words = args[args.index("--") + 1:]
entrypoint = subprocess.list2cmdline(words) if os.environ["SIM_RAY_JOIN"] == "list2cmdline" else shlex.join(words)
note(event="submit", words=words, entrypoint=entrypoint)
env = json.load(open(os.environ["SIM_HEAD_ENV"]))
# The head's filesystem: its volumes live in the sandbox (only the head sees them there).
head = entrypoint
for v in json.loads(os.environ["SIM_HEAD_VOLUMES"]):
    head = re.sub(r"(?<![\\w.-])" + re.escape(v) + r"(?=/|$|[^\\w.-])", lambda m: os.environ["SIM_HEAD_FS"] + v, head)
p = subprocess.Popen(head, shell=True, start_new_session=True, cwd=os.environ["SIM_HEAD_DIR"], env=env, stdout=sys.stdout, stderr=subprocess.STDOUT)
note(event="job", returncode=p.wait(timeout=8))
`;

/** The python3 wrapper: train.py is recorded (argv NUL-separated, then the env), everything else is the real python3. */
const PYTHON_WRAPPER = (py: string, trainScript: string) => `#!/bin/bash
if [ "$1" = ${JSON.stringify(trainScript)} ]; then
    shift
    n=$(date +%s%N)
    { printf '%s\\n' "$PWD"; printf '%s\\0' "$@"; } > "$SIM_TRAIN_DIR/$n.argv"
    env -0 > "$SIM_TRAIN_DIR/$n.env"
    exit "\${SIM_TRAIN_EXIT:-0}"
fi
exec ${py} "$@"
`;

/** Runs a RayJob's entrypoint through the whole chain (submitter bash, ray job submit, the head's sh) in a sandbox. */
export function runCommandChain(input: ChainInput): ChainResult {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "chain"));
    if (!/^[A-Za-z0-9_\-./]+$/.test(root)) throw new Error(`sandbox path ${root} has characters a shell treats specially`);
    try {
        const dir = (...p: string[]) => {
            const d = path.join(root, ...p);
            fs.mkdirSync(d, { recursive: true });
            return d;
        };
        const bin = dir("bin");
        const submitter = dir("submitter");
        const head = dir("head");
        const headFs = dir("head-fs");
        const trainDir = dir("train");
        const events = path.join(root, "events.jsonl");
        const volumes = [...Object.keys(input.headConfigMaps), ...input.headVolumes].sort((a, b) => b.length - a.length);
        const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        const relocate = (text: string) => volumes.reduce((t, v) => t.replace(new RegExp(`(?<![\\w.-])${esc(v)}(?=/|$|[^\\w.-])`, "g"), `${headFs}${v}`), text);
        const unrelocate = (text: string) => text.split(headFs).join("");
        for (const [mount, files] of Object.entries(input.headConfigMaps)) {
            const d = dir("head-fs", mount);
            for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(d, name), relocate(content));
        }
        for (const v of input.headVolumes) dir("head-fs", v);
        const onVolume = (p: string) => {
            if (!input.headVolumes.some((v) => p.startsWith(`${v}/`))) throw new Error(`${p} is on none of the head's volumes (${input.headVolumes.join(", ")})`);
            return path.join(headFs, p);
        };
        const later = Object.entries(input.headFilesLater?.files ?? {}).map(([p, content], i) => {
            const staged = path.join(dir("later"), String(i));
            fs.writeFileSync(staged, content);
            return `mkdir -p ${path.dirname(onVolume(p))} && mv ${staged} ${onVolume(p)}`;
        });
        for (const [p, content] of Object.entries(input.headFilesBefore ?? {})) {
            fs.mkdirSync(path.dirname(onVolume(p)), { recursive: true });
            fs.writeFileSync(onVolume(p), content);
        }
        const l = input.headFilesLater;
        const writer = l && later.length > 0 ? spawn("sh", ["-c", `until [ -e ${onVolume(l.when)} ]; do sleep 0.05; done; sleep ${l.afterMs / 1000}; ${later.join("; ")}`], { stdio: "ignore" }) : undefined;
        const py = pythonPath();
        fs.writeFileSync(path.join(root, "ray_submit.py"), RAY_SUBMIT_STUB);
        fs.writeFileSync(path.join(bin, "ray"), RAY_STUB(py, path.join(root, "ray_submit.py")), { mode: 0o755 });
        fs.writeFileSync(path.join(bin, "python3"), PYTHON_WRAPPER(py, input.trainScript), { mode: 0o755 });
        // The dashboard is healthy: the health wait loop's `python -c …` succeeds at once.
        fs.writeFileSync(path.join(bin, "python"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        const PATH = `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`;
        const sim = { SIM_EVENTS: events, SIM_TRAIN_DIR: trainDir, SIM_TRAIN_EXIT: String(input.trainExit ?? 0) };
        const headEnvFile = path.join(root, "head-env.json");
        fs.writeFileSync(headEnvFile, JSON.stringify({ ...input.headEnv, PATH, HOME: head, ...sim, PYTHONUNBUFFERED: "1", RAY_ADDRESS: "127.0.0.1:6379" }));
        const status = { dashboardURL: `${input.rayJobName}-raycluster-abcde-head-svc.${input.namespace}.svc.cluster.local:8265`, jobId: `${input.rayJobName}-fghij` };
        // The entrypoint is not relocated here: the submitter pod has none of the head's volumes; the
        // stub's "head" relocates the string it runs (the head's view of its mounts).
        const [shell, ...args] = kuberaySubmitterCommand(input.spec, status);
        const r = spawnSync(shell, args, {
            cwd: submitter,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
            timeout: 10000,
            env: { PATH, HOME: submitter, ...sim, SIM_RAY_JOIN: input.join, SIM_HEAD_DIR: head, SIM_HEAD_ENV: headEnvFile, SIM_HEAD_FS: headFs, SIM_HEAD_VOLUMES: JSON.stringify(volumes), PYTHONUNBUFFERED: "1", RAY_DASHBOARD_ADDRESS: status.dashboardURL, RAY_JOB_SUBMISSION_ID: status.jobId },
        });
        writer?.kill();
        const evs = fs.existsSync(events) ? fs.readFileSync(events, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
        const sub = evs.find((e) => e.event === "submit");
        const job = evs.find((e) => e.event === "job");
        const trainRuns: TrainRun[] = fs
            .readdirSync(trainDir)
            .filter((f) => f.endsWith(".argv"))
            .sort()
            .map((f) => {
                const text = fs.readFileSync(path.join(trainDir, f), "utf8");
                const nl = text.indexOf("\n");
                const cwd = text.slice(0, nl);
                const argv = text.slice(nl + 1).split("\0").slice(0, -1).map(unrelocate);
                const env = Object.fromEntries(
                    fs
                        .readFileSync(path.join(trainDir, f.replace(/\.argv$/, ".env")), "utf8")
                        .split("\0")
                        .filter(Boolean)
                        .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
                );
                return { side: cwd === head ? "head" : cwd === submitter ? "submitter" : "elsewhere", argv, env } as TrainRun;
            });
        const headFiles: Record<string, string> = {};
        const walk = (d: string) => {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                const p = path.join(d, e.name);
                if (e.isDirectory()) walk(p);
                else headFiles[p.slice(headFs.length)] = unrelocate(fs.readFileSync(p, "utf8"));
            }
        };
        for (const v of input.headVolumes) walk(path.join(headFs, v));
        return {
            submitterExit: r.status,
            submitted: sub ? { words: (sub.words as string[]).map(unrelocate), entrypoint: unrelocate(String(sub.entrypoint)) } : undefined,
            jobExit: job ? Number(job.returncode) : undefined,
            trainRuns,
            headFiles,
            stdout: unrelocate(r.stdout ?? ""),
            stderr: unrelocate(r.stderr ?? ""),
        };
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
}

/** What the chain needs of a planned RayJob: its spec, the ConfigMaps its head mounts (from the same plan), the head's volumes and plain env. */
export function chainInputOf(objects: { configMaps: ReadonlyArray<{ metadata: { name?: string; namespace?: string }; data?: unknown }> }, rayJob: { metadata: { name?: string; namespace?: string }; spec?: unknown }, trainScript: string): Omit<ChainInput, "join"> {
    const spec = rayJob.spec as RayJobSpecLike & { rayClusterSpec: { headGroupSpec: { template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }>; volumeMounts?: Array<{ name: string; mountPath: string }> }>; volumes?: Array<{ name: string; configMap?: { name: string }; persistentVolumeClaim?: unknown }> } } } } };
    const head = spec.rayClusterSpec.headGroupSpec.template.spec;
    const ray = head.containers[0];
    const headConfigMaps: Record<string, Record<string, string>> = {};
    const headVolumes: string[] = [];
    for (const m of ray.volumeMounts ?? []) {
        const v = (head.volumes ?? []).find((x) => x.name === m.name);
        if (v?.configMap) {
            const cm = objects.configMaps.find((c) => c.metadata.name === v.configMap!.name && (c.metadata.namespace ?? rayJob.metadata.namespace) === rayJob.metadata.namespace);
            if (!cm) throw new Error(`the head mounts ConfigMap ${v.configMap.name}, which the plan does not create`);
            headConfigMaps[m.mountPath] = { ...(cm.data as Record<string, string>) };
        } else if (v?.persistentVolumeClaim) headVolumes.push(m.mountPath);
    }
    const headEnv = Object.fromEntries((ray.env ?? []).filter((e) => typeof e.value === "string").map((e) => [e.name, e.value as string]));
    return { rayJobName: String(rayJob.metadata.name), namespace: String(rayJob.metadata.namespace), spec, headConfigMaps, headVolumes, headEnv, trainScript };
}

type JobLike = { metadata: { name?: string }; spec?: unknown };
const jobScript = (job: JobLike): string => {
    const c = (job.spec as { template: { spec: { containers: Array<{ command?: string[] }> } } }).template.spec.containers[0];
    const cmd = c.command ?? [];
    if (cmd[0] !== "bash" || cmd[1] !== "-c") throw new Error(`job ${job.metadata.name}: command ${JSON.stringify(cmd.slice(0, 2))} is not bash -c`);
    return cmd[2];
};

/**
 * What the planned gate Job's pod 0 and convert Job's node 0 leave on the shared volume for the run,
 * made by running their own code from the plan with the real python3 and bash: the gate's verdict
 * script (the heredoc the Job's script writes to /tmp/fabric_verdict.py) over `gateLog` (a captured
 * NCCL log), and the convert script's last line (its done file). Paths as the pods see them → content.
 * `under` is the volume's mount path (/shared); everything is written in a scratch directory standing for it.
 */
export function filesPrepJobsWrite(jobs: { gate?: JobLike; convert?: JobLike }, gateLog: string, under: string): Record<string, string> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "prep"));
    if (!/^[A-Za-z0-9_\-./]+$/.test(root)) throw new Error(`scratch path ${root} has characters a shell treats specially`);
    const relocate = (t: string) => t.split(`${under}/`).join(`${root}${under}/`);
    try {
        if (jobs.gate) {
            const script = jobScript(jobs.gate);
            const m = /cat > \/tmp\/fabric_verdict\.py <<'MILES_EOF'\n([\s\S]*?)\nMILES_EOF\n/.exec(script);
            if (!m) throw new Error(`gate job ${jobs.gate.metadata.name} writes no /tmp/fabric_verdict.py`);
            fs.writeFileSync(path.join(root, "verdict.py"), relocate(m[1]));
            fs.writeFileSync(path.join(root, "gate.log"), gateLog);
            const r = spawnSync(pythonPath(), [path.join(root, "verdict.py"), path.join(root, "gate.log")], { encoding: "utf8", timeout: 10000 });
            if (r.status !== 0) throw new Error(`the gate's verdict script failed: ${r.stderr}`);
        }
        if (jobs.convert) {
            const last = jobScript(jobs.convert).trimEnd().split("\n").pop()!;
            const r = spawnSync("bash", ["-ceu", relocate(last)], { encoding: "utf8", timeout: 10000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_RANK: "0" } });
            if (r.status !== 0) throw new Error(`the convert script's last line failed: ${r.stderr}`);
        }
        const out: Record<string, string> = {};
        const walk = (d: string) => {
            if (!fs.existsSync(d)) return;
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                const p = path.join(d, e.name);
                if (e.isDirectory()) walk(p);
                else out[p.slice(root.length)] = fs.readFileSync(p, "utf8").split(root).join("");
            }
        };
        walk(path.join(root, under.replace(/^\//, "")));
        return out;
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
}

const FABRIC_FIXTURES = path.join(__dirname, "..", "fixtures", "fabric");
const fabricFixture = (f: string) => fs.readFileSync(path.join(FABRIC_FIXTURES, f), "utf8");
/**
 * A gate log that passes on `fabric`: captured NCCL network lines of that transport and the 2 x p5
 * all_reduce_perf table (487 GB/s at 16 GiB, above every stack's threshold), both from test/fixtures/fabric.
 */
export function passingGateLog(fabric: Fabric): string {
    const network = fabric === "efa" ? "p5en-ofi-selected.txt" : fabric === "rdma" ? "infiniband-selected.txt" : fabric === "tcp" ? "socket-fallback-no-plugin.txt" : undefined;
    return [...(network ? [fabricFixture(network)] : []), fabricFixture("p5-2node-efa-allreduce.txt")].join("\n");
}

/** What the planned gate and convert Jobs of the run leave on the shared volume when they pass (their own scripts run on a passing log). */
export function prepFilesOf(p: Plan, runName: string, gateLog?: string): Record<string, string> {
    const run = p.resolved!.runs.find((x) => x.run.runName === runName)!.run;
    const jobs = objectsOf(p, "Job");
    const gate = jobs.find((j) => j.metadata.name === `${runName}-fabric`);
    const convert = jobs.find((j) => j.metadata.name === `${runName}-convert`);
    return filesPrepJobsWrite({ gate, convert }, gateLog ?? passingGateLog(fabricGatePlan(run).fabric), "/shared");
}


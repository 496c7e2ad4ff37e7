/**
 * The lifecycle Job scripts run for real under /bin/sh, with stand-ins for `curl` (the Kubernetes
 * API), `aws` (CloudWatch) and `sleep` on the PATH. The stand-in API answers the way the API server
 * does for a RayJob (200 + JSON, 404) and the stand-in `sleep` plays the run: it removes the
 * sentinel, as miles' train.py does after a forced save.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DEACTIVATE_SCRIPT, MARK_SAVED_SCRIPT, REACTIVATE_SCRIPT, RESUME_SCRIPT, SUSPEND_SCRIPT, TRIGGER_SAVE_SCRIPT, WAIT_EXPORT_SCRIPT } from "../domain/lifecycle/scripts";
import { PRESTOP_SAVE_SCRIPT, preStopSave } from "../domain/training/preStop";

const CURL = `#!/bin/sh
out=/dev/null; method=GET; url=""; data=""
while [ $# -gt 0 ]; do case "$1" in -o) out=$2; shift 2;; -w|-H|--cacert) shift 2;; -X) method=$2; shift 2;; --data) data=$2; shift 2;; -sS) shift;; *) url=$1; shift;; esac; done
echo "$method $url $data" >> "$FAKE/calls"
case "$url" in */api/v1/nodes*) cat "$FAKE/nodes.json"; exit 0;; *"/workloads?"*) cp "$FAKE/workloads.json" "$out"; printf 200; exit 0;; esac
if [ "$method" = PATCH ]; then echo '{}' > "$out"; printf 200; exit 0; fi
if [ -f "$FAKE/rayjob.json" ]; then cp "$FAKE/rayjob.json" "$out"; printf 200; else echo '{"kind":"Status"}' > "$out"; printf 404; fi
`;
// Each call answers the next line of $FAKE/metrics ("0.0\t0.0", "None", ...), the last one repeating.
const AWS = `#!/bin/sh
echo "aws $*" >> "$FAKE/calls"
n=$(cat "$FAKE/n" 2>/dev/null || echo 1); echo $((n + 1)) > "$FAKE/n"
line=$(sed -n "\${n}p" "$FAKE/metrics"); [ -n "$line" ] || line=$(tail -n 1 "$FAKE/metrics")
printf '%b\\n' "$line"
`;
// The run: a sleeping job script gives it time to reach its save point and remove the sentinel.
const SLEEP = `#!/bin/sh
[ "\${FAKE_RUN_SAVES:-true}" = true ] && [ -n "\${SENTINEL:-}" ] && rm -f "$SENTINEL"
exit 0
`;

interface Run {
    code: number;
    out: string;
    calls: string[];
    dir: string;
}

function setup(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lifecycle-"));
    fs.mkdirSync(path.join(dir, "bin"));
    for (const [name, body] of Object.entries({ curl: CURL, aws: AWS, sleep: SLEEP })) fs.writeFileSync(path.join(dir, "bin", name), body, { mode: 0o755 });
    fs.mkdirSync(path.join(dir, "state"));
    fs.mkdirSync(path.join(dir, "sa"));
    fs.writeFileSync(path.join(dir, "sa", "token"), "t");
    return dir;
}

function run(dir: string, script: string, env: Record<string, string>): Run {
    const r = spawnSync("/bin/sh", ["-c", script], {
        env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, FAKE: dir, STATE_DIR: path.join(dir, "state"), SA_DIR: path.join(dir, "sa"), NAMESPACE: "miles", RAYJOB: "qwen3", SENTINEL: path.join(dir, "shared", "control", "qwen3", "save-now"), ...env },
        encoding: "utf8",
    });
    const calls = fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : [];
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, calls, dir };
}

const rayJob = (status: string, annotations: Record<string, string> = {}) => JSON.stringify({ metadata: { name: "qwen3", annotations }, spec: { suspend: false }, status: { jobDeploymentStatus: status } }, null, 2);
const state = (r: Run) => fs.readFileSync(path.join(r.dir, "state", "state"), "utf8").trim();

describe("lifecycle scripts (run under /bin/sh with stand-ins)", () => {
    it("save: a Running RayJob gets the sentinel and the step ends when the run removes it", () => {
        const dir = setup();
        fs.writeFileSync(path.join(dir, "rayjob.json"), rayJob("Running"));
        const r = run(dir, TRIGGER_SAVE_SCRIPT, { SAVE_TIMEOUT_SECONDS: "600" });
        assert.equal(r.code, 0, r.out);
        assert.equal(state(r), "saved");
        assert.match(r.out, /checkpoint written/);
        assert.ok(fs.existsSync(path.join(dir, "shared", "control", "qwen3")), "the sentinel's directory was created");
        assert.ok(!fs.existsSync(path.join(dir, "shared", "control", "qwen3", "save-now")));
        assert.match(r.calls[0], /^GET https:\/\/kubernetes\.default\.svc\/apis\/ray\.io\/v1\/namespaces\/miles\/rayjobs\/qwen3$/);
    });

    it("save: no RayJob, or a finished one, is nothing to save; a pending one is not-running", () => {
        const none = run(setup(), TRIGGER_SAVE_SCRIPT, {});
        assert.equal(none.code, 0);
        assert.equal(state(none), "absent");
        for (const [status, expected] of [["Complete", "finished"], ["Failed", "finished"], ["Initializing", "not-running"]]) {
            const dir = setup();
            fs.writeFileSync(path.join(dir, "rayjob.json"), rayJob(status));
            const r = run(dir, TRIGGER_SAVE_SCRIPT, {});
            assert.equal(r.code, 0, r.out);
            assert.equal(state(r), expected);
            assert.ok(!fs.existsSync(path.join(dir, "shared")), "no sentinel for a run that is not training");
        }
    });

    it("save: a run that does not save before the deadline fails the Job (pre-replacement: the deploy stops), or continues at a block end", () => {
        for (const [onTimeout, code] of [["fail", 1], ["continue", 0]] as const) {
            const dir = setup();
            fs.writeFileSync(path.join(dir, "rayjob.json"), rayJob("Running"));
            const r = run(dir, TRIGGER_SAVE_SCRIPT, { SAVE_DEADLINE: String(Math.floor(Date.now() / 1000) + 1), ON_TIMEOUT: onTimeout, FAKE_RUN_SAVES: "false" });
            // The stand-in sleep returns at once, so the loop spins until the 1 s deadline.
            assert.equal(r.code, code, r.out);
            assert.equal(state(r), "timeout");
            assert.match(r.out, /did not save before the deadline/);
            assert.ok(!fs.existsSync(path.join(dir, "shared", "control", "qwen3", "save-now")), "a stale sentinel would force a save at an unrelated step");
        }
    });

    it("save: onRunningChange refuse fails on a Running RayJob without touching it", () => {
        const dir = setup();
        fs.writeFileSync(path.join(dir, "rayjob.json"), rayJob("Running"));
        const r = run(dir, TRIGGER_SAVE_SCRIPT, { REFUSE_RUNNING: "true" });
        assert.equal(r.code, 1);
        assert.match(r.out, /onRunningChange is refuse/);
        assert.ok(!fs.existsSync(path.join(dir, "shared")));
    });

    it("save: a CronJob firing after its block ended does nothing", () => {
        const dir = setup();
        fs.writeFileSync(path.join(dir, "rayjob.json"), rayJob("Running"));
        const r = run(dir, TRIGGER_SAVE_SCRIPT, { BLOCK_END: "1000" });
        assert.equal(r.code, 0);
        assert.equal(state(r), "absent");
        assert.deepEqual(r.calls, []);
    });

    it("export: waits for two 1-minute datapoints of 0 of AgeOfOldestQueuedMessage (AutoExport) after the save", () => {
        const dir = setup();
        fs.writeFileSync(path.join(dir, "state", "state"), "saved");
        fs.writeFileSync(path.join(dir, "state", "saved-at"), String(Math.floor(Date.now() / 1000)));
        fs.writeFileSync(path.join(dir, "metrics"), ["12.0\t30.0", "30.0\t0.0", "0.0\t0.0"].join("\n"));
        const r = run(dir, WAIT_EXPORT_SCRIPT, { FILE_SYSTEM_ID: "fs-0123456789abcdef0" });
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /export queue empty/);
        const aws = r.calls.filter((c) => c.startsWith("aws "));
        assert.equal(aws.length, 3);
        assert.match(aws[0], /cloudwatch get-metric-statistics --namespace AWS\/FSx --metric-name AgeOfOldestQueuedMessage --dimensions Name=FileSystemId,Value=fs-0123456789abcdef0 Name=Publisher,Value=AutoExport/);
    });

    it("export: no datapoint for NO_DATA_MINUTES means nothing was queued; a queue that never drains fails at the deadline", () => {
        const dir = setup();
        fs.writeFileSync(path.join(dir, "state", "state"), "saved");
        fs.writeFileSync(path.join(dir, "state", "saved-at"), String(Math.floor(Date.now() / 1000)));
        fs.writeFileSync(path.join(dir, "metrics"), "None");
        const quiet = run(dir, WAIT_EXPORT_SCRIPT, { FILE_SYSTEM_ID: "fs-1", NO_DATA_MINUTES: "3" });
        assert.equal(quiet.code, 0, quiet.out);
        assert.match(quiet.out, /nothing is queued/);
        const busy = setup();
        fs.writeFileSync(path.join(busy, "state", "state"), "saved");
        fs.writeFileSync(path.join(busy, "state", "saved-at"), String(Math.floor(Date.now() / 1000)));
        fs.writeFileSync(path.join(busy, "metrics"), "60.0\t120.0");
        const r = run(busy, WAIT_EXPORT_SCRIPT, { FILE_SYSTEM_ID: "fs-1", EXPORT_DEADLINE: String(Math.floor(Date.now() / 1000) + 1) });
        assert.equal(r.code, 1);
        assert.match(r.out, /not empty before the deadline/);
        const skip = setup();
        fs.writeFileSync(path.join(skip, "state", "state"), "absent");
        assert.equal(run(skip, WAIT_EXPORT_SCRIPT, { FILE_SYSTEM_ID: "fs-1" }).code, 0);
    });

    it("suspend: patches spec.suspend=true with the end-of-block mark, unless there is nothing to suspend", () => {
        const dir = setup();
        fs.writeFileSync(path.join(dir, "state", "state"), "saved");
        const r = run(dir, SUSPEND_SCRIPT, {});
        assert.equal(r.code, 0, r.out);
        assert.equal(r.calls.length, 1);
        const [method, url, body] = r.calls[0].split(" ");
        assert.equal(method, "PATCH");
        assert.match(url, /\/rayjobs\/qwen3$/);
        assert.deepEqual(JSON.parse(body), { metadata: { annotations: { "miles-cluster/suspended-by": "capacity-block-end" } }, spec: { suspend: true } });
        for (const st of ["absent", "finished"]) {
            const d = setup();
            fs.writeFileSync(path.join(d, "state", "state"), st);
            assert.deepEqual(run(d, SUSPEND_SCRIPT, {}).calls, []);
        }
    });

    const nodes = (ready: number, notReady: number) =>
        JSON.stringify({ items: [...Array(ready).fill("True"), ...Array(notReady).fill("False")].map((s) => ({ status: { conditions: [{ type: "MemoryPressure", status: "False" }, { type: "Ready", status: s }] } })) });

    it("resume: waits for the block's nodes to be Ready, then resumes only a RayJob the end-of-block save suspended", () => {
        const dir = setup();
        fs.writeFileSync(path.join(dir, "nodes.json"), nodes(4, 0));
        fs.writeFileSync(path.join(dir, "rayjob.json"), rayJob("Suspended", { "miles-cluster/suspended-by": "capacity-block-end" }));
        const env = { NODE_SELECTOR: "miles-cluster%2Fnode-group%3Dh200", NODES_NEEDED: "4", BLOCK_END: String(Math.floor(Date.now() / 1000) + 3600) };
        const r = run(dir, RESUME_SCRIPT, env);
        assert.equal(r.code, 0, r.out);
        const patch = r.calls.find((c) => c.startsWith("PATCH"))!;
        assert.deepEqual(JSON.parse(patch.split(" ")[2]), { metadata: { annotations: { "miles-cluster/suspended-by": null } }, spec: { suspend: false } });
        assert.match(r.calls[0], /\/api\/v1\/nodes\?labelSelector=miles-cluster%2Fnode-group%3Dh200/);

        const paused = setup();
        fs.writeFileSync(path.join(paused, "nodes.json"), nodes(4, 0));
        fs.writeFileSync(path.join(paused, "rayjob.json"), rayJob("Suspended"));
        const p = run(paused, RESUME_SCRIPT, env);
        assert.equal(p.code, 0);
        assert.ok(!p.calls.some((c) => c.startsWith("PATCH")), "a RayJob the user paused stays paused");
        assert.match(p.out, /not suspended by an end-of-block save/);
    });

    it("resume: too few Ready nodes until the block ends means no resume", () => {
        const dir = setup();
        fs.writeFileSync(path.join(dir, "nodes.json"), nodes(3, 1));
        fs.writeFileSync(path.join(dir, "rayjob.json"), rayJob("Suspended", { "miles-cluster/suspended-by": "capacity-block-end" }));
        const r = run(dir, RESUME_SCRIPT, { NODE_SELECTOR: "x", NODES_NEEDED: "4", BLOCK_END: String(Math.floor(Date.now() / 1000) + 1) });
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /3 of 4 nodes Ready/);
        assert.ok(!r.calls.some((c) => c.startsWith("PATCH")));
    });

    // The API server serializes a custom object's map keys in sorted order (Go encoding/json); the stand-in answers the same way.
    const sorted = (v: unknown): unknown => (Array.isArray(v) ? v.map(sorted) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])])) : v);
    const queuedRayJob = (status: string, annotations: Record<string, string> = {}) => JSON.stringify(sorted({ apiVersion: "ray.io/v1", kind: "RayJob", metadata: { name: "qwen3", namespace: "miles", uid: "u-1", annotations }, spec: { suspend: false }, status: { jobDeploymentStatus: status } }));
    const workloads = JSON.stringify(
        sorted({
            apiVersion: "kueue.x-k8s.io/v1beta2",
            kind: "WorkloadList",
            metadata: { resourceVersion: "7" },
            items: [
                {
                    apiVersion: "kueue.x-k8s.io/v1beta2",
                    kind: "Workload",
                    metadata: {
                        labels: { "kueue.x-k8s.io/job-uid": "u-1", "kueue.x-k8s.io/queue-name": "miles" },
                        managedFields: [{ apiVersion: "kueue.x-k8s.io/v1beta2", fieldsType: "FieldsV1", fieldsV1: { "f:metadata": { "f:ownerReferences": { 'k:{"uid":"u-1"}': {} } } }, manager: "kueue", operation: "Update" }],
                        name: "rayjob-qwen3-1a2b3",
                        namespace: "miles",
                        ownerReferences: [{ apiVersion: "ray.io/v1", kind: "RayJob", name: "qwen3", uid: "u-1" }],
                        uid: "w-9",
                    },
                    spec: { active: true, podSets: [{ name: "head", count: 1 }], queueName: "miles" },
                },
            ],
        }),
    );

    it("under Kueue the end-of-block stop deactivates the run's Workload (found by its job-uid label) instead of suspending the RayJob", () => {
        const dir = setup();
        fs.writeFileSync(path.join(dir, "state", "state"), "saved");
        fs.writeFileSync(path.join(dir, "state", "rayjob.json"), queuedRayJob("Running"));
        fs.writeFileSync(path.join(dir, "workloads.json"), workloads);
        const r = run(dir, DEACTIVATE_SCRIPT, {});
        assert.equal(r.code, 0, r.out);
        assert.match(r.calls[0], /^GET https:\/\/kubernetes\.default\.svc\/apis\/kueue\.x-k8s\.io\/v1beta2\/namespaces\/miles\/workloads\?labelSelector=kueue\.x-k8s\.io%2Fjob-uid%3Du-1 ?$/);
        const patches = r.calls.filter((c) => c.startsWith("PATCH")).map((c) => c.split(" "));
        assert.equal(patches.length, 2);
        assert.match(patches[0][1], /\/rayjobs\/qwen3$/);
        assert.deepEqual(JSON.parse(patches[0][2]), { metadata: { annotations: { "miles-cluster/suspended-by": "capacity-block-end" } } }, "the RayJob is only marked: its suspend is Kueue's");
        assert.match(patches[1][1], /\/workloads\/rayjob-qwen3-1a2b3$/);
        assert.deepEqual(JSON.parse(patches[1][2]), { spec: { active: false } });
        assert.ok(!r.calls.some((c) => c.includes('"suspend"')), "never touches spec.suspend");
        const nothing = setup();
        fs.writeFileSync(path.join(nothing, "state", "state"), "finished");
        assert.deepEqual(run(nothing, DEACTIVATE_SCRIPT, {}).calls, []);
    });

    it("under Kueue the resume reactivates the Workload of a RayJob the end-of-block stop marked, and leaves any other alone", () => {
        const env = { NODE_SELECTOR: "miles-cluster.io%2Fnode-group%3Dh200", NODES_NEEDED: "4", BLOCK_END: String(Math.floor(Date.now() / 1000) + 3600) };
        const dir = setup();
        fs.writeFileSync(path.join(dir, "nodes.json"), nodes(4, 0));
        fs.writeFileSync(path.join(dir, "rayjob.json"), queuedRayJob("Suspended", { "miles-cluster/suspended-by": "capacity-block-end" }));
        fs.writeFileSync(path.join(dir, "workloads.json"), workloads);
        const r = run(dir, REACTIVATE_SCRIPT, env);
        assert.equal(r.code, 0, r.out);
        const patches = r.calls.filter((c) => c.startsWith("PATCH")).map((c) => c.split(" "));
        assert.match(patches[0][1], /\/workloads\/rayjob-qwen3-1a2b3$/);
        assert.deepEqual(JSON.parse(patches[0][2]), { spec: { active: true } });
        assert.deepEqual(JSON.parse(patches[1][2]), { metadata: { annotations: { "miles-cluster/suspended-by": null } } });
        const paused = setup();
        fs.writeFileSync(path.join(paused, "nodes.json"), nodes(4, 0));
        fs.writeFileSync(path.join(paused, "rayjob.json"), queuedRayJob("Suspended"));
        assert.ok(!run(paused, REACTIVATE_SCRIPT, env).calls.some((c) => c.startsWith("PATCH")));
    });

    it("a save before a deletion records itself next to the sentinel", () => {
        const dir = setup();
        fs.mkdirSync(path.join(dir, "shared", "control", "qwen3"), { recursive: true });
        fs.writeFileSync(path.join(dir, "state", "state"), "saved");
        assert.equal(run(dir, MARK_SAVED_SCRIPT, {}).code, 0);
        const at = Number(fs.readFileSync(path.join(dir, "shared", "control", "qwen3", "saved-at"), "utf8"));
        assert.ok(Math.abs(at - Date.now() / 1000) < 60);
        const none = setup();
        fs.writeFileSync(path.join(none, "state", "state"), "timeout");
        assert.equal(run(none, MARK_SAVED_SCRIPT, {}).code, 0);
        assert.ok(!fs.existsSync(path.join(none, "shared", "control", "qwen3", "saved-at")));
    });

    describe("preStop of a preemptible run's pods (save before stopping)", () => {
        // A fake /proc: one process per directory with its NUL-separated cmdline.
        const proc = (dir: string, cmdlines: string[]) => {
            cmdlines.forEach((c, i) => {
                fs.mkdirSync(path.join(dir, "proc", String(i + 1)), { recursive: true });
                fs.writeFileSync(path.join(dir, "proc", String(i + 1), "cmdline"), c.split(" ").join("\0"));
            });
            return path.join(dir, "proc");
        };
        const sentinel = (dir: string) => path.join(dir, "shared", "control", "qwen3", "save-now");
        const stop = (dir: string, role: string, extra: Record<string, string> = {}) => run(dir, PRESTOP_SAVE_SCRIPT, { ROLE: role, ENTRY_RE: "train[.]py", SAVE_SECONDS: "600", SENTINEL: sentinel(dir), ...extra });

        it("the head asks a running train.py to save and returns once the run removed the sentinel", () => {
            const dir = setup();
            const r = stop(dir, "head", { PROC: proc(dir, ["/bin/sh -c ray start --head --block", "python3 /root/miles/train.py --actor-num-nodes 1"]) });
            assert.equal(r.code, 0, r.out);
            assert.match(r.out, /asked the run to save/);
            assert.match(r.out, /checkpoint written/);
            assert.ok(!fs.existsSync(sentinel(dir)));
        });

        it("the head does nothing when train.py has finished (a completed job's cluster is deleted at once), however its own command line reads", () => {
            const dir = setup();
            // The hook's own process (sh -c with its script) and the grep it runs are on the head too.
            const hook = (preStopSave("/shared/control/qwen3/save-now", 30, "train.py", "head").lifecycle.preStop as { exec: { command: string[] } }).exec.command.join(" ");
            const r = stop(dir, "head", { PROC: proc(dir, ["/bin/sh -c ray start --head --block", hook, "grep -qs train[.]py /proc/1/cmdline"]) });
            assert.equal(r.code, 0);
            assert.match(r.out, /train\[\.\]py is not running: nothing to save/);
            assert.ok(!fs.existsSync(sentinel(dir)));
        });

        it("a worker waits for the head's sentinel and for the save; with no sentinel it stops after its short wait", () => {
            const dir = setup();
            fs.mkdirSync(path.dirname(sentinel(dir)), { recursive: true });
            fs.writeFileSync(sentinel(dir), "");
            const w = stop(dir, "worker");
            assert.equal(w.code, 0, w.out);
            assert.match(w.out, /checkpoint written/);
            const none = stop(setup(), "worker");
            assert.match(none.out, /no save was asked for/);
        });

        it("a save recorded in the last ten minutes is not repeated; a run that does not save in time is stopped anyway", () => {
            const dir = setup();
            fs.mkdirSync(path.dirname(sentinel(dir)), { recursive: true });
            fs.writeFileSync(path.join(path.dirname(sentinel(dir)), "saved-at"), String(Math.floor(Date.now() / 1000) - 30));
            const r = stop(dir, "head", { PROC: proc(dir, ["python3 /root/miles/train.py"]) });
            assert.match(r.out, /saved 3\d s ago: not saving again/);
            assert.ok(!fs.existsSync(sentinel(dir)));
            const slow = setup();
            const t = stop(slow, "head", { PROC: proc(slow, ["python3 /root/miles/train.py"]), SAVE_SECONDS: "0", FAKE_RUN_SAVES: "false" });
            assert.equal(t.code, 0);
            assert.match(t.out, /did not save within 0 s: stopping anyway/);
            assert.ok(!fs.existsSync(sentinel(slow)), "the sentinel is removed, so a later start does not save at once");
        });

        it("the hook sets its values in the script and a grace period longer than the save wait", () => {
            const h = preStopSave("/shared/control/qwen3/save-now", 30, "train_async.py", "head");
            assert.equal(h.terminationGracePeriodSeconds, 30 * 60 + 120);
            const cmd = (h.lifecycle.preStop as { exec: { command: string[] } }).exec.command;
            assert.deepEqual(cmd.slice(0, 2), ["/bin/sh", "-c"]);
            assert.match(cmd[2], /^SENTINEL=\/shared\/control\/qwen3\/save-now SAVE_SECONDS=1800 ROLE=head ENTRY_RE=train_async\[\.\]py\n/);
        });
    });
});

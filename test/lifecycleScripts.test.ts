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
import { RESUME_SCRIPT, SUSPEND_SCRIPT, TRIGGER_SAVE_SCRIPT, WAIT_EXPORT_SCRIPT } from "../domain/lifecycle/scripts";

const CURL = `#!/bin/sh
out=/dev/null; method=GET; url=""; data=""
while [ $# -gt 0 ]; do case "$1" in -o) out=$2; shift 2;; -w|-H|--cacert) shift 2;; -X) method=$2; shift 2;; --data) data=$2; shift 2;; -sS) shift;; *) url=$1; shift;; esac; done
echo "$method $url $data" >> "$FAKE/calls"
case "$url" in */api/v1/nodes*) cat "$FAKE/nodes.json"; exit 0;; esac
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
});

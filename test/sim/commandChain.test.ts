/**
 * Every committed stack's RayJobs, run through the command chain into train.py (test/sim/commandChain.ts):
 * KubeRay v1.7.0's submitter script under the real bash, `ray job submit`'s re-join (both Ray
 * variants), the head's `sh -c`. train.py must start once, on the head, with the plan's argv and the
 * head's env; the run record must be started and ended on the head; the job's exit code must be
 * train.py's. The d6ff07c entrypoint fails the same checks (negative control).
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import type { Plan } from "../../plan/run";
import { objectsOf, STACKS, stackPlan, type K8sObject } from "./world";
import { chainInputOf, prepFilesOf, runCommandChain, type ChainInput, type ChainResult } from "./commandChain";
import { entrypointScriptKey, recordedEntrypointScript, RUN_RECORD_MOUNT, runEntrypoint, runEntrypointScript } from "../../domain/training/runRecord";
import { parseConfig } from "../../validation";
import { runOf } from "../../domain/stack";
import { rawConfig } from "../harness";
import { shellQuote } from "../../domain/training/argv";

type Obj = Record<string, any>;

/**
 * What the plan says of a run, read from the plan's training summary rather than from the entrypoint
 * under test: train.py's path and argv, its checkpoint directory. (problems() also holds the run
 * record's argv, from the run-record ConfigMap's record.json, to it.)
 */
function planned(p: Plan, rayJob: K8sObject): { script: string; argv: string[]; checkpointDir: string; entrypoint: string } {
    const runName = String(rayJob.metadata.name);
    const t = p.summary!.training as Obj;
    const run = (t.runs as Obj[] | undefined)?.find((r) => r.runName === runName) ?? (t.runName === runName ? t : undefined);
    if (!run) throw new Error(`the plan's training summary has no run ${runName}`);
    const [script, ...argv] = run.argv as string[];
    return { script, argv, checkpointDir: run.paths.checkpointDir, entrypoint: run.entrypoint };
}

/** What is wrong with one pass through the chain; [] when train.py ran once on the head with `want` and the record and exit code are right. */
function problems(res: ChainResult, want: { argv: string[]; checkpointDir: string; exit: number; env: Record<string, string> }): string[] {
    const out: string[] = [];
    if (res.submitterExit !== 0) out.push(`the submitter exited ${res.submitterExit}: ${res.stderr.slice(-400)}`);
    const sides = res.trainRuns.map((t) => t.side);
    if (sides.length !== 1 || sides[0] !== "head") out.push(`train.py ran on [${sides.join(", ")}], want once on the head (Ray got ${JSON.stringify(res.submitted?.entrypoint)})`);
    const head = res.trainRuns.find((t) => t.side === "head");
    if (head) {
        if (JSON.stringify(head.argv) !== JSON.stringify(want.argv)) out.push(`train.py's argv differs from the plan's:\n  got  ${JSON.stringify(head.argv)}\n  want ${JSON.stringify(want.argv)}`);
        for (const [k, v] of Object.entries(want.env)) if (head.env[k] !== v) out.push(`train.py's env ${k}=${JSON.stringify(head.env[k])}, the head container has ${JSON.stringify(v)}`);
        const leaked = Object.keys(head.env).filter((k) => k.startsWith("MILES_CLUSTER_RECORD"));
        if (leaked.length > 0) out.push(`the wrapper leaked ${leaked.join(", ")} into train.py's env`);
    }
    if (res.jobExit !== want.exit) out.push(`the job exited ${res.jobExit}, train.py ${want.exit}`);
    const dir = path.posix.join(want.checkpointDir, "run-records");
    const records = Object.entries(res.headFiles).filter(([f]) => path.posix.dirname(f) === dir && f.endsWith(".json"));
    if (records.length !== 1) out.push(`${records.length} run records in ${dir} on the head, want 1 (files: ${Object.keys(res.headFiles).join(", ") || "none"})`);
    else {
        const rec = JSON.parse(records[0][1]) as Obj;
        const status = want.exit === 0 ? "succeeded" : "failed";
        if (!rec.startedAt || !rec.endedAt || rec.status !== status || rec.exitCode !== want.exit) out.push(`the record is not started and ended as ${status} with ${want.exit}: ${JSON.stringify({ startedAt: rec.startedAt, endedAt: rec.endedAt, status: rec.status, exitCode: rec.exitCode })}`);
        if (JSON.stringify(rec.argv) !== JSON.stringify(want.argv)) out.push("the record's argv is not train.py's");
    }
    return out;
}

/** The entrypoint of d6ff07c (domain/monitoring/runRecord.ts recordedEntrypoint there): the wrapper inline, split by KubeRay's bash at every ';'. */
function d6ff07cEntrypoint(command: string): string {
    const w = "python3 /etc/miles-cluster/run-record/write.py";
    return `MILES_CLUSTER_RECORD=$(${w} start) || MILES_CLUSTER_RECORD=; ${command}; rc=$?; [ -n "$MILES_CLUSTER_RECORD" ] && ${w} end "$MILES_CLUSTER_RECORD" "$rc"; exit $rc`;
}

interface Case {
    stack: string;
    rayJob: K8sObject;
    input: Omit<ChainInput, "join">;
    want: ReturnType<typeof planned>;
}

describe("command chain: each RayJob's entrypoint reaches train.py on the head unchanged (KubeRay v1.7.0 submitter → ray job submit → the head's shell)", function () {
    this.timeout(120000);
    const cases = new Map<string, Case[]>();

    before(async function () {
        if (process.platform === "win32") this.skip();
        for (const stack of STACKS) {
            const p = await stackPlan(stack);
            const configMaps = objectsOf(p, "ConfigMap") as Array<K8sObject & { data?: unknown }>;
            cases.set(
                stack,
                objectsOf(p, "RayJob").map((rj) => {
                    const want = planned(p, rj);
                    // What the run's queued gate and conversion leave on the shared volume before it starts (issue 22: the entrypoint checks it).
                    const input = { ...chainInputOf({ configMaps }, rj as K8sObject & { spec: unknown }, want.script), headFilesBefore: prepFilesOf(p, String(rj.metadata.name)) };
                    return { stack, rayJob: rj, input, want };
                }),
            );
        }
    });

    for (const stack of STACKS) {
        it(`${stack}: train.py runs once on the head with the plan's argv and env, the record is started and ended there, the job's exit code is train.py's`, function () {
            const list = cases.get(stack)!;
            assert.ok(list.length > 0, `${stack} plans no RayJob`);
            for (const c of list) {
                const what = `${stack}/${c.rayJob.metadata.name}`;
                // Flags the stack's run must carry, read from the plan's summary, not from the command under test.
                assert.ok(c.want.argv.includes("--hf-checkpoint") && c.want.argv[c.want.argv.indexOf("--hf-checkpoint") + 1].startsWith("/shared/"), `${what}: no --hf-checkpoint on the shared volume`);
                assert.equal(c.want.argv[c.want.argv.indexOf("--save") + 1], c.want.checkpointDir, what);
                const want = { argv: c.want.argv, checkpointDir: c.want.checkpointDir, env: c.input.headEnv };
                // Every RayJob under Ray's list2cmdline join, train.py succeeding.
                const ok = runCommandChain({ ...c.input, join: "list2cmdline" });
                assert.deepEqual(problems(ok, { ...want, exit: 0 }), [], `${what} (list2cmdline)`);
                assert.ok(ok.submitted!.words.length > 0 && ok.submitted!.words.every((w) => /^[A-Za-z0-9_\-.,/:=@+%]+$/.test(w)), `${what}: ray job submit got ${JSON.stringify(ok.submitted!.words)}`);
                if (c === list[0]) {
                    // The stack's first RayJob also under shlex.join (ray-project/ray#63797), with a failing train.py: the job
                    // fails with its code and the record says so; the submitter itself succeeds (`ray job logs` exits 0).
                    const failed = runCommandChain({ ...c.input, join: "shlex.join", trainExit: 7 });
                    assert.deepEqual(problems(failed, { ...want, exit: 7 }), [], `${what} (shlex.join, train.py exits 7)`);
                }
            }
        });
    }

    it("negative control: the d6ff07c entrypoint (the record wrapper inline) fails these checks: Ray gets `MILES_CLUSTER_RECORD=`, train.py runs in the submitter", function () {
        const c = cases.get("dev")![0];
        const old = runCommandChain({ ...c.input, spec: { ...c.input.spec, entrypoint: d6ff07cEntrypoint(c.want.entrypoint) }, join: "list2cmdline" });
        const found = problems(old, { argv: c.want.argv, checkpointDir: c.want.checkpointDir, exit: 0, env: c.input.headEnv });
        assert.ok(found.length > 0, "the old entrypoint passed the chain's checks: the checks check nothing");
        assert.deepEqual(old.submitted?.words, ["MILES_CLUSTER_RECORD="]);
        assert.deepEqual(
            old.trainRuns.map((t) => t.side),
            ["submitter"],
        );
        assert.ok(found.some((f) => /train\.py ran on \[submitter\]/.test(f)), found.join("\n"));
    });

    it("JSON-valued extraArgs of a stack config (--apply-chat-template-kwargs '{\"thinking_mode\": \"thinking\"}') reach train.py as one word (issue 23)", function () {
        const c = cases.get("dev")![0];
        const json = '{"thinking_mode": "thinking"}';
        const values = {
            "aws:region": "us-east-1",
            "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] },
            "miles-cluster:training": { extraArgs: ["--apply-chat-template-kwargs", json, "--rollout-stop-token-ids", "151645", "151643"] },
        };
        const parsed = parseConfig(rawConfig(values), { stack: "json-args" });
        assert.deepEqual(parsed.problems, []);
        const run = runOf(parsed.config!);
        const { key, script } = runEntrypointScript(run);
        const maps = { ...c.input.headConfigMaps, [RUN_RECORD_MOUNT]: { ...c.input.headConfigMaps[RUN_RECORD_MOUNT], [key]: script } };
        // list2cmdline only: it is the join that rewrites double quotes (shlex.join quotes the words whole); the script keeps them out of both.
        for (const join of ["list2cmdline"] as const) {
            const res = runCommandChain({ ...c.input, headConfigMaps: maps, spec: { ...c.input.spec, entrypoint: runEntrypoint(run) }, join });
            const argv = res.trainRuns.find((t) => t.side === "head")?.argv ?? [];
            assert.equal(argv[argv.indexOf("--apply-chat-template-kwargs") + 1], json, join);
            assert.deepEqual(res.trainRuns.map((t) => [t.side, t.argv]), [["head", run.command.argv]], join);
        }
    });

    it("argv words the shells treat specially (';', globs, braces, quotes, spaces) reach train.py unchanged through the script; inline, as before, they do not", function () {
        const c = cases.get("dev")![0];
        const argv = [...c.want.argv, "--x", "a;b", "--y", "[1,1]", "--z", "/shared/{rollout_id}", "--w", "*", "--q", "it's \"x\" & y | z", "--e", ""];
        const script = recordedEntrypointScript(["python3", c.want.script, ...argv]);
        const key = entrypointScriptKey(script);
        const maps = { ...c.input.headConfigMaps, [RUN_RECORD_MOUNT]: { ...c.input.headConfigMaps[RUN_RECORD_MOUNT], [key]: script } };
        const want = { argv: c.want.argv, checkpointDir: c.want.checkpointDir, exit: 0, env: c.input.headEnv };
        for (const join of ["list2cmdline", "shlex.join"] as const) {
            const res = runCommandChain({ ...c.input, headConfigMaps: maps, spec: { ...c.input.spec, entrypoint: `bash ${RUN_RECORD_MOUNT}/${key}` }, join });
            // The record holds the run's planned argv (this script is a synthetic one), so only train.py's argv is compared here.
            assert.deepEqual(res.trainRuns.map((t) => [t.side, t.argv]), [["head", argv]], join);
            assert.equal(res.jobExit, 0);
        }
        // The same words as a bare entrypoint (the run's command, shell-quoted, as a RayJob without the script had it).
        const bare = runCommandChain({ ...c.input, spec: { ...c.input.spec, entrypoint: ["python3", c.want.script, ...argv].map(shellQuote).join(" ") }, join: "list2cmdline" });
        assert.notDeepEqual(bare.trainRuns.map((t) => [t.side, t.argv]), [["head", argv]], "the bare entrypoint passed: the chain changes nothing");
        assert.ok(problems(bare, want).length > 0);
    });
});

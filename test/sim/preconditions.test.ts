/**
 * Issue 22: with Kueue on, `pulumi up` waits neither for the fabric gate nor for the conversion, so
 * the queued run checks them itself before train.py (domain/fabric/preconditions.ts,
 * domain/training/runRecord.ts ready.py). Run through the whole command chain (test/sim/commandChain.ts:
 * KubeRay's submitter bash, `ray job submit`, the head's shell; real bash and python3) on prod's
 * RayJob, with the shared volume holding what prod's own gate and convert Jobs write (their scripts
 * from the plan, run on captured NCCL logs: commandChain.ts filesPrepJobsWrite).
 *
 * The bounded waits are the plan's (30 min gate, the prep timeout for the conversion); here the
 * planned script runs with the planned checks (ready.json) whose waits are shortened to seconds.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Plan } from "../../plan/run";
import { objectsOf, stackPlan, type K8sObject } from "./world";
import { chainInputOf, filesPrepJobsWrite, prepFilesOf, runCommandChain, type ChainInput, type ChainResult } from "./commandChain";
import { recordedEntrypointScript, entrypointScriptKey, readyChecks, RUN_BLOCKED_EXIT, RUN_RECORD_MOUNT, runWords, type RunPreconditions } from "../../domain/training/runRecord";
import { runPreconditions } from "../../domain/fabric/preconditions";
import type { ResolvedRun } from "../../domain/training/run";

type Obj = Record<string, any>;
const fixture = (f: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", "fabric", f), "utf8");

describe("a queued run starts train.py only after its conversion is done and its fabric gate passed (issue 22, prod, command chain)", function () {
    this.timeout(120000);
    let p: Plan;
    let run: ResolvedRun;
    let rayJob: K8sObject;
    let base: Omit<ChainInput, "join">;
    let pre: RunPreconditions;
    let passing: Record<string, string>;

    before(async function () {
        if (process.platform === "win32") this.skip();
        p = await stackPlan("prod");
        rayJob = objectsOf(p, "RayJob")[0];
        run = p.resolved!.runs.find((x) => x.run.runName === rayJob.metadata.name)!.run;
        base = chainInputOf({ configMaps: objectsOf(p, "ConfigMap") as Array<K8sObject & { data?: unknown }> }, rayJob as K8sObject & { spec: unknown }, run.command.script);
        pre = runPreconditions(run, { queue: { localQueue: "q", priorityClass: "c" } })!;
        passing = prepFilesOf(p, run.runName);
    });

    /** The chain with the planned entrypoint script and checks, the checks' waits shortened to `secs`. */
    const chain = (secs: number, files: Pick<ChainInput, "headFilesBefore" | "headFilesLater">): ChainResult => {
        const short: RunPreconditions = { gate: { ...pre.gate!, waitSeconds: secs }, conversion: { ...pre.conversion!, waitSeconds: secs } };
        const maps = { ...base.headConfigMaps, [RUN_RECORD_MOUNT]: { ...base.headConfigMaps[RUN_RECORD_MOUNT], "ready.json": JSON.stringify(readyChecks(short)) } };
        return runCommandChain({ ...base, ...files, headConfigMaps: maps, join: "list2cmdline" });
    };
    const record = (res: ChainResult): Obj => {
        const recs = Object.entries(res.headFiles).filter(([f]) => f.startsWith(`${run.paths.checkpointDir}/run-records/`) && f.endsWith(".json"));
        assert.equal(recs.length, 1, Object.keys(res.headFiles).join(", "));
        return JSON.parse(recs[0][1]) as Obj;
    };
    const refused = (res: ChainResult, why: RegExp) => {
        assert.deepEqual(res.trainRuns, [], "train.py ran");
        assert.equal(res.jobExit, RUN_BLOCKED_EXIT);
        const rec = record(res);
        assert.equal(rec.status, "failed");
        assert.equal(rec.exitCode, RUN_BLOCKED_EXIT);
        assert.match(rec.endReason, why);
        assert.match(res.stdout, why, "the job's log says why too");
    };
    const gateFile = () => run.paths.gateVerdict;
    const withoutGate = () => Object.fromEntries(Object.entries(passing).filter(([f]) => f !== gateFile()));
    const withoutConversion = () => Object.fromEntries(Object.entries(passing).filter(([f]) => f !== run.paths.convertDone));

    it("the plan's run-record ConfigMap and RayJob carry this script and these checks (the conversion's and the gate's timeouts as bounds)", function () {
        const script = recordedEntrypointScript(runWords(run), pre);
        assert.equal((rayJob.spec as Obj).entrypoint, `bash ${RUN_RECORD_MOUNT}/${entrypointScriptKey(script)}`);
        assert.equal(base.headConfigMaps[RUN_RECORD_MOUNT][entrypointScriptKey(script)], script);
        assert.ok(base.headConfigMaps[RUN_RECORD_MOUNT]["ready.py"], "ready.py is not in the ConfigMap");
        assert.deepEqual(JSON.parse(base.headConfigMaps[RUN_RECORD_MOUNT]["ready.json"]).map((c: Obj) => [c.kind, c.name, c.file]), [
            ["conversion", `${run.runName}-convert`, run.paths.convertDone],
            ["gate", `${run.runName}-fabric`, run.paths.gateVerdict],
        ]);
        assert.deepEqual([pre.gate!.waitSeconds, pre.conversion!.waitSeconds], [run.training.fabricGate.timeoutMinutes * 60, run.training.modelPrep.timeoutMinutes * 60]);
        // Both Jobs wrote their file (a passing log for the gate).
        assert.deepEqual(Object.keys(passing).sort(), [run.paths.convertDone, gateFile()].sort());
    });

    it("a failing verdict of this gate (TCP sockets, 6.9 GB/s): train.py does not start, exit 3, the record and the log name the gate, its identity, the transport and the numbers", function () {
        const failing = filesPrepJobsWrite({ gate: objectsOf(p, "Job").find((j) => j.metadata.name === `${run.runName}-fabric`) }, `${fixture("socket-fallback-no-plugin.txt")}\n${fixture("p3dn-low-bandwidth.txt")}`, "/shared");
        const res = chain(5, { headFilesBefore: { ...withoutGate(), ...failing } });
        refused(res, new RegExp(`fabric gate ${run.runName}-fabric \\(identity ${pre.gate!.hash}\\): 4 node\\(s\\), efa, transport socket, bus bandwidth 6\\.9 GB/s, threshold 287\\.6 GB/s: FAILED`));
        // A failed verdict is final: no waiting out the bound.
        assert.doesNotMatch(res.stdout, /waiting for fabric gate/);
    });

    it("no verdict: waits its bound, then refuses with the gate's name and how to look; a verdict of another gate identity (stale) is waited past the same way", function () {
        refused(chain(0.3, { headFilesBefore: withoutGate() }), new RegExp(`no passing verdict of fabric gate ${run.runName}-fabric \\(identity ${pre.gate!.hash}\\).*after 0\\.3 s \\(no verdict\\)`));
        const stale = JSON.stringify({ ...JSON.parse(passing[gateFile()]), hash: "ffffffffffffffff" });
        refused(chain(0.3, { headFilesBefore: { ...withoutGate(), [gateFile()]: stale } }), /a verdict of gate identity ffffffffffffffff .*, not [0-9a-f]{16}/);
    });

    it("conversion done before the run starts, or only while it waits: train.py starts once after it; never done: refused, the gate not even read", function () {
        // Done before the start (with a passing gate): every stack's case in commandChain.test.ts, with the planned bounds.
        const late = chain(6, { headFilesBefore: withoutConversion(), headFilesLater: { when: `${run.paths.checkpointDir}/run-records`, afterMs: 600, files: { [run.paths.convertDone]: passing[run.paths.convertDone] } } });
        assert.deepEqual(late.trainRuns.map((t) => t.side), ["head"], late.stdout.slice(-600));
        assert.equal(late.jobExit, 0);
        assert.equal(record(late).endReason, undefined);
        assert.match(late.stdout, new RegExp(`waiting for conversion ${run.runName}-convert: no done file`));
        const never = chain(0.3, { headFilesBefore: withoutConversion() });
        refused(never, new RegExp(`conversion ${run.runName}-convert not done after 0\\.3 s`));
        assert.doesNotMatch(never.stdout, /fabric gate .*passed/, "the gate's verdict (present, passing) was read before the conversion was done");
    });
});

/**
 * The gate's own verdict (domain/fabric/gateVerdict.ts): the Python script pod 0 runs must judge a
 * log as the component's TypeScript judgement does (gate.ts fabricVerdict over ncclLog.ts
 * parseNcclLog), on every captured log of test/fixtures/fabric/ and on pairs of them (the network
 * lines of one run, the table of another), for EFA, InfiniBand, TCP and NVLink plans, with and
 * without a threshold. Real python3, one process per case.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fabricVerdict, type FabricGatePlan } from "../domain/fabric/gate";
import { parseNcclLog } from "../domain/fabric/ncclLog";
import { gateVerdictScript, GATE_VERDICT_SCHEMA, type GateVerdictFile } from "../domain/fabric/gateVerdict";

const DIR = path.join(__dirname, "fixtures", "fabric");
const fixture = (f: string) => fs.readFileSync(path.join(DIR, f), "utf8");

const base: FabricGatePlan = { enabled: true, fabric: "efa", nodes: 2, gpusPerNode: 8, efaPerNode: 32, thresholdGBps: 359.5, thresholdSource: "test", messageBytes: 8 << 30, iterations: 20, timeoutMinutes: 30 };
const PLANS: Record<string, FabricGatePlan> = {
    "efa 2 x p5, 359.5 GB/s": base,
    "efa p5en (16 EFA), 287.6 GB/s": { ...base, efaPerNode: 16, nodes: 4, thresholdGBps: 287.6 },
    "efa, 500 GB/s (above every table)": { ...base, thresholdGBps: 500 },
    "rdma, no threshold": { ...base, fabric: "rdma", efaPerNode: 0, thresholdGBps: undefined },
    "tcp, 5 GB/s": { ...base, fabric: "tcp", efaPerNode: 0, thresholdGBps: 5 },
    "nvlink, 300 GB/s": { ...base, fabric: "nvlink", nodes: 1, efaPerNode: 0, thresholdGBps: 300 },
};

describe("fabric gate verdict in the gate pod (Python) agrees with the component's (TypeScript)", function () {
    this.timeout(60000);
    let tmp = "";
    let python = "";
    before(function () {
        // The real interpreter, not a pyenv shim (a shim costs a second per process here).
        const r = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" });
        if (r.status !== 0) this.skip();
        python = r.stdout.trim();
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "verdict"));
    });
    after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

    const judge = (log: string, plan: FabricGatePlan): GateVerdictFile => {
        const file = path.join(tmp, "control", "run", "fabric-gate.json");
        fs.rmSync(file, { force: true });
        fs.writeFileSync(path.join(tmp, "verdict.py"), gateVerdictScript(plan, { gate: "run-fabric", hash: "0123456789abcdef", file }));
        fs.writeFileSync(path.join(tmp, "gate.log"), log);
        const r = spawnSync(python, ["-S", path.join(tmp, "verdict.py"), path.join(tmp, "gate.log")], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(fs.readFileSync(file, "utf8")) as GateVerdictFile;
    };

    // Each captured log once and each network+table pair once, the plans taken in turn (one python3 process a case keeps this near a second).
    const logs = fs.readdirSync(DIR).filter((f) => f.endsWith(".txt"));
    const withNetwork = ["p5en-ofi-selected.txt", "infiniband-selected.txt", "socket-fallback-no-plugin.txt"];
    const withTable = ["p5-2node-efa-allreduce.txt", "p5-2node-efa-mpijob.txt", "p3dn-low-bandwidth.txt"];
    const planNames = Object.keys(PLANS);
    const cases: Array<[string, string, string]> = [
        ...logs.map((f, i): [string, string, string] => [f, fixture(f), planNames[i % planNames.length]]),
        ...withNetwork.flatMap((n, i) => withTable.map((t, j): [string, string, string] => [`${n} + ${t}`, `${fixture(n)}\n${fixture(t)}`, planNames[(i * 3 + j + 1) % planNames.length]])),
        // The OFI plugin found 16 NICs on a node with 32 (a p5 plan): a problem in both.
        ["p5en-ofi-selected.txt + p5-2node-efa-allreduce.txt", `${fixture("p5en-ofi-selected.txt")}\n${fixture("p5-2node-efa-allreduce.txt")}`, "efa 2 x p5, 359.5 GB/s"],
    ];

    it("every captured log and every network+table pair, under EFA, InfiniBand, TCP and NVLink plans: same pass, transport, figure and number of problems", function () {
        const seen = new Set<string>();
        for (const [name, log, pname] of cases) {
            const plan = PLANS[pname];
            const ts = fabricVerdict(parseNcclLog(log), plan);
            const py = judge(log, plan);
            const what = `${name} under ${pname}`;
            assert.equal(py.pass, ts.pass, `${what}: python ${py.pass} (${py.problems.join("; ")}), typescript ${ts.pass} (${ts.problems.join("; ")})`);
            assert.equal(py.transport, ts.transport, what);
            assert.equal(py.busBandwidthGBps, ts.measuredGBps ?? null, what);
            assert.equal(py.problems.length, ts.problems.length, `${what}: ${py.problems.join("; ")} vs ${ts.problems.join("; ")}`);
            seen.add(`${ts.pass}`);
        }
        // Both outcomes occur, so agreement is not agreement on "fail" only.
        assert.deepEqual([...seen].sort(), ["false", "true"]);
    });

    it("the file names the gate, its identity, the figure and the threshold; a socket fallback fails with the transport named", function () {
        const ok = judge(`${fixture("p5en-ofi-selected.txt")}\n${fixture("p5-2node-efa-allreduce.txt")}`, PLANS["efa p5en (16 EFA), 287.6 GB/s"]);
        assert.deepEqual([ok.schema, ok.gate, ok.hash, ok.pass, ok.transport, ok.busBandwidthGBps, ok.thresholdGBps], [GATE_VERDICT_SCHEMA, "run-fabric", "0123456789abcdef", true, "ofi", 487.26, 287.6]);
        const bad = judge(`${fixture("socket-fallback-no-plugin.txt")}\n${fixture("p3dn-low-bandwidth.txt")}`, base);
        assert.equal(bad.pass, false);
        assert.match(bad.problems.join("\n"), /aws-ofi-nccl.*transport socket/);
        assert.match(bad.problems.join("\n"), /measured bus bandwidth 6\.9 GB\/s is below the threshold 359\.5 GB\/s/);
    });
});

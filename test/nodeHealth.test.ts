/**
 * Node health (issue 22): the `dcgmi diag` table and the node monitoring agent's conditions, parsed
 * and judged (domain/health/nodeHealth.ts), on real captured outputs (test/fixtures/health/README.md).
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import path from "node:path";
import { HEALTH_PENDING_TAINT, healthTaintPatch, monitoringProblems, nodeVerdict, parseDcgmDiag, UNHEALTHY_REASON_ANNOTATION, UNHEALTHY_TAINT } from "../domain/health/nodeHealth";
import { GPU_TAINT } from "../catalog/nodeLabels";

const fixture = (f: string) => readFileSync(path.join(__dirname, "fixtures", "health", f), "utf8");

describe("node health: dcgmi diag and node monitoring conditions (issue 22)", () => {
    it("parses a passing DCGM 4.4.2 level-2 run: version, every test and its per-GPU result; the node is healthy", () => {
        const d = parseDcgmDiag(fixture("dcgm-4.4.2-r2-pass.txt"));
        assert.equal(d.version, "4.4.2");
        assert.deepEqual(d.tests.map((t) => `${t.category}/${t.name}=${t.result}`), ["Deployment/software=Pass", "Hardware/memory=Pass", "Integration/pcie=Pass"]);
        assert.deepEqual(d.tests[1].gpus, { 0: "Pass" });
        assert.deepEqual(nodeVerdict({ diag: d, efa: { expected: 32, found: 32 } }), { healthy: true, reasons: [] });
    });

    it("a test-level Fail keeps the node out even when every GPU line passes (DCGM 4.4.1 pcie internal error), with the warning as reason", () => {
        const d = parseDcgmDiag(fixture("dcgm-4.4.1-r2-pcie-fail.txt"));
        assert.equal(d.version, "4.4.1");
        const pcie = d.tests.find((t) => t.name === "pcie")!;
        assert.equal(pcie.result, "Fail");
        assert.equal(Object.keys(pcie.gpus).length, 8);
        assert.ok(Object.values(pcie.gpus).every((r) => r === "Pass"));
        // DCGM wraps the text mid-word at a fixed width; the parser joins it back.
        assert.match(pcie.messages[0], /^There was an internal error during the test: 'Output of child process \(11167\) couldn't be parsed: .* Reset GPU\. Restart DCGM\. Rerun diagnostics\.$/);
        const v = nodeVerdict({ diag: d });
        assert.equal(v.healthy, false);
        assert.deepEqual(v.reasons.map((r) => r.split(" — ")[0]), ["dcgmi diag Integration/pcie: Fail"]);
    });

    it("fails closed: output that is not a diag table, missing EFA devices, an agent condition False", () => {
        assert.throws(() => parseDcgmDiag("Error: unable to establish a connection to the specified host: localhost"), /not a dcgmi diag result/);
        const v = nodeVerdict({ diag: new Error("timed out"), efa: { expected: 32, found: 31 } });
        assert.deepEqual(v.reasons, ["dcgmi diag: timed out", "EFA: 31 of 32 devices present"]);
    });

    it("node monitoring agent: its conditions with status False are problems (reasons from the AWS node health table), other conditions are not", () => {
        // Condition types and reasons as docs.aws.amazon.com/eks/latest/userguide/node-health-nma.html names them
        // (constructed in the Kubernetes NodeCondition shape; not a captured node object).
        const conditions = [
            { type: "Ready", status: "True" as const, reason: "KubeletReady" },
            { type: "AcceleratedHardwareReady", status: "False" as const, reason: "DCGMDiagnosticFailure", message: "A test case from the DCGM active diagnostics test suite failed." },
            { type: "NetworkingReady", status: "True" as const, reason: "NetworkingIsReady" },
            { type: "MemoryPressure", status: "False" as const, reason: "KubeletHasSufficientMemory" },
        ];
        assert.deepEqual(monitoringProblems(conditions), ["AcceleratedHardwareReady=False (DCGMDiagnosticFailure: A test case from the DCGM active diagnostics test suite failed.)"]);
        assert.equal(nodeVerdict({ diag: parseDcgmDiag(fixture("dcgm-4.4.2-r2-pass.txt")), conditions }).healthy, false);
        assert.deepEqual(monitoringProblems(conditions.filter((c) => c.type !== "AcceleratedHardwareReady")), []);
    });

    it("the node patch: a healthy node loses the startup taint and keeps its own; an unhealthy one gets the unhealthy taint and the reasons", () => {
        const taints = [GPU_TAINT, HEALTH_PENDING_TAINT];
        const ok = healthTaintPatch(taints, { healthy: true, reasons: [] });
        assert.deepEqual(ok.spec.taints, [GPU_TAINT]);
        assert.equal(ok.metadata.annotations[UNHEALTHY_REASON_ANNOTATION], null);
        const bad = healthTaintPatch(taints, { healthy: false, reasons: ["EFA: 31 of 32 devices present"] });
        assert.deepEqual(bad.spec.taints, [GPU_TAINT, UNHEALTHY_TAINT]);
        assert.equal(bad.metadata.annotations[UNHEALTHY_REASON_ANNOTATION], "EFA: 31 of 32 devices present");
    });
});

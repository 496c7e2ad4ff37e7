/**
 * The node check's scripts (domain/health/nodeCheck.ts) run for real under /bin/sh on the real
 * `dcgmi diag` captures of test/fixtures/health, with a stand-in `curl` that plays the API server
 * for one Node and a stand-in `dcgmi` (test/sim/health.ts runNodeCheck). What the scripts do to the
 * node is compared with the TypeScript decision (nodeVerdict + healthTaintPatch) on the same inputs.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { GPU_TAINT, FSX_STARTUP_TAINT, type Taint } from "../catalog/nodeLabels";
import { HEALTH_PENDING_TAINT, healthTaintPatch, nodeVerdict, parseDcgmDiag, UNHEALTHY_REASON_ANNOTATION, UNHEALTHY_TAINT } from "../domain/health/nodeHealth";
import { CHECKED_BOOT_ANNOTATION, DIAG_VERDICT_AWK, NODE_CHECK_DIAG_SCRIPT, NODE_CHECK_GATE_SCRIPT, NODE_CHECK_VERDICT_SCRIPT } from "../domain/health/nodeCheck";
import { runNodeCheck, type NodeCheckPod } from "./sim/health";

const fixture = (f: string) => fs.readFileSync(path.join(__dirname, "fixtures", "health", f), "utf8");

// The scripts as domain/health/nodeCheck.ts writes them, with the env the DaemonSet gives them on our EKS cluster.
const POD: NodeCheckPod = { gate: NODE_CHECK_GATE_SCRIPT, diag: NODE_CHECK_DIAG_SCRIPT, verdict: NODE_CHECK_VERDICT_SCRIPT, env: { EXPECTED_EFA: "16", DCGM_HOST: "10.0.0.5:5555", ENGINE_WAIT_SECONDS: "0" }, tolerations: [] };
const check = (n: { taints?: Taint[]; annotations?: Record<string, string>; bootID?: string }, diag: { fixture?: string; efaFound: number }) => runNodeCheck(POD, n, diag);

/** What the TypeScript decision does to the same node. */
function expected(taints: Taint[], diagText: string | undefined, efaFound: number) {
    let diag;
    try {
        diag = parseDcgmDiag(diagText ?? "");
    } catch (e) {
        diag = e as Error;
    }
    return healthTaintPatch(taints, nodeVerdict({ diag, efa: { expected: 16, found: efaFound } }));
}

function awkReasons(text: string, efaFound: number): string[] {
    const r = spawnSync("awk", ["-v", "efa_expected=16", "-v", `efa_found=${efaFound}`, DIAG_VERDICT_AWK], { input: text, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split("\n").filter((l) => l !== "");
}

describe("node check scripts under /bin/sh (issue 22)", function () {
    this.timeout(20000);
    const joined = [GPU_TAINT, FSX_STARTUP_TAINT, HEALTH_PENDING_TAINT];

    it("a node joining that passes dcgmi diag -r 2 (DCGM 4.4.2 capture) and has all its EFA devices loses the startup taint, as healthTaintPatch says", () => {
        const node = check({ taints: joined }, { fixture: "dcgm-4.4.2-r2-pass.txt", efaFound: 16 });
        const want = expected(joined, fixture("dcgm-4.4.2-r2-pass.txt"), 16);
        assert.deepEqual(node.taints, want.spec.taints);
        assert.deepEqual(node.taints, [GPU_TAINT, FSX_STARTUP_TAINT], "the FSx startup taint is not ours to remove");
        assert.equal(node.annotations[UNHEALTHY_REASON_ANNOTATION], undefined);
        assert.equal(node.annotations[CHECKED_BOOT_ANNOTATION], "boot-1");
        assert.ok(node.calls.some((c) => c === "dcgmi diag -r 2 --host 10.0.0.5:5555"), node.calls.join("\n"));
    });

    it("the DCGM 4.4.1 capture with a test-level pcie Fail (every GPU line Pass) keeps the node out with the same reason text as nodeVerdict", () => {
        const node = check({ taints: joined }, { fixture: "dcgm-4.4.1-r2-pcie-fail.txt", efaFound: 16 });
        const want = expected(joined, fixture("dcgm-4.4.1-r2-pcie-fail.txt"), 16);
        assert.deepEqual(node.taints, want.spec.taints);
        assert.ok(node.taints.some((t: Taint) => t.key === UNHEALTHY_TAINT.key));
        assert.equal(node.annotations[UNHEALTHY_REASON_ANNOTATION], want.metadata.annotations[UNHEALTHY_REASON_ANNOTATION]);
        assert.match(String(node.annotations[UNHEALTHY_REASON_ANNOTATION]), /^dcgmi diag Integration\/pcie: Fail — There was an internal error during the test: 'Output of child process/);
    });

    it("fails closed: no host engine (dcgmi prints an error) and a missing EFA device, both as reasons, like nodeVerdict", () => {
        const node = check({ taints: joined }, { efaFound: 15 });
        const err = "Error: unable to establish a connection to the specified host: 10.0.0.5:5555\n";
        const want = expected(joined, err, 15);
        assert.equal(node.annotations[UNHEALTHY_REASON_ANNOTATION], want.metadata.annotations[UNHEALTHY_REASON_ANNOTATION]);
        assert.equal(node.annotations[UNHEALTHY_REASON_ANNOTATION], "dcgmi diag: not a dcgmi diag result: no 'Successfully ran diagnostic for group.'; EFA: 15 of 16 devices present");
        assert.deepEqual(node.taints, want.spec.taints);
    });

    it("the awk verdict equals nodeVerdict on variants of the captures: a per-GPU Fail, Warn and Skip rows, a table with no test rows", () => {
        const pass = fixture("dcgm-4.4.2-r2-pass.txt");
        const fail = fixture("dcgm-4.4.1-r2-pcie-fail.txt");
        const variants = [
            pass,
            fail,
            fail.replace("| GPU3: Pass          ", "| GPU3: Fail          ").replace("| GPU5: Pass          ", "| GPU5: Fail          "),
            fail.replace(/\| pcie {22}\| Fail {43}\|/, "| pcie                      | Warn                                           |"),
            pass.replace(/\| memory {20}\| Pass {43}\|/, "| memory                    | Skip                                           |"),
            pass.split("\n").filter((l) => !/(Pass|Fail)/.test(l) || /Metadata/.test(l)).join("\n"),
        ];
        assert.notEqual(variants[2], fail, "the GPU-line edit applied");
        assert.notEqual(variants[3], fail, "the Warn edit applied");
        for (const [i, text] of variants.entries()) {
            for (const efa of [16, 3]) {
                let diag;
                try {
                    diag = parseDcgmDiag(text);
                } catch (e) {
                    diag = e as Error;
                }
                assert.deepEqual(awkReasons(text, efa), nodeVerdict({ diag, efa: { expected: 16, found: efa } }).reasons, `variant ${i}, EFA ${efa}`);
            }
        }
        assert.deepEqual(awkReasons(variants[2], 16).map((r) => r.split(" — ")[0]), ["dcgmi diag Deployment/software: Fail on GPU3, GPU5", "dcgmi diag Integration/pcie: Fail"], "a per-GPU Fail under a test that passed keeps the node out");
    });

    it("a reboot (new boot ID) re-adds the startup taint before the diagnostic and clears an old failure when the node now passes", () => {
        const node = check({ taints: [GPU_TAINT, UNHEALTHY_TAINT], annotations: { [UNHEALTHY_REASON_ANNOTATION]: "old", [CHECKED_BOOT_ANNOTATION]: "boot-0" }, bootID: "boot-1" }, { fixture: "dcgm-4.4.2-r2-pass.txt", efaFound: 16 });
        const patches = node.calls.filter((c) => c.startsWith("PATCH"));
        assert.match(patches[0], /"op":"add","path":"\/spec\/taints\/-","value":\{"key":"miles-cluster\.io\/health-pending"/, "the gate taints first");
        assert.ok(node.calls.findIndex((c) => c.startsWith("dcgmi")) > node.calls.indexOf(patches[0]), "diag after the taint");
        assert.deepEqual(node.taints, [GPU_TAINT]);
        assert.equal(node.annotations[UNHEALTHY_REASON_ANNOTATION], undefined);
    });

    it("a pod restart in the same boot (a DaemonSet rollout while a run uses the GPUs) runs no diagnostic and changes nothing", () => {
        const node = check({ taints: [GPU_TAINT], annotations: { [CHECKED_BOOT_ANNOTATION]: "boot-1" }, bootID: "boot-1" }, { fixture: "dcgm-4.4.1-r2-pcie-fail.txt", efaFound: 0 });
        assert.ok(!node.calls.some((c) => c.startsWith("dcgmi") || c.startsWith("PATCH")), node.calls.join("\n"));
        assert.deepEqual(node.taints, [GPU_TAINT]);
    });

    it("negative control: a node with no taints at all (bring-your-own) that fails gets the unhealthy taint as a new list", () => {
        const node = check({}, { fixture: "dcgm-4.4.1-r2-pcie-fail.txt", efaFound: 16 });
        // No startup taint and a boot never checked: the gate adds it first, then the verdict swaps it.
        assert.deepEqual(node.taints, [UNHEALTHY_TAINT]);
    });
});

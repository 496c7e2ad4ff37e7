/**
 * The node check's scripts (domain/health/nodeCheck.ts) run for real under /bin/sh on the real
 * `dcgmi diag` captures of test/fixtures/health, with a stand-in `curl` that plays the API server
 * for one Node (it applies JSON Patch with test ops and JSON merge patch as the API server does,
 * RFC 6902 / RFC 7386) and a stand-in `dcgmi`. What the scripts do to the node is compared with
 * the TypeScript decision (nodeVerdict + healthTaintPatch) on the same inputs.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GPU_TAINT, FSX_STARTUP_TAINT, type Taint } from "../catalog/nodeLabels";
import { HEALTH_PENDING_TAINT, healthTaintPatch, nodeVerdict, parseDcgmDiag, UNHEALTHY_REASON_ANNOTATION, UNHEALTHY_TAINT } from "../domain/health/nodeHealth";
import { CHECKED_BOOT_ANNOTATION, DIAG_VERDICT_AWK, NODE_CHECK_DIAG_SCRIPT, NODE_CHECK_GATE_SCRIPT, NODE_CHECK_VERDICT_SCRIPT } from "../domain/health/nodeCheck";

const fixture = (f: string) => fs.readFileSync(path.join(__dirname, "fixtures", "health", f), "utf8");

// The API server for one node: GET returns it (pretty-printed, as for a curl user agent), PATCH applies the patch.
const CURL = `#!/usr/bin/env node
const fs = require("fs");
const a = process.argv.slice(2); let out, method = "GET", type, data, url;
for (let i = 0; i < a.length; i++) { const x = a[i];
  if (x === "-o") out = a[++i]; else if (x === "-X") method = a[++i]; else if (x === "--data") data = a[++i];
  else if (x === "-H") { const h = a[++i]; if (/^Content-Type:/.test(h)) type = h.split(": ")[1]; } else if (x === "-w" || x === "--cacert") i++; else if (x !== "-sS") url = x; }
const dir = process.env.FAKE, file = dir + "/node.json";
fs.appendFileSync(dir + "/calls", method + " " + url + " " + (type || "") + " " + (data || "") + "\\n");
let node = JSON.parse(fs.readFileSync(file, "utf8")); let code = 200;
const ptr = (p) => p.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
const merge = (t, p) => { if (p === null || typeof p !== "object" || Array.isArray(p)) return p; t = t && typeof t === "object" && !Array.isArray(t) ? { ...t } : {};
  for (const [k, v] of Object.entries(p)) { if (v === null) delete t[k]; else t[k] = merge(t[k], v); } return t; };
try {
  if (method === "PATCH" && type === "application/merge-patch+json") node = merge(node, JSON.parse(data));
  else if (method === "PATCH" && type === "application/json-patch+json") {
    const n = JSON.parse(JSON.stringify(node));
    for (const op of JSON.parse(data)) { const ks = ptr(op.path); const last = ks.pop(); let p = n; for (const k of ks) { if (p[k] === undefined) throw 422; p = p[k]; }
      if (op.op === "test") { if (JSON.stringify(p[last]) !== JSON.stringify(op.value)) throw 422; }
      else if (op.op === "remove") { if (!Array.isArray(p) || p[last] === undefined) throw 422; p.splice(Number(last), 1); }
      else if (op.op === "add") { if (Array.isArray(p)) { if (last === "-") p.push(op.value); else p.splice(Number(last), 0, op.value); } else p[last] = op.value; } else throw 422; }
    node = n;
  } else if (method !== "GET") code = 405;
} catch (e) { code = typeof e === "number" ? e : 500; }
if (code === 200 && method === "PATCH") fs.writeFileSync(file, JSON.stringify(node, null, 2));
fs.writeFileSync(out || "/dev/null", code === 200 ? JSON.stringify(node, null, 2) : '{"kind":"Status"}');
process.stdout.write(String(code));
`;
// dcgmi prints the capture named by $DIAG_FIXTURE (or nothing and fails, like a host engine it cannot reach).
const DCGMI = `#!/bin/sh
echo "dcgmi $*" >> "$FAKE/calls"
[ -n "\${DIAG_FIXTURE:-}" ] && cat "$DIAG_FIXTURE" && exit 0
echo "Error: unable to establish a connection to the specified host: $DCGM_HOST"; exit 1
`;
const TIMEOUT = `#!/bin/sh
shift; exec "$@"
`;

interface NodeState {
    taints?: Taint[];
    annotations?: Record<string, string>;
    bootID?: string;
}

function setup(n: NodeState): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodecheck-"));
    for (const d of ["bin", "state", "sa", "sys"]) fs.mkdirSync(path.join(dir, d));
    for (const [name, body] of Object.entries({ curl: CURL, dcgmi: DCGMI, timeout: TIMEOUT })) fs.writeFileSync(path.join(dir, "bin", name), body, { mode: 0o755 });
    for (const f of ["token", "ca.crt"]) fs.writeFileSync(path.join(dir, "sa", f), "x");
    const node = {
        kind: "Node",
        apiVersion: "v1",
        metadata: { name: "gpu-1", labels: { "node.kubernetes.io/instance-type": "p5en.48xlarge" }, annotations: { "node.alpha.kubernetes.io/ttl": "0", ...(n.annotations ?? {}) } },
        spec: { providerID: "aws:///us-east-1a/i-0abc", ...(n.taints && n.taints.length ? { taints: n.taints } : {}) },
        status: { nodeInfo: { bootID: n.bootID ?? "boot-1", kubeletVersion: "v1.34.1" }, conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" }] },
    };
    fs.writeFileSync(path.join(dir, "node.json"), JSON.stringify(node, null, 2));
    return dir;
}

function sh(dir: string, script: string, env: Record<string, string> = {}) {
    const r = spawnSync("/bin/sh", ["-c", script], {
        env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH}`, FAKE: dir, STATE_DIR: path.join(dir, "state"), SA_DIR: path.join(dir, "sa"), NODE_NAME: "gpu-1", EXPECTED_EFA: "16", IDLE: "false", DCGM_HOST: "10.0.0.5:5555", ...env },
        encoding: "utf8",
    });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const nodeOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, "node.json"), "utf8"));
const calls = (dir: string) => (fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n") : []);

/** The whole pod on one node: gate, diag (EFA devices written by hand: the stand-in has no /sys), verdict. */
function check(n: NodeState, diag: { fixture?: string; efaFound: number }) {
    const dir = setup(n);
    const env: Record<string, string> = diag.fixture ? { DIAG_FIXTURE: path.join(__dirname, "fixtures", "health", diag.fixture) } : {};
    const gate = sh(dir, NODE_CHECK_GATE_SCRIPT);
    assert.equal(gate.code, 0, gate.out);
    const d = sh(dir, NODE_CHECK_DIAG_SCRIPT, env);
    assert.equal(d.code, 0, d.out);
    if (fs.existsSync(path.join(dir, "state", "efa"))) fs.writeFileSync(path.join(dir, "state", "efa"), `${diag.efaFound}\n`);
    const v = sh(dir, NODE_CHECK_VERDICT_SCRIPT, env);
    assert.equal(v.code, 0, v.out);
    return { dir, node: nodeOf(dir), out: `${gate.out}${d.out}${v.out}` };
}

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
        const { node, dir } = check({ taints: joined }, { fixture: "dcgm-4.4.2-r2-pass.txt", efaFound: 16 });
        const want = expected(joined, fixture("dcgm-4.4.2-r2-pass.txt"), 16);
        assert.deepEqual(node.spec.taints, want.spec.taints);
        assert.deepEqual(node.spec.taints, [GPU_TAINT, FSX_STARTUP_TAINT], "the FSx startup taint is not ours to remove");
        assert.equal(node.metadata.annotations[UNHEALTHY_REASON_ANNOTATION], undefined);
        assert.equal(node.metadata.annotations[CHECKED_BOOT_ANNOTATION], "boot-1");
        assert.ok(calls(dir).some((c) => c === "dcgmi diag -r 2 --host 10.0.0.5:5555"), calls(dir).join("\n"));
    });

    it("the DCGM 4.4.1 capture with a test-level pcie Fail (every GPU line Pass) keeps the node out with the same reason text as nodeVerdict", () => {
        const { node } = check({ taints: joined }, { fixture: "dcgm-4.4.1-r2-pcie-fail.txt", efaFound: 16 });
        const want = expected(joined, fixture("dcgm-4.4.1-r2-pcie-fail.txt"), 16);
        assert.deepEqual(node.spec.taints, want.spec.taints);
        assert.ok(node.spec.taints.some((t: Taint) => t.key === UNHEALTHY_TAINT.key));
        assert.equal(node.metadata.annotations[UNHEALTHY_REASON_ANNOTATION], want.metadata.annotations[UNHEALTHY_REASON_ANNOTATION]);
        assert.match(String(node.metadata.annotations[UNHEALTHY_REASON_ANNOTATION]), /^dcgmi diag Integration\/pcie: Fail — There was an internal error during the test: 'Output of child process/);
    });

    it("fails closed: no host engine (dcgmi prints an error) and a missing EFA device, both as reasons, like nodeVerdict", () => {
        const { node } = check({ taints: joined }, { efaFound: 15 });
        const err = "Error: unable to establish a connection to the specified host: 10.0.0.5:5555\n";
        const want = expected(joined, err, 15);
        assert.equal(node.metadata.annotations[UNHEALTHY_REASON_ANNOTATION], want.metadata.annotations[UNHEALTHY_REASON_ANNOTATION]);
        assert.equal(node.metadata.annotations[UNHEALTHY_REASON_ANNOTATION], "dcgmi diag: not a dcgmi diag result: no 'Successfully ran diagnostic for group.'; EFA: 15 of 16 devices present");
        assert.deepEqual(node.spec.taints, want.spec.taints);
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

    it("a re-check after a failure clears the unhealthy taint and the reason when the node passes", () => {
        const tainted = [GPU_TAINT, UNHEALTHY_TAINT, HEALTH_PENDING_TAINT];
        const { node } = check({ taints: tainted, annotations: { [UNHEALTHY_REASON_ANNOTATION]: "old", [CHECKED_BOOT_ANNOTATION]: "boot-0" } }, { fixture: "dcgm-4.4.2-r2-pass.txt", efaFound: 16 });
        assert.deepEqual(node.spec.taints, [GPU_TAINT]);
        assert.equal(node.metadata.annotations[UNHEALTHY_REASON_ANNOTATION], undefined);
    });

    it("a reboot (new boot ID) re-adds the startup taint before the diagnostic; a pod restart in the same boot runs no diagnostic and changes nothing", () => {
        const rebooted = setup({ taints: [GPU_TAINT], annotations: { [CHECKED_BOOT_ANNOTATION]: "boot-0" }, bootID: "boot-1" });
        assert.equal(sh(rebooted, NODE_CHECK_GATE_SCRIPT).code, 0);
        assert.deepEqual(nodeOf(rebooted).spec.taints, [GPU_TAINT, HEALTH_PENDING_TAINT]);
        assert.equal(fs.readFileSync(path.join(rebooted, "state", "check"), "utf8").trim(), "yes");

        const same = setup({ taints: [GPU_TAINT], annotations: { [CHECKED_BOOT_ANNOTATION]: "boot-1" }, bootID: "boot-1" });
        for (const s of [NODE_CHECK_GATE_SCRIPT, NODE_CHECK_DIAG_SCRIPT, NODE_CHECK_VERDICT_SCRIPT]) assert.equal(sh(same, s).code, 0);
        assert.ok(!calls(same).some((c) => c.startsWith("dcgmi") || c.startsWith("PATCH")), calls(same).join("\n"));
        assert.deepEqual(nodeOf(same).spec.taints, [GPU_TAINT]);
    });

    it("negative control: a node with no taints at all (bring-your-own) that fails gets the unhealthy taint as a new list", () => {
        const { node } = check({}, { fixture: "dcgm-4.4.1-r2-pcie-fail.txt", efaFound: 16 });
        // No startup taint and a boot never checked: the gate adds it first, then the verdict swaps it.
        assert.deepEqual(node.spec.taints, [UNHEALTHY_TAINT]);
    });
});

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { rawConfigFromDocument } from "../plan/stackFile";
import { sanitize, REDACTED, UNKNOWN } from "../plan/evaluate";
import { renderJson, renderText, writeManifests } from "../plan/render";
import { cli, planConfig } from "./harness";


function tmpStack(yaml: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-"));
    const f = path.join(dir, "Pulumi.tmp.yaml");
    fs.writeFileSync(f, yaml);
    return f;
}

describe("plan command", () => {
    it("requires every key Pulumi.yaml declares without a default, as pulumi up does", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-proj-"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: miles-cluster\nruntime: nodejs\nconfig:\n  addons:\n    description: add-ons\n  region:\n    default: x\n");
        const f = path.join(dir, "Pulumi.s.yaml");
        fs.writeFileSync(f, "config:\n  aws:region: us-east-1\n  miles-cluster:cluster:\n    availabilityZone: us-east-1a\n    gpuNodeGroups: [{ name: h100, instanceType: p5.48xlarge, nodes: 1 }]\n");
        const r = await cli(["plan", "--config-file", f]);
        assert.equal(r.code, 1);
        assert.match(r.err, /miles-cluster:addons: Pulumi\.yaml declares this key/);
        assert.doesNotMatch(r.err, /miles-cluster:region/, "a key with a default is not required");
        fs.appendFileSync(f, "  miles-cluster:addons: {}\n");
        assert.equal((await cli(["plan", "--config-file", f])).code, 0);
    });

    it("plans the dev stack and shows GPUs, EFA interfaces and the price source", async () => {
        const r = await cli(["plan", "--stack", "dev"]);
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, /1 × p5\.48xlarge = 8 × H100/);
        assert.match(r.out, /32 EFA interfaces\/node \(3200 Gbps\)/);
        assert.match(r.out, /price source: p5\.48xlarge: /);
    });

    it("--json has stack, summary, resources and problems", async () => {
        const r = await cli(["plan", "--stack", "dev", "--json"]);
        assert.equal(r.code, 0, r.err);
        const doc = JSON.parse(r.out);
        assert.equal(doc.stack, "dev");
        assert.deepEqual(doc.problems, []);
        assert.ok(Array.isArray(doc.resources));
        for (const res of doc.resources) assert.deepEqual(Object.keys(res).sort(), ["inputs", "name", "parent", "type"]);
        assert.equal(doc.summary.cluster.totalGpus, 8);
    });

    it("exits 1 with every problem on stderr and no stack trace for a broken stack file", async () => {
        const f = tmpStack(`config:
  aws:region: us-east-1
  miles-cluster:cluster:
    availabilityZone: us-east-1a
    gpuNodeGroups:
      - name: h100
        instanceTyp: p5.48xlarge
        instanceType: p4d.24xlarge
        nodes: -1
`);
        const r = await cli(["plan", "--config-file", f]);
        assert.equal(r.code, 1);
        for (const p of ["cluster.gpuNodeGroups[0].instanceTyp", "cluster.gpuNodeGroups[0].instanceType", "cluster.gpuNodeGroups[0].nodes"]) assert.ok(r.err.includes(p), `missing ${p} in:\n${r.err}`);
        assert.doesNotMatch(r.err, /\n\s+at .+:\d+:\d+/);
        assert.equal(r.out, "");
    });

    it("exits 2 on bad usage and 1 on a missing stack file", async () => {
        assert.equal((await cli(["plan"])).code, 2);
        assert.equal((await cli(["plan", "--stack", "dev", "--config-file", "x"])).code, 2);
        assert.equal((await cli(["plan", "--stack", "no-such-stack"])).code, 1);
    });

    it("treats encrypted stack values as secrets and never shows them", () => {
        const raw = rawConfigFromDocument({ config: { "miles-cluster:training": { wandb: { apiKey: { secure: "v1:abc" } } }, "aws:region": "us-east-1" } }, "miles-cluster");
        assert.deepEqual(raw.secretKeys, ["miles-cluster:training"]);
        assert.ok(!raw.values["miles-cluster:training"].includes("v1:abc"));
        assert.equal(JSON.parse(raw.values["miles-cluster:training"]).wandb.apiKey, REDACTED);
    });

    it("redacts secret envelopes and marks unknowns in recorded inputs", () => {
        const v = sanitize({ a: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "hunter2" }, b: "04da6b54-80e4-46f7-96ec-b56ff0331ba9", c: [1] });
        assert.deepEqual(v, { a: REDACTED, b: UNKNOWN, c: [1] });
    });

    const PLAN_KEYS = ["outputs", "problems", "resources", "stack", "summary"];

    it("--json prints a parseable document with the problems when the config is invalid", async () => {
        const f = tmpStack("config:\n  aws:region: us-east-1\n  miles-cluster:cluster:\n    availabilityZone: us-east-1a\n    gpuNodeGroups:\n      - name: h100\n        node: 1\n");
        const r = await cli(["plan", "--config-file", f, "--json"]);
        assert.equal(r.code, 1);
        const doc = JSON.parse(r.out);
        assert.deepEqual(Object.keys(doc).sort(), PLAN_KEYS);
        assert.equal(doc.summary, null);
        assert.deepEqual(doc.resources, []);
        assert.deepEqual(doc.problems.map((p: { path: string }) => p.path).sort(), ["cluster.gpuNodeGroups[0].instanceType", "cluster.gpuNodeGroups[0].node", "cluster.gpuNodeGroups[0].nodes"]);
    });

    it("--json also answers for a stack file that is not YAML, not a mapping, or missing, and text mode names the file", async () => {
        const cases: Array<[string, RegExp]> = [
            ["config:\n  aws:region: [us-east-1\n", /is not valid YAML: .*line \d+, column \d+$/],
            ["config:\n  aws:region: us-east-1\n  aws:region: us-west-2\n", /is not valid YAML: Map keys must be unique/],
            ["config:\n  - aws:region: us-east-1\n", /`config:` must be a mapping .*, got a list/],
            ["- 1\n", /must be a mapping with a `config:` key, got a list/],
        ];
        for (const [yaml, reason] of cases) {
            const f = tmpStack(yaml);
            const j = await cli(["plan", "--config-file", f, "--json"]);
            assert.equal(j.code, 1, yaml);
            const doc = JSON.parse(j.out);
            assert.deepEqual(Object.keys(doc).sort(), PLAN_KEYS);
            assert.equal(doc.problems.length, 1);
            assert.equal(doc.problems[0].path, f);
            assert.match(doc.problems[0].message, reason);
            const t = await cli(["plan", "--config-file", f]);
            assert.equal(t.code, 1);
            assert.ok(t.err.startsWith(`miles-cluster: ${f}: `), t.err);
            assert.equal(t.out, "");
        }
    });

    it("lists the stacks there are when --stack names none", async () => {
        const r = await cli(["plan", "--stack", "no-such-stack"]);
        assert.equal(r.code, 1);
        assert.match(r.err, /Pulumi\.no-such-stack\.yaml: no such stack file; stacks here: .*\bdev\b.*\bprod\b/);
    });

    it("plan --help prints the usage and succeeds", async () => {
        const r = await cli(["plan", "--help"]);
        assert.equal(r.code, 0);
        assert.match(r.out, /^usage: miles-cluster plan/);
    });

    it("reads keys without a namespace in the namespace of the file's own Pulumi project, as Pulumi does", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-proj-"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: mytraining\nruntime: nodejs\n");
        const f = path.join(dir, "Pulumi.x.yaml");
        fs.writeFileSync(f, "config:\n  aws:region: us-east-1\n  cluster:\n    availabilityZone: us-east-1a\n    gpuNodeGroups: [{ name: h100, instanceType: p5.48xlarge, nodes: 1 }]\n");
        const r = await cli(["plan", "--config-file", f]);
        assert.equal(r.code, 1);
        assert.match(r.err, /mytraining:cluster: is not read by miles-cluster, which reads "miles-cluster:cluster"/);
    });

    it("never shows an encrypted stack value or a secret config value in text, --json or --out", async () => {
        const f = tmpStack(`config:
  aws:region: us-east-1
  miles-cluster:cluster:
    availabilityZone: us-east-1a
    gpuNodeGroups: [{ name: h100, instanceType: p5.48xlarge, nodes: 1 }]
  miles-cluster:training:
    hfToken:
      secure: v1:CIPHERTEXTHF0001
    wandb:
      enabled: true
      apiKey:
        secure: v1:CIPHERTEXTWB0002
`);
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "mc-out-"));
        const text = await cli(["plan", "--config-file", f, "--out", out]);
        const json = await cli(["plan", "--config-file", f, "--json"]);
        assert.equal(text.code, 0, text.err);
        assert.equal(json.code, 0, json.err);
        const written = fs.readdirSync(out, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => fs.readFileSync(path.join(d.parentPath, d.name), "utf8"));
        assert.ok(written.length > 5);
        for (const blob of [text.out, text.err, json.out, json.err, ...written]) assert.doesNotMatch(blob, /CIPHERTEXT/);

        // The same with plaintext values Pulumi holds as secrets (the key set with --secret).
        const p = await planConfig(
            {
                "aws:region": "us-east-1",
                "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] },
                "miles-cluster:training": { hfToken: "hf_PLAINSECRET1", wandb: { enabled: true, apiKey: "PLAINSECRET2" } },
            },
            { secretKeys: ["miles-cluster:training"] },
        );
        const out2 = fs.mkdtempSync(path.join(os.tmpdir(), "mc-out-"));
        const files = writeManifests(p, out2);
        for (const blob of [renderJson(p), renderText(p), ...files.map((x) => fs.readFileSync(x, "utf8"))]) assert.doesNotMatch(blob, /PLAINSECRET/);
    });
});

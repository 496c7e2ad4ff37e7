import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../cli/main";
import { rawConfigFromDocument } from "../plan/stackFile";
import { sanitize, REDACTED, UNKNOWN } from "../plan/evaluate";

/** Runs the CLI in-process and captures its exit code, stdout and stderr. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const o = process.stdout.write.bind(process.stdout);
    const e = process.stderr.write.bind(process.stderr);
    (process.stdout as any).write = (s: string) => ((out += s), true);
    (process.stderr as any).write = (s: string) => ((err += s), true);
    try {
        const code = await main(args);
        return { code, out, err };
    } finally {
        (process.stdout as any).write = o;
        (process.stderr as any).write = e;
    }
}

function tmpStack(yaml: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-"));
    const f = path.join(dir, "Pulumi.tmp.yaml");
    fs.writeFileSync(f, yaml);
    return f;
}

describe("plan command", () => {
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
});

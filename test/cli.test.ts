/**
 * Every command of the CLI answers --help (exit 0, its own usage on stdout) and honours --json in every
 * outcome: stdout is one JSON document whether the command succeeds or fails (issue 21: `runs --help`
 * exited 2, `runs --json` printed text when there was no record).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cli } from "./harness";


const json = (s: string): unknown => {
    try {
        return JSON.parse(s);
    } catch {
        assert.fail(`stdout is not one JSON document:\n${s}`);
    }
};

describe("CLI: --help and --json for every command", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "mc-cli-"));
    after(() => fs.rmSync(empty, { recursive: true, force: true }));

    for (const cmd of ["plan", "runs", "presets"]) {
        it(`${cmd} --help prints its usage and exits 0`, async () => {
            for (const flag of ["--help", "-h"]) {
                const r = await cli([cmd, flag]);
                assert.equal(r.code, 0, r.err);
                assert.match(r.out, new RegExp(`^usage: miles-cluster ${cmd}`));
                assert.equal(r.err, "");
            }
        });
    }

    // One failing case per command (plus a malformed command line), each with --json.
    const errors: [string, string[], number][] = [
        ["plan: neither --stack nor --config-file", ["plan", "--json"], 2],
        ["plan: a missing stack file", ["plan", "--config-file", path.join(os.tmpdir(), "no-such-dir-mc", "Pulumi.x.yaml"), "--json"], 1],
        ["runs: a missing directory", ["runs", "--dir", path.join(os.tmpdir(), "no-such-dir-mc"), "--json"], 1],
        ["runs: no record copied yet for a stack", ["runs", "--stack", "no-such-stack-mc", "--json"], 1],
        ["runs: an unknown option", ["runs", "--jsn", "--json"], 2],
        ["presets: a filter nothing matches", ["presets", "qqqqqqqq", "--json"], 1],
        ["an unknown command", ["nope", "--json"], 2],
    ];
    for (const [what, args, code] of errors) {
        it(`--json on an error answers with a JSON document too (${what})`, async () => {
            const r = await cli(args);
            assert.equal(r.code, code, r.err);
            const doc = json(r.out) as Record<string, unknown>;
            assert.ok(typeof doc.error === "string" || Array.isArray(doc.problems), r.out);
            assert.notEqual(r.err, "", "the message goes to stderr as well");
        });
        it(`without --json the same error is text on stderr only (${what})`, async () => {
            const r = await cli(args.filter((a) => a !== "--json"));
            assert.equal(r.code, code);
            assert.equal(r.out, "");
            assert.notEqual(r.err, "");
        });
    }

    it("runs --json with no record in the directory prints an empty list", async () => {
        const r = await cli(["runs", "--dir", empty, "--json"]);
        assert.equal(r.code, 0, r.err);
        assert.deepEqual(json(r.out), []);
    });

    it("presets --json lists presets as JSON; a filter keeps its family", async () => {
        const r = await cli(["presets", "glm4.5", "--json"]);
        assert.equal(r.code, 0, r.err);
        const rows = json(r.out) as { preset: string; family: string; plans: string }[];
        assert.deepEqual(rows.map((x) => x.preset), ["glm4.5-106B-A12B", "glm4.5-355B-A32B"]);
        const text = await cli(["presets", "glm4.5"]);
        assert.match(text.out, /^PRESET\s+FAMILY\s+SIZE\s+PLANS$/m);
        assert.match(text.out, /^glm4\.5-106B-A12B\s+glm4\.5\s+106B \(12B active\)\s+yes$/m);
    });
});

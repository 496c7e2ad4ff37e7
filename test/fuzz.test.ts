/**
 * Seeded mutation fuzzing of the stack config (issue 16). Each case takes an example stack file,
 * applies 1-3 random mutations (types swapped, values wrapped in lists and maps, keys dropped or
 * renamed, huge/negative/fractional numbers, odd unicode, deep nesting) and checks what a user
 * relies on: validation never throws (the CLI's exit 2), every problem is a `path: message` with
 * no stack trace, and no secret value is ever echoed. A few of the cases that still validate are
 * planned end to end (the program must not crash on them either).
 *
 * MILES_FUZZ_CASES (default 300), MILES_FUZZ_PLANS (default 4), MILES_FUZZ_SEED (default 16).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { parseConfig } from "../validation";
import { rawConfigFromDocument } from "../plan/stackFile";
import { plan } from "../plan/run";
import { ROOT } from "./harness";

const CASES = Number(process.env.MILES_FUZZ_CASES ?? 300);
const PLANS = Number(process.env.MILES_FUZZ_PLANS ?? 4);
const SEED = Number(process.env.MILES_FUZZ_SEED ?? 16);

/** mulberry32: a small seeded PRNG, so a failing case is reproducible from its seed and index. */
function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const CANARY = "CANARY-s3cr3t-9f2c";
const ODD_STRINGS = ["", " ", "\u202e\u0041", "😀🚀", "\u0000", "İstanbul", "a".repeat(5000), "${HOME}", "'; rm -rf / #", "../../etc/passwd", "[us-east-1]", "(a+)+$", "\\", "\n", "null", "0x10", "1e400", "-0", "us-east-1", "p5.48xlarge", "--flag"];
const ODD_NUMBERS = [0, -1, -0, 0.5, 1e308, -1e308, 2 ** 53 + 1, 4294967297, 1e-300, 65536, 12345678901234567890];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function paths(v: Json, at: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
    out.push(at);
    if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
    else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
    return out;
}

function getAt(v: Json, p: Array<string | number>): Json {
    return p.reduce<Json>((cur, k) => (cur as any)[k], v);
}

function setAt(root: Json, p: Array<string | number>, value: Json | undefined): Json {
    if (p.length === 0) return value === undefined ? null : value;
    const parent = getAt(root, p.slice(0, -1)) as any;
    const k = p[p.length - 1];
    if (value === undefined) {
        if (Array.isArray(parent)) parent.splice(Number(k), 1);
        else delete parent[k];
    } else parent[k] = value;
    return root;
}

function mutate(v: Json, r: () => number): Json {
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    const ps = paths(v);
    const p = pick(ps);
    const cur = getAt(v, p);
    const ops: Array<() => Json | undefined> = [
        () => pick(ODD_STRINGS),
        () => pick(ODD_NUMBERS),
        () => r() < 0.5,
        () => null,
        () => [cur],
        () => ({ value: cur }),
        () => [],
        () => ({}),
        () => (typeof cur === "number" ? -cur - 1 : typeof cur === "string" ? Number(cur.length) : String(cur)),
        () => (typeof cur === "string" ? cur + pick(ODD_STRINGS).slice(0, 20) : cur),
        () => {
            let d: Json = cur;
            for (let i = 0; i < 40; i++) d = [d];
            return d;
        },
    ];
    if (p.length === 0) return pick(ops)() ?? v;
    const parent = getAt(v, p.slice(0, -1));
    const last = p[p.length - 1];
    // Key operations on mappings: drop, rename (typo or case), duplicate under another name.
    if (parent !== null && typeof parent === "object" && !Array.isArray(parent) && r() < 0.3) {
        const k = String(last);
        const op = pick(["drop", "rename", "upper"] as const);
        const val = (parent as any)[k];
        delete (parent as any)[k];
        if (op === "rename") (parent as any)[k.slice(0, -1) || "x"] = val;
        if (op === "upper") (parent as any)[k.toUpperCase()] = val;
        return v;
    }
    return setAt(v, p, pick(ops)());
}

/** The example stacks as parsed documents, with a plaintext-looking canary in every secret field, marked secure. */
function baseDocs(): Array<{ name: string; doc: any }> {
    return fs
        .readdirSync(path.join(ROOT, "stacks"))
        .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
        .sort()
        .map((f) => {
            const doc = parse(fs.readFileSync(path.join(ROOT, "stacks", f), "utf8"));
            const t = (doc.config["miles-cluster:training"] ??= {});
            t.hfToken = { secure: "v1:x" };
            t.secretEnv = { RM_API_KEY: { secure: "v1:y" } };
            return { name: f.replace(/^Pulumi\.|\.yaml$/g, ""), doc };
        });
}

describe(`stack config fuzzing (${CASES} seeded cases, seed ${SEED})`, function () {
    this.timeout(120000);
    const planned: Array<{ name: string; raw: ReturnType<typeof rawConfigFromDocument> }> = [];

    it("never throws, answers path: message problems without stack traces, and never echoes a secret", () => {
        const r = rng(SEED);
        const bases = baseDocs();
        let valid = 0;
        for (let i = 0; i < CASES; i++) {
            const base = bases[i % bases.length];
            const doc = structuredClone(base.doc);
            const keys = Object.keys(doc.config);
            const n = 1 + Math.floor(r() * 3);
            for (let m = 0; m < n; m++) {
                const key = keys[Math.floor(r() * keys.length)];
                doc.config[key] = mutate(doc.config[key] as Json, r);
            }
            // The secrets' decrypted values, as the program would see them: the canary.
            const raw = rawConfigFromDocument(doc, "miles-cluster");
            raw.values = Object.fromEntries(Object.entries(raw.values).map(([k, v]) => [k, v.split('"[secret]"').join(JSON.stringify(CANARY))]));
            let result: ReturnType<typeof parseConfig>;
            try {
                result = parseConfig(raw, { stack: base.name });
            } catch (e) {
                assert.fail(`case ${i} (seed ${SEED}, ${base.name}) threw: ${(e as Error).stack}\n${JSON.stringify(doc.config).slice(0, 2000)}`);
            }
            for (const p of result.problems) {
                assert.ok(typeof p.path === "string" && p.path.length > 0 && typeof p.message === "string" && p.message.length > 0, `case ${i}: malformed problem ${JSON.stringify(p)}`);
                assert.doesNotMatch(p.message, /\n\s+at |internal error|Maximum call stack|undefined is not|Cannot read prop/, `case ${i}: ${p.path}: ${p.message}`);
            }
            assert.ok(!JSON.stringify(result.problems).includes(CANARY), `case ${i}: a secret value was echoed: ${JSON.stringify(result.problems)}`);
            if (result.config) {
                valid++;
                if (planned.length < PLANS) planned.push({ name: base.name, raw });
            }
        }
        assert.ok(valid < CASES, "every mutated config validated: the mutations do nothing");
    });

    it(`plans some mutated configs that still validate, end to end, without an internal error`, async () => {
        for (const { name, raw } of planned) {
            const p = await plan(name, raw);
            for (const x of p.problems) assert.doesNotMatch(x.message, /\n\s+at |internal error/, `${name}: ${x.path}: ${x.message}`);
            assert.ok(!JSON.stringify(p.problems).includes(CANARY));
        }
    });
});

/**
 * Extreme numbers, each planned or refused within a second (issue 21): a billion decoder layers, a
 * last pipeline stage of a billion layers (the memory-fit estimate walked every one of them), a billion
 * nodes. Each case is timed on its own; the budget is generous for a loaded CI machine.
 */
describe("extreme numbers are planned or refused within a second", () => {
    const stack = (training: Record<string, unknown>, nodes = 1) =>
        rawConfigFromDocument(
            {
                config: {
                    "aws:region": "us-east-1",
                    "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes }] },
                    "miles-cluster:training": training,
                },
            },
            "miles-cluster",
        );
    const custom = (layers: number) => ({ model: { custom: { args: ["--num-layers", String(layers), "--hidden-size", "4096", "--num-attention-heads", "32"] } } });
    const cases: Array<[string, ReturnType<typeof stack>, string | undefined]> = [
        ["--num-layers 1e9", stack(custom(1e9)), "training.model.custom.args"],
        ["decoderLastPipelineNumLayers 1e9", stack({ parallelism: { pp: 2, decoderLastPipelineNumLayers: 1e9 } }), "training.parallelism.decoderLastPipelineNumLayers"],
        ["decoderFirstPipelineNumLayers 2^31", stack({ parallelism: { pp: 2, decoderFirstPipelineNumLayers: 2 ** 31 } }), "training.parallelism.decoderFirstPipelineNumLayers"],
        ["pp 1e9", stack({ parallelism: { pp: 1e9 } }), "training.parallelism.pp"],
        ["1e9 nodes", stack({}, 1e9), "cluster.gpuNodeGroups[0].nodes"],
        ["1e9 actor nodes", stack({ layout: { actorNodes: 1e9 } }), "training.layout"],
        // At the bounds: accepted or refused by the rules, but quickly.
        ["1024 layers, last stage 1024, PP 1024", stack({ ...custom(1024), parallelism: { pp: 1024, decoderLastPipelineNumLayers: 1024 } }), undefined],
        ["a 36-layer model with a 1024-layer last stage", stack({ parallelism: { pp: 2, decoderLastPipelineNumLayers: 1024 } }), undefined],
        ["maxResponseLen 1e12", stack({ rollout: { maxResponseLen: 1e12 } }), undefined],
    ];
    for (const [what, raw, path] of cases) {
        it(what, () => {
            const t0 = Date.now();
            const r = parseConfig(raw, { stack: "extreme" });
            const ms = Date.now() - t0;
            assert.ok(ms < 1000, `took ${ms} ms`);
            if (path) assert.ok(r.problems.some((p) => p.path === path), `expected a problem at ${path}: ${JSON.stringify(r.problems).slice(0, 500)}`);
        });
    }
});

/** Test helpers: plan a config under the mock runtime, find resources, locate ../shared. */
import * as fs from "node:fs";
import * as path from "node:path";
import type { RawConfig } from "../config";
import { plan, type Plan } from "../plan/run";
import type { RecordedResource } from "../plan/evaluate";
import { readStackFile } from "../plan/stackFile";
import { parseConfig, type ParseResult } from "../validation";
import { main } from "../cli/main";

export const ROOT = path.resolve(__dirname, "..");

/** Raw Pulumi config from plain objects (objects become JSON, as Pulumi passes them). */
export function rawConfig(values: Record<string, unknown>, secretKeys: string[] = []): RawConfig {
    return { values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])), secretKeys };
}

/** Plans a config given as plain objects; fails the test if the config is invalid. */
export async function planConfig(values: Record<string, unknown>, opts: { stack?: string; secretKeys?: string[] } = {}): Promise<Plan> {
    const p = await plan(opts.stack ?? "test", rawConfig(values, opts.secretKeys));
    if (p.problems.length > 0) throw new Error(`config invalid:\n${p.problems.map((x) => `${x.path}: ${x.message}`).join("\n")}`);
    return p;
}

const stackPlans = new Map<string, Promise<Plan>>();

/**
 * Plans a committed stack file, stacks/Pulumi.<name>.yaml, once per test process (the files do not
 * change during a run, and planning is deterministic): every test file of a mocha worker shares it.
 * Tests read plans and never change them.
 */
export function planStack(name: string): Promise<Plan> {
    let p = stackPlans.get(name);
    if (!p) {
        p = Promise.resolve().then(() => plan(name, readStackFile(path.join(ROOT, "stacks", `Pulumi.${name}.yaml`), "miles-cluster")));
        stackPlans.set(name, p);
    }
    return p;
}

export function ofType(p: Plan, type: string): RecordedResource[] {
    return p.resources.filter((r) => r.type === type);
}

export function one(p: Plan, type: string, name?: string): RecordedResource {
    const rs = ofType(p, type).filter((r) => name === undefined || r.name === name);
    if (rs.length !== 1) throw new Error(`expected exactly one ${type}${name ? ` named ${name}` : ""}, found ${rs.length}: ${rs.map((r) => r.name).join(", ")}`);
    return rs[0];
}

/**
 * The command a planned RayJob runs on its head: its entrypoint is `bash <mount>/<key>`, a script in
 * the run-record ConfigMap its head mounts at <mount> (domain/training/runRecord.ts); this is that
 * script's command line (python3 train.py and its argv, quoted for bash).
 */
export function rayJobCommand(p: Plan, rayJob: RecordedResource): string {
    const spec = (rayJob.inputs as { spec: { entrypoint: string; rayClusterSpec: { headGroupSpec: { template: { spec: { containers: Array<{ volumeMounts?: Array<{ name: string; mountPath: string }> }>; volumes?: Array<{ name: string; configMap?: { name: string } }> } } } } } }).spec;
    const m = /^bash (\/\S+)\/([^/\s]+)$/.exec(spec.entrypoint);
    if (!m) throw new Error(`RayJob entrypoint is not \`bash <mount>/<script>\`: ${spec.entrypoint}`);
    const head = spec.rayClusterSpec.headGroupSpec.template.spec;
    const mount = (head.containers[0].volumeMounts ?? []).find((v) => v.mountPath === m[1]);
    const cmName = (head.volumes ?? []).find((v) => v.name === mount?.name)?.configMap?.name;
    const cm = ofType(p, "kubernetes:core/v1:ConfigMap").find((c) => (c.inputs as { metadata?: { name?: string } }).metadata?.name === cmName);
    const script = (cm?.inputs as { data?: Record<string, string> } | undefined)?.data?.[m[2]];
    if (script === undefined) throw new Error(`no ConfigMap ${cmName} with ${m[2]} mounted at ${m[1]} in the head`);
    const lines = script.split("\n");
    const start = lines.findIndex((l) => l.startsWith("MILES_CLUSTER_RECORD=$("));
    // A queued run checks its preconditions first and runs the command inside `if [ "$rc" = 0 ]; then` (runRecord.ts).
    const gated = lines.findIndex((l) => l === 'if [ "$rc" = 0 ]; then');
    return (gated > start ? lines[gated + 1] : lines[start + 1]).trim();
}

/** ../shared beside the checkout (always there in CI), or undefined in a user's clone. */
export const SHARED_DIR: string | undefined = [path.resolve(ROOT, "..", "shared")].find((d) => fs.existsSync(path.join(d, "miles", "flags.tsv")));

/** Skips the calling suite with a clear message when ../shared is absent. */
export function requireShared(ctx: Mocha.Context): string {
    if (!SHARED_DIR) {
        console.log("    (skipped: ../shared is not beside this checkout; these checks run in CI)");
        ctx.skip();
    }
    return SHARED_DIR!;
}

/**
 * Ajv options for the upstream CRD schemas: every error, no format checks (Kubernetes formats such as int-or-string
 * are not Ajv's), and no code optimisation — optimising the generated validator tripled the compile of the 1.3 MB
 * RayJob schema (3.2 s → 1.1 s CPU without it) for validators that run a few dozen times.
 */
export const AJV_OPTIONS = { strict: false, allErrors: true, validateFormats: false, code: { optimize: false } } as const;

/** Closes every object schema that lists properties, so a misspelt field fails (schemas README). */
export function closeObjects(node: unknown): void {
    if (Array.isArray(node)) return node.forEach(closeObjects);
    if (node === null || typeof node !== "object") return;
    const o = node as Record<string, unknown>;
    if (o.properties && o.additionalProperties === undefined) o.additionalProperties = false;
    for (const v of Object.values(o)) closeObjects(v);
}

/** Every `--flag` named in a description of the training section of the stack config schema (backticked): the flags typed fields own. */
export function documentedFlags(schema: Record<string, unknown>): string[] {
    const config = (schema.properties as { config: { properties: Record<string, unknown> } }).config;
    const training = config.properties["miles-cluster:training"];
    const found = new Set<string>();
    const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v !== null && typeof v === "object") {
            for (const [k, x] of Object.entries(v)) {
                if (k === "description" && typeof x === "string") for (const m of x.matchAll(/`(--[a-z0-9][a-z0-9-]*)/g)) found.add(m[1]);
                else walk(x);
            }
        }
    };
    walk(training);
    return [...found].sort();
}

/** Parses a stack of one p5.48xlarge node with the given training section (the rules' usual test bed). */
export function parseOneNode(training: Record<string, unknown>, stack = "t"): ParseResult {
    return parseConfig(
        rawConfig({
            "aws:region": "us-east-1",
            "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] },
            "miles-cluster:training": training,
        }),
        { stack },
    );
}

/** Runs the CLI in-process and captures its exit code, stdout and stderr. */
export async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
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

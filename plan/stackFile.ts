/**
 * Reads a Pulumi stack file (`stacks/Pulumi.<stack>.yaml`) into the raw config a Pulumi program
 * would see: full keys to strings, objects as JSON. Encrypted values (`secure: v1:...`) cannot be
 * decrypted offline; they become a redacted placeholder and their key is marked secret.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { MAX_NESTING, type RawConfig } from "../config";
import { isSecureValue, pathSegment } from "../config/secureLeaves";
import { nearestProjectFile, readProjectFile, stackFilePath } from "../validation/stackFile";

export { stackFilePath };
import { REDACTED } from "./evaluate";

/** A stack file that cannot be read as one: missing, not YAML, or a `config:` that is not a mapping. */
export class StackFileError extends Error {
    constructor(
        readonly file: string,
        /** What is wrong, phrased to follow the file name. */
        readonly reason: string,
    ) {
        super(`${file}: ${reason}`);
        this.name = "StackFileError";
    }
}

function kindOf(v: unknown): string {
    if (v === null) return "an empty value";
    if (Array.isArray(v)) return "a list";
    return typeof v === "object" ? "a mapping" : `a ${typeof v}`;
}

/**
 * Replaces `{secure: ...}` leaves by a placeholder and collects their paths (`<key>.a.b[0]`). Values
 * nested deeper than MAX_NESTING are cut there (parseConfig reports the nesting as a problem), so
 * turning the value into JSON can never overflow the stack.
 */
function stripSecure(v: unknown, at: string, leaves: string[], depth = 0): unknown {
    if (isSecureValue(v)) {
        leaves.push(at);
        return REDACTED;
    }
    if (v === null || typeof v !== "object") return v;
    if (depth > MAX_NESTING) return Array.isArray(v) ? [] : {};
    if (Array.isArray(v)) return v.map((x, i) => stripSecure(x, at + pathSegment(i), leaves, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = stripSecure(x, at + pathSegment(k), leaves, depth + 1);
    return out;
}

/** Converts a parsed stack document's `config:` block into raw Pulumi config. */
export function rawConfigFromDocument(doc: unknown, project: string, file = "stack file"): RawConfig {
    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    if (doc !== null && doc !== undefined && (typeof doc !== "object" || Array.isArray(doc))) {
        throw new StackFileError(file, `must be a mapping with a \`config:\` key, got ${kindOf(doc)}`);
    }
    const config = (doc as { config?: unknown } | null)?.config;
    if (config === undefined || config === null) return { values, secretKeys };
    if (typeof config !== "object" || Array.isArray(config)) {
        throw new StackFileError(file, `\`config:\` must be a mapping of keys such as aws:region and miles-cluster:cluster, got ${kindOf(config)}`);
    }
    const secretLeaves: string[] = [];
    for (const [k, v] of Object.entries(config)) {
        const key = k.includes(":") ? k : `${project}:${k}`;
        const leaves: string[] = [];
        const value = stripSecure(v, key, leaves);
        values[key] = typeof value === "string" ? value : JSON.stringify(value);
        if (leaves.length > 0) secretKeys.push(key);
        secretLeaves.push(...leaves);
    }
    return { values, secretKeys, secretLeaves };
}

/**
 * The YAML parser itself overflowed its stack: a value nested thousands of levels deep. Name the
 * config key it sits under (the last `key:` at the indentation of the config keys before it).
 */
function tooDeepReason(text: string): string {
    const lines = text.split("\n");
    let key: string | undefined;
    let line = 0;
    let indent: number | undefined;
    for (let i = 0; i < lines.length; i++) {
        if (/^config:\s*$/.test(lines[i])) continue;
        const m = /^(\s+)([A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+):/.exec(lines[i]);
        if (m && (indent === undefined || m[1].length === indent)) {
            indent = m[1].length;
            key = m[2];
            line = i + 1;
        }
        if (/[[{]{64}/.test(lines[i])) break;
    }
    const where = key ? `${key} (line ${line})` : "a value";
    return `${where} nests lists or mappings more than ${MAX_NESTING} levels deep; no miles-cluster field goes deeper than a few levels (see docs/config-reference.md)`;
}

export function readStackFile(file: string, project: string): RawConfig {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new StackFileError(file, code === "ENOENT" ? "no such stack file" : code === "EISDIR" ? "is a directory, not a stack file" : `cannot be read (${code ?? (e as Error).message})`);
    }
    let doc: unknown;
    try {
        doc = parse(text);
    } catch (e) {
        if (e instanceof RangeError || /Maximum call stack/.test((e as Error).message)) throw new StackFileError(file, tooDeepReason(text));
        throw new StackFileError(file, `is not valid YAML: ${(e as Error).message.split("\n")[0].replace(/:\s*$/, "")}`);
    }
    return rawConfigFromDocument(doc, project, file);
}

/** The project root: the nearest folder at or above `from` holding a Pulumi.yaml, else this package's root. */
export function projectRoot(from = process.cwd()): string {
    const proj = nearestProjectFile(from);
    if (proj) return path.dirname(proj);
    // Inside the package: plan/ (source) or dist/plan/ (built).
    for (const cand of [path.resolve(__dirname, ".."), path.resolve(__dirname, "..", "..")]) {
        if (fs.existsSync(path.join(cand, "Pulumi.yaml"))) return cand;
    }
    return process.cwd();
}

/**
 * The name of the Pulumi project a stack file belongs to (the nearest Pulumi.yaml at or above it),
 * which Pulumi uses as the namespace of keys written without one. Default: `fallback`.
 */
export function projectNameFor(file: string, fallback: string): string {
    const proj = nearestProjectFile(path.dirname(path.resolve(file)));
    const name = proj ? readProjectFile(proj)?.name : undefined;
    return typeof name === "string" && name !== "" ? name : fallback;
}

/** Names of the stacks that have a stack file in `dir` (`Pulumi.<name>.yaml`). */
export function stackNames(dir: string): string[] {
    try {
        return fs
            .readdirSync(dir)
            .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
            .filter((n): n is string => n !== undefined)
            .sort();
    } catch {
        return [];
    }
}

/**
 * Config keys the project file (Pulumi.yaml) declares without a default value. Pulumi refuses to
 * run a stack whose file does not set every one of them, so `plan` reports them the same way.
 */
export function requiredProjectKeys(stackFile: string): string[] {
    const proj = nearestProjectFile(path.dirname(path.resolve(stackFile)));
    const doc = proj ? readProjectFile(proj) : undefined;
    const name = typeof doc?.name === "string" ? doc.name : "";
    const config = doc?.config;
    if (config === null || typeof config !== "object" || Array.isArray(config)) return [];
    return Object.entries(config as Record<string, unknown>)
        .filter(([, decl]) => decl !== null && typeof decl === "object" && !Array.isArray(decl) && !("default" in decl) && !("value" in decl))
        .map(([k]) => (k.includes(":") ? k : `${name}:${k}`));
}

/** One problem per required project key the stack file does not set. */
export function missingProjectKeys(stackFile: string, raw: RawConfig): Array<{ path: string; message: string }> {
    return requiredProjectKeys(stackFile)
        .filter((k) => raw.values[k] === undefined)
        .map((k) => ({ path: k, message: `Pulumi.yaml declares this key, so Pulumi requires every stack to set it: ${missingKeyFix(k)}` }));
}

/**
 * How to set a missing declared key. `{}` takes a section's defaults, except for the training section:
 * a run needs a model, so the fix there is the one that creates no run (or a model to train).
 */
function missingKeyFix(key: string): string {
    if (key.endsWith(":training")) return `add \`${key}: { enabled: false }\` for a cluster with no run, or a training section naming its model (\`model: { preset: qwen3-4B }\`)`;
    return `add \`${key}: {}\` to use the defaults`;
}

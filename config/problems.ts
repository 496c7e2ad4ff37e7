/**
 * Problems with a stack's config: what they look like (`<key>.<path>: <reason>`), the error that
 * carries them, and the small helpers every message uses (paths, "did you mean", describing a value).
 */
import * as pulumi from "@pulumi/pulumi";

/** One thing wrong with a stack's configuration, located by a dotted path such as `cluster.gpuNodeGroups[0].nodes`. */
export interface Problem {
    path: string;
    message: string;
}

/** A path segment list, as zod reports it, rendered as `a.b[0].c`. */
export function formatPath(segments: ReadonlyArray<PropertyKey>): string {
    let out = "";
    for (const s of segments) {
        if (typeof s === "number") out += `[${s}]`;
        else out += out === "" ? String(s) : `.${String(s)}`;
    }
    return out;
}

/** Joins a section name (`cluster`) and a relative path into the path users see. */
export function joinPath(section: string, rel: string): string {
    if (rel === "") return section;
    return rel.startsWith("[") ? `${section}${rel}` : `${section}.${rel}`;
}

export function formatProblems(problems: ReadonlyArray<Problem>): string {
    return problems.map((p) => `${p.path}: ${p.message}`).join("\n");
}

/**
 * Thrown when a stack's configuration is invalid. It carries every problem found, and extends
 * `pulumi.RunError` so that `pulumi up`/`preview` print the list without a stack trace.
 */
export class ConfigError extends pulumi.RunError {
    readonly problems: Problem[];
    constructor(problems: Problem[]) {
        super(`invalid miles-cluster configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${formatProblems(problems)}`);
        this.problems = problems;
        this.name = "ConfigError";
    }
}

export function isConfigError(e: unknown): e is ConfigError {
    return e instanceof Error && Array.isArray((e as ConfigError).problems) && e.name === "ConfigError";
}

/** Edit distance, used to suggest the key a typo meant. */
function distance(a: string, b: string): number {
    const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let prev = d[0];
        d[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const cur = d[j];
            d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
            prev = cur;
        }
    }
    return d[b.length];
}

export function closest(word: string, candidates: ReadonlyArray<string>): string | undefined {
    // The same word in another case means that one; a word that starts exactly one candidate ("fsx"
    // for "fsx-lustre") means that one, even when a shorter candidate is fewer edits away ("efs").
    const lower = word.toLowerCase();
    const sameButCase = candidates.find((c) => c.toLowerCase() === lower);
    if (sameButCase !== undefined) return sameButCase;
    const prefixed = lower.length >= 3 ? candidates.filter((c) => c.toLowerCase().startsWith(lower) && c.toLowerCase() !== lower) : [];
    if (prefixed.length === 1) return prefixed[0];
    let best: string | undefined;
    let bestD = Infinity;
    for (const c of candidates) {
        const dd = distance(word, c);
        if (dd < bestD) {
            bestD = dd;
            best = c;
        }
    }
    return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** The value at `path` of `input`, and whether the key is there at all. */
export function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): { present: boolean; value: unknown } {
    let cur: unknown = input;
    for (const seg of path) {
        if (cur === null || typeof cur !== "object" || !(seg in (cur as object))) return { present: false, value: undefined };
        cur = (cur as Record<PropertyKey, unknown>)[seg];
    }
    return { present: cur !== undefined, value: cur };
}

/** A short, readable account of a value the user wrote; strings of secret fields are never echoed. */
export function describeValue(v: unknown, secret = false): string {
    if (v === undefined) return "nothing";
    if (v === null) return "an empty value";
    if (Array.isArray(v)) return `a list (${v.length} item${v.length === 1 ? "" : "s"})`;
    if (typeof v === "object") return "a mapping";
    if (typeof v === "string") {
        if (secret) return "a string";
        const shown = v.length > 60 ? `${v.slice(0, 57)}...` : v;
        return `${JSON.stringify(shown)} (a string)`;
    }
    if (typeof v === "number" || typeof v === "boolean") return secret ? `a ${typeof v}` : `${String(v)} (a ${typeof v === "boolean" ? "boolean" : "number"})`;
    return typeof v;
}


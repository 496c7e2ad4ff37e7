import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";

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

/** Keys the object schema at `path` knows, for "did you mean" hints. */
function knownKeys(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
    let s: any = schema;
    const unwrap = () => {
        for (let i = 0; i < 10 && s; i++) {
            const def = s._zod?.def;
            if (!def) return;
            if (def.type === "optional" || def.type === "default" || def.type === "nullable" || def.type === "prefault" || def.type === "readonly" || def.type === "catch") s = def.innerType;
            else if (def.type === "pipe") s = def.in;
            else return;
        }
    };
    unwrap();
    for (const seg of path) {
        const def = s?._zod?.def;
        if (!def) return [];
        if (def.type === "object") s = def.shape[seg as string];
        else if (def.type === "array") s = def.element;
        else if (def.type === "record") s = def.valueType;
        else return [];
        unwrap();
    }
    const def = s?._zod?.def;
    if (def?.type === "object") return Object.keys(def.shape);
    if (def?.type === "union" || def?.type === "discriminatedUnion") {
        return [...new Set(def.options.flatMap((o: any) => (o._zod?.def?.type === "object" ? Object.keys(o._zod.def.shape) : [])))] as string[];
    }
    return [];
}

/** Turns zod issues of one section into problems, with readable messages and key suggestions. */
export function problemsFromZod(section: string, schema: z.ZodType, issues: ReadonlyArray<z.core.$ZodIssue>): Problem[] {
    const out: Problem[] = [];
    for (const issue of issues) {
        if (issue.code === "unrecognized_keys") {
            const keys = knownKeys(schema, issue.path);
            for (const k of issue.keys) {
                const hint = closest(k, keys);
                out.push({
                    path: joinPath(section, formatPath([...issue.path, k])),
                    message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ""}; known keys: ${keys.join(", ") || "(none)"}`,
                });
            }
            continue;
        }
        if (issue.code === "invalid_union" && issue.errors.length > 0) {
            // Report the branch that got furthest rather than "invalid input".
            const best = [...issue.errors].sort((a, b) => a.length - b.length)[0];
            const nested = best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })) as z.core.$ZodIssue[];
            out.push(...problemsFromZod(section, schema, nested));
            continue;
        }
        out.push({ path: joinPath(section, formatPath(issue.path)), message: issue.message });
    }
    return out;
}

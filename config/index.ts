/**
 * The config layer: the four `miles-cluster:*` stack config keys, each a zod schema, read into one
 * defaults-filled, typed object, with the problems each field has on its own (schema, unknown keys,
 * plaintext secrets) collected as `<key>.<path>: <reason>`. The rules across fields and sections run
 * above this layer, in validation/ (`parseConfig`, `loadConfig`).
 */
import { z } from "zod";
import { ClusterSchema, clusterSecretPaths, type ClusterConfig } from "./cluster";
import { StorageSchema, storageSecretPaths, type StorageConfig } from "./storage";
import { AddonsSchema, addonsSecretPaths, type AddonsConfig } from "./addons";
import { TrainingSchema, trainingSecretPaths, type TrainingConfig } from "./training";
import { closest, describeValue, type Problem } from "./problems";
import { problemsFromZod } from "./zodProblems";
import { nestingDepth } from "./secureLeaves";
import { expandRuns, type RunEntry } from "./runs";

export * from "./problems";
export type { ClusterConfig, StorageConfig, AddonsConfig, TrainingConfig };
export type { RunEntry } from "./runs";

/** The Pulumi config namespace of this package (the project name). */
export const NAMESPACE = "miles-cluster";

/** The stack config keys, in the order they are read, with their schemas. */
export const SECTIONS = {
    cluster: ClusterSchema,
    storage: StorageSchema,
    addons: AddonsSchema,
    training: TrainingSchema,
} as const;
export type SectionName = keyof typeof SECTIONS;
export const SECTION_NAMES = Object.keys(SECTIONS) as SectionName[];

/** Fields that hold secrets: they must come from `pulumi config set --secret`, never plaintext. */
const SECRET_PATHS: Record<SectionName, string[][]> = {
    cluster: clusterSecretPaths,
    storage: storageSecretPaths,
    addons: addonsSecretPaths,
    training: trainingSecretPaths,
};

/** The whole validated configuration of one stack. */
export interface MilesConfig {
    project: string;
    stack: string;
    /** `aws:region`; undefined only for a bring-your-own cluster that creates no AWS resource. */
    region?: string;
    cluster: ClusterConfig;
    storage: StorageConfig;
    addons: AddonsConfig;
    /** The shared training section (with `runs`, the defaults every named run overrides). */
    training: TrainingConfig;
    /**
     * The runs of the stack, each with its own validated training config: the training section
     * itself for a stack without `training.runs` (a queue of one), else one per named run.
     */
    runs: RunEntry[];
    /** Full config keys (`miles-cluster:training`) whose values Pulumi holds as secrets. */
    secretKeys: string[];
}

/** A stack's raw config, as Pulumi hands it to a program: full keys to strings (objects as JSON). */
export interface RawConfig {
    values: Record<string, string>;
    secretKeys: ReadonlyArray<string>;
    /**
     * Paths (`miles-cluster:training.wandb.apiKey`) of the values written as `secure:` in the stack
     * file, when it could be read. Each secret field is then checked on its own; without it, only the
     * key-level flag of `secretKeys` is known (see config/secureLeaves.ts).
     */
    secretLeaves?: ReadonlyArray<string>;
}

/** Deepest nesting of lists and mappings a section may have; the deepest real field is 4 levels down. */
export const MAX_NESTING = 32;


/**
 * The concrete paths a secret path names in `value`: `*` stands for every key of a mapping
 * (`secretEnv.*`). Only paths that hold a value are returned.
 */
function expandSecretPath(value: unknown, path: ReadonlyArray<string>): string[][] {
    let found: Array<{ at: string[]; v: unknown }> = [{ at: [], v: value }];
    for (const seg of path) {
        const next: typeof found = [];
        for (const { at, v } of found) {
            if (v === null || typeof v !== "object" || Array.isArray(v)) continue;
            const keys = seg === "*" ? Object.keys(v) : Object.prototype.hasOwnProperty.call(v, seg) ? [seg] : [];
            for (const k of keys) next.push({ at: [...at, k], v: (v as Record<string, unknown>)[k] });
        }
        found = next;
    }
    return found.filter((f) => f.v !== undefined && f.v !== null).map((f) => f.at);
}


/** An AWS region name such as us-east-1, eu-central-2, us-gov-west-1 or ap-southeast-5. */
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** Problems with stack config keys themselves: unknown `miles-cluster:*` keys and likely namespace or `aws:region` typos. */
function keyProblems(values: Record<string, string>): Problem[] {
    const problems: Problem[] = [];
    for (const key of Object.keys(values)) {
        const colon = key.indexOf(":");
        const ns = colon < 0 ? "" : key.slice(0, colon);
        const name = key.slice(colon + 1);
        if (ns === NAMESPACE) {
            if (!(SECTION_NAMES as string[]).includes(name)) {
                const hint = closest(name, SECTION_NAMES);
                problems.push({ path: key, message: `unknown config key${hint ? ` (did you mean "${NAMESPACE}:${hint}"?)` : ""}; known keys: ${SECTION_NAMES.map((s) => `${NAMESPACE}:${s}`).join(", ")}` });
            }
        } else if (ns === "aws") {
            if (name !== "region" && closest(name, ["region"]) === "region") problems.push({ path: key, message: `unknown key (did you mean "aws:region"?)` });
        } else if ((SECTION_NAMES as string[]).includes(name) || (closest(ns, [NAMESPACE]) === NAMESPACE && closest(name, SECTION_NAMES) !== undefined)) {
            // e.g. `mile-cluster:cluster`, or `cluster:` in a project of another name (Pulumi puts it in that
            // project's namespace): miles-cluster would never read it and the stack would silently get defaults.
            const meant = `${NAMESPACE}:${closest(name, SECTION_NAMES) ?? name}`;
            problems.push({ path: key, message: `is not read by miles-cluster, which reads "${meant}"; write the key as ${meant}` });
        }
    }
    const regionProblem = awsRegionProblem(values["aws:region"]);
    if (regionProblem) problems.push({ path: "aws:region", message: regionProblem });
    return problems;
}

/**
 * What is wrong with `aws:region` as Pulumi passes it (a string; a list or mapping written in the
 * stack file arrives as its JSON text), or undefined when it is a region name or unset.
 */
export function awsRegionProblem(region: string | undefined): string | undefined {
    if (region === undefined || AWS_REGION.test(region)) return undefined;
    let written: unknown = region;
    if (/^\s*[[{]/.test(region)) {
        try {
            written = JSON.parse(region);
        } catch {
            /* not JSON: a plain string */
        }
    }
    if (typeof written !== "string") return `must be one region name such as us-east-1 (a string), got ${describeValue(written)}`;
    return `${JSON.stringify(region.length > 60 ? `${region.slice(0, 57)}...` : region)} is not an AWS region name such as us-east-1 or eu-west-1`;
}

/** The section's value as JSON, or a problem when it is not a mapping. */
function sectionValue(key: string, name: SectionName, text: string | undefined): { value?: Record<string, unknown>; problem?: Problem } {
    if (text === undefined) return { value: {} };
    let value: unknown = text;
    try {
        value = JSON.parse(text);
    } catch {
        /* a bare string, as Pulumi passes a plain scalar */
    }
    if (value === null) return { problem: { path: name, message: `is empty: give ${key} its fields (key: value pairs), or remove the key to take every default` } };
    if (typeof value !== "object" || Array.isArray(value)) {
        return { problem: { path: name, message: `must be a mapping (key: value pairs indented under ${key}), got ${describeValue(value)}; see docs/config-reference.md` } };
    }
    return { value: value as Record<string, unknown> };
}

/**
 * Secret fields written as plaintext. Each field is checked on its own against the `secure:` leaves
 * of the stack file when they are known (a `secure:` W&B key must not vouch for a plaintext HF
 * token beside it); otherwise against the key-level flag Pulumi gives the program.
 */
function plaintextSecretProblems(key: string, name: SectionName, value: unknown, raw: RawConfig): Problem[] {
    const leaves = raw.secretLeaves;
    const isSecret = (p: string[]) => {
        if (leaves === undefined) return raw.secretKeys.includes(key);
        const full = key + p.map((seg) => `.${seg}`).join("");
        // The leaf itself, or a whole mapping above it, was written as `secure:`.
        return leaves.some((l) => l === full || full.startsWith(`${l}.`));
    };
    return SECRET_PATHS[name]
        .flatMap((p) => expandSecretPath(value, p))
        .filter((p) => !isSecret(p))
        .map((p) => ({ path: `${name}.${p.join(".")}`, message: `is a secret: set it with \`pulumi config set --secret --path '${key}.${p.join(".")}' <value>\`, never as plaintext` }));
}

/** A section nested deeper than MAX_NESTING (never a legitimate config; walking it could overflow the stack). */
function nestingProblem(name: SectionName, value: unknown): Problem | undefined {
    const { depth, path } = nestingDepth(value, MAX_NESTING);
    if (depth <= MAX_NESTING) return undefined;
    // The field it sits in (the leading keys), not the thousand indexes under it.
    const lead = path.findIndex((s) => typeof s === "number");
    const at = path.slice(0, Math.min(lead < 0 ? path.length : lead, 3)).map((s) => `.${String(s)}`).join("");
    return { path: `${name}${at}`, message: `nests lists or mappings more than ${MAX_NESTING} levels deep; no field of ${NAMESPACE}:${name} goes deeper than a few levels (see docs/config-reference.md)` };
}




/** The sections of a stack's config that parsed, and the field-level problems of all of them. */
export interface SectionsResult {
    /** The config with every section that parsed; a section that did not parse is left undefined. */
    config: MilesConfig;
    /** The sections that parsed (cross-section rules run only on these). */
    parsed: ReadonlySet<SectionName>;
    problems: Problem[];
}

/** Parses each section of a stack's raw config on its own; never throws for bad input. */
export function parseSections(raw: RawConfig, ctx: { project?: string; stack: string }): SectionsResult {
    const problems: Problem[] = keyProblems(raw.values);
    const out: Partial<Record<SectionName, unknown>> = {};

    for (const name of SECTION_NAMES) {
        const key = `${NAMESPACE}:${name}`;
        const { value, problem } = sectionValue(key, name, raw.values[key]);
        if (problem) {
            problems.push(problem);
            continue;
        }
        const tooDeep = nestingProblem(name, value);
        if (tooDeep) {
            problems.push(tooDeep);
            continue;
        }
        const parsed = SECTIONS[name].safeParse(value);
        if (!parsed.success) problems.push(...problemsFromZod(name, SECTIONS[name], parsed.error.issues, value, SECRET_PATHS[name]));
        else out[name] = parsed.data;
        problems.push(...plaintextSecretProblems(key, name, value, raw));
    }

    let runs: RunEntry[] = [];
    if (out.training !== undefined && raw.values[`${NAMESPACE}:training`] === undefined) {
        // No training key: a cluster with no run (the defaults fill the section's shared fields, e.g. the namespace).
        out.training = { ...(out.training as TrainingConfig), enabled: false };
    } else if (out.training !== undefined) {
        const key = `${NAMESPACE}:training`;
        const rawTraining = sectionValue(key, "training", raw.values[key]).value ?? {};
        const expanded = expandRuns(rawTraining, out.training as TrainingConfig, { secret: raw.secretKeys.includes(key), key });
        runs = expanded.runs;
        problems.push(...expanded.problems);
    }

    // An invalid region is reported once, above; no rule below ever sees (or compiles) it.
    const region = awsRegionProblem(raw.values["aws:region"]) === undefined ? raw.values["aws:region"] : undefined;
    const config = {
        project: ctx.project ?? NAMESPACE,
        stack: ctx.stack,
        region,
        cluster: out.cluster as ClusterConfig,
        storage: out.storage as StorageConfig,
        addons: out.addons as AddonsConfig,
        training: out.training as TrainingConfig,
        runs,
        secretKeys: raw.secretKeys.filter((k) => k.startsWith(`${NAMESPACE}:`)),
    } satisfies MilesConfig;
    return { config, parsed: new Set(SECTION_NAMES.filter((n) => out[n] !== undefined)), problems };
}

/** JSON Schema of one stack file's `config:` block, generated from the zod schemas (for editor completion). */
export function stackConfigJsonSchema(): Record<string, unknown> {
    const properties: Record<string, unknown> = {
        "aws:region": { type: "string", description: "AWS region of the cluster.", examples: ["us-east-1"] },
    };
    for (const name of SECTION_NAMES) {
        properties[`${NAMESPACE}:${name}`] = z.toJSONSchema(SECTIONS[name], { io: "input", unrepresentable: "any" });
    }
    return {
        $schema: "https://json-schema.org/draft/2020-12/schema",
        title: "miles-cluster stack file",
        type: "object",
        properties: {
            secretsprovider: { type: "string" },
            encryptionsalt: { type: "string" },
            config: { type: "object", properties, additionalProperties: true },
        },
    };
}

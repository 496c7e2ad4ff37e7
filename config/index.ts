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

export * from "./problems";
export type { ClusterConfig, StorageConfig, AddonsConfig, TrainingConfig };

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
    training: TrainingConfig;
    /** Full config keys (`miles-cluster:training`) whose values Pulumi holds as secrets. */
    secretKeys: string[];
}

/** A stack's raw config, as Pulumi hands it to a program: full keys to strings (objects as JSON). */
export interface RawConfig {
    values: Record<string, string>;
    secretKeys: ReadonlyArray<string>;
}


function getAt(obj: unknown, path: string[]): unknown {
    let cur: any = obj;
    for (const p of path) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = cur[p];
    }
    return cur;
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
    const region = values["aws:region"];
    if (region !== undefined && !AWS_REGION.test(region)) {
        problems.push({ path: "aws:region", message: `${JSON.stringify(region)} is not an AWS region name such as us-east-1 or eu-west-1` });
    }
    return problems;
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

/** Secret fields written as plaintext (the section's key is not a Pulumi secret). */
function plaintextSecretProblems(key: string, name: SectionName, value: unknown, secretKeys: ReadonlyArray<string>): Problem[] {
    if (secretKeys.includes(key)) return [];
    return SECRET_PATHS[name]
        .filter((p) => getAt(value, p) !== undefined)
        .map((p) => ({ path: `${name}.${p.join(".")}`, message: `is a secret: set it with \`pulumi config set --secret --path '${key}.${p.join(".")}' <value>\`, never as plaintext` }));
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
        const parsed = SECTIONS[name].safeParse(value);
        if (!parsed.success) problems.push(...problemsFromZod(name, SECTIONS[name], parsed.error.issues, value, SECRET_PATHS[name]));
        else out[name] = parsed.data;
        problems.push(...plaintextSecretProblems(key, name, value, raw.secretKeys));
    }

    const region = raw.values["aws:region"];
    const config = {
        project: ctx.project ?? NAMESPACE,
        stack: ctx.stack,
        region,
        cluster: out.cluster as ClusterConfig,
        storage: out.storage as StorageConfig,
        addons: out.addons as AddonsConfig,
        training: out.training as TrainingConfig,
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

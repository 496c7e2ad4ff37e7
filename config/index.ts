/**
 * The config layer: the four `miles-cluster:*` stack config keys, each a zod schema, read into one
 * validated, defaults-filled, typed object. Every problem is collected and reported at once as
 * `<key>.<path>: <reason>` before any resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ClusterSchema, clusterChecks, clusterSecretPaths, type ClusterConfig } from "./cluster";
import { StorageSchema, storageChecks, storageSecretPaths, type StorageConfig } from "./storage";
import { AddonsSchema, addonsChecks, addonsSecretPaths, type AddonsConfig } from "./addons";
import { TrainingSchema, trainingChecks, trainingSecretPaths, type TrainingConfig } from "./training";
import { ConfigError, closest, problemsFromZod, type Problem } from "./problems";

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

const CHECKS: Array<(c: MilesConfig) => Problem[]> = [clusterChecks, storageChecks, addonsChecks, trainingChecks];

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

export interface ParseResult {
    config?: MilesConfig;
    problems: Problem[];
}

function getAt(obj: unknown, path: string[]): unknown {
    let cur: any = obj;
    for (const p of path) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = cur[p];
    }
    return cur;
}

/** Validates a stack's raw config; never throws for bad input, returns every problem instead. */
export function parseConfig(raw: RawConfig, ctx: { project?: string; stack: string }): ParseResult {
    const problems: Problem[] = [];
    const out: Partial<Record<SectionName, unknown>> = {};

    for (const key of Object.keys(raw.values)) {
        if (!key.startsWith(`${NAMESPACE}:`)) continue;
        const name = key.slice(NAMESPACE.length + 1);
        if (!(SECTION_NAMES as string[]).includes(name)) {
            const hint = closest(name, SECTION_NAMES);
            problems.push({ path: key, message: `unknown config key${hint ? ` (did you mean "${NAMESPACE}:${hint}"?)` : ""}; known keys: ${SECTION_NAMES.map((s) => `${NAMESPACE}:${s}`).join(", ")}` });
        }
    }

    for (const name of SECTION_NAMES) {
        const key = `${NAMESPACE}:${name}`;
        const text = raw.values[key];
        let value: unknown = {};
        if (text !== undefined) {
            try {
                value = JSON.parse(text);
            } catch {
                problems.push({ path: name, message: `must be an object (a YAML mapping under ${key}), got ${JSON.stringify(text)}` });
                continue;
            }
        }
        const parsed = SECTIONS[name].safeParse(value);
        if (!parsed.success) {
            problems.push(...problemsFromZod(name, SECTIONS[name], parsed.error.issues));
            continue;
        }
        out[name] = parsed.data;
        if (!raw.secretKeys.includes(key)) {
            for (const p of SECRET_PATHS[name]) {
                if (getAt(value, p) !== undefined) {
                    problems.push({ path: `${name}.${p.join(".")}`, message: `is a secret: set it with \`pulumi config set --secret --path '${key}.${p.join(".")}' <value>\`, never as plaintext` });
                }
            }
        }
    }

    const region = raw.values["aws:region"];
    if (problems.length > 0) return { problems };

    const config: MilesConfig = {
        project: ctx.project ?? NAMESPACE,
        stack: ctx.stack,
        region,
        cluster: out.cluster as ClusterConfig,
        storage: out.storage as StorageConfig,
        addons: out.addons as AddonsConfig,
        training: out.training as TrainingConfig,
        secretKeys: raw.secretKeys.filter((k) => k.startsWith(`${NAMESPACE}:`)),
    };
    for (const check of CHECKS) problems.push(...check(config));
    return problems.length > 0 ? { problems } : { config, problems };
}

/** Reads the current stack's config from the Pulumi runtime; throws a ConfigError listing every problem. */
export function loadConfig(): MilesConfig {
    const all = pulumi.runtime.allConfig();
    // `isConfigSecret` is exported by the runtime but not declared in its typings.
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(k: string): boolean };
    const secretKeys = Object.keys(all).filter((k) => runtimeConfig.isConfigSecret(k));
    const result = parseConfig({ values: all, secretKeys }, { project: pulumi.getProject(), stack: pulumi.getStack() });
    if (!result.config) throw new ConfigError(result.problems);
    return result.config;
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

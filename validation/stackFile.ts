/**
 * Where a stack's file is, and which of its values are written as `secure:`. Under `pulumi up` the
 * program only learns that a whole config key holds some secret (config/secureLeaves.ts), so
 * loadConfig reads the stack file Pulumi itself read to check each secret field on its own.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { MAX_NESTING } from "../config";
import { secureLeafPaths } from "../config/secureLeaves";

/** Reads `stackConfigDir` from Pulumi.yaml (default: the project root). */
export function stackFilePath(root: string, stack: string): string {
    let dir = root;
    try {
        const proj = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { stackConfigDir?: string };
        if (proj?.stackConfigDir) dir = path.join(root, proj.stackConfigDir);
    } catch {
        /* no Pulumi.yaml: stack files beside the caller */
    }
    return path.join(dir, `Pulumi.${stack}.yaml`);
}

/**
 * Paths (`miles-cluster:training.hfToken`) of the `secure:` values of a stack file; undefined when
 * the file cannot be read or parsed (config kept in Pulumi Cloud or an ESC environment): the
 * key-level secret flag is then all there is.
 */
export function stackFileSecretLeaves(file: string, project: string): string[] | undefined {
    let doc: unknown;
    try {
        doc = parse(fs.readFileSync(file, "utf8"));
    } catch {
        return undefined;
    }
    const config = (doc as { config?: unknown } | null)?.config;
    if (config === null || typeof config !== "object" || Array.isArray(config)) return undefined;
    return Object.entries(config as Record<string, unknown>).flatMap(([k, v]) => secureLeafPaths(k.includes(":") ? k : `${project}:${k}`, v, MAX_NESTING + 1));
}

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

/** The nearest Pulumi.yaml in `dir` or a folder above it: the one walk up every lookup here shares. */
export function nearestProjectFile(dir: string): string | undefined {
    for (let d = path.resolve(dir); ; ) {
        const proj = path.join(d, "Pulumi.yaml");
        if (fs.existsSync(proj)) return proj;
        const up = path.dirname(d);
        if (up === d) return undefined;
        d = up;
    }
}

/** A project file's document; undefined when it cannot be read or parsed, or is empty. */
export function readProjectFile(file: string): { name?: unknown; config?: unknown; stackConfigDir?: unknown } | undefined {
    try {
        const doc: unknown = parse(fs.readFileSync(file, "utf8"));
        return doc !== null && typeof doc === "object" ? doc : undefined;
    } catch {
        return undefined;
    }
}

/** Reads `stackConfigDir` from Pulumi.yaml (default: the project root). */
export function stackFilePath(root: string, stack: string): string {
    // No Pulumi.yaml (or none readable): stack files beside the caller.
    const dir = readProjectFile(path.join(root, "Pulumi.yaml"))?.stackConfigDir;
    return path.join(typeof dir === "string" && dir !== "" ? path.join(root, dir) : root, `Pulumi.${stack}.yaml`);
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

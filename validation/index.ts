/**
 * The one place that turns a stack's raw config into a validated MilesConfig: every section parsed
 * on its own (config/), then every rule across fields and sections (this folder and the training
 * rules of domain/training/rules.ts), all problems reported at once, before any resource exists.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseSections, type MilesConfig, type RawConfig, type SectionName } from "../config";
import { ConfigError, type Problem } from "../config/problems";
import { clusterChecks } from "./cluster";
import { storageChecks, storageFitChecks } from "./storage";
import { existingClusterChecks } from "./existingCluster";
import { addonsChecks } from "./addons";
import { headFitChecks, trainingChecks } from "./training";
import { stackFilePath, stackFileSecretLeaves } from "./stackFile";
import { runsChecks } from "./runs";
import { runStackChecks } from "./runStack";
export { clusterStackOf } from "./runStack";
import { resolveStack, type ResolvedStack } from "../domain/stack";
import { clusterWideAddonEnabled } from "../domain/addons";

export interface ParseResult {
    config?: MilesConfig;
    /** The stack resolved once (every run against its platform, monitoring and node groups): what the rules judged, and what the program and plan build from. */
    stack?: ResolvedStack;
    problems: Problem[];
}

/**
 * Cross-field checks and the sections each reads: a check runs as soon as those sections are valid,
 * so a cluster rule is reported in the same run as a typo in the training section.
 */
const CHECKS: Array<{ needs: SectionName[]; check: (c: MilesConfig, stack: () => ResolvedStack) => Problem[] }> = [
    { needs: ["cluster"], check: clusterChecks },
    { needs: ["cluster", "storage", "training"], check: storageChecks },
    { needs: ["cluster", "storage", "addons", "training"], check: (_c, s) => storageFitChecks(s()) },
    { needs: ["cluster", "storage", "addons", "training"], check: (_c, s) => existingClusterChecks(s()) },
    { needs: ["cluster", "addons", "training"], check: addonsChecks },
    { needs: ["cluster", "storage", "addons", "training"], check: (_c, s) => trainingChecks(s()) },
    { needs: ["cluster", "storage", "addons", "training"], check: headFitChecks },
    { needs: ["cluster", "addons", "training"], check: (c, s) => runsChecks(s(), { queued: clusterWideAddonEnabled(c, "kueue") }) },
];

function dedupe(problems: Problem[]): Problem[] {
    const seen = new Set<string>();
    // `aws:region` is reported once: a rule that needs a region says nothing more once its value is wrong.
    const regionProblem = problems.find((p) => p.path === "aws:region");
    return problems.filter((p) => {
        if (p.path === "aws:region" && p !== regionProblem) return false;
        const k = `${p.path}\u0000${p.message}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
    });
}

/**
 * Validates a stack's raw config; never throws for bad input, returns every problem instead. A run
 * stack (`cluster.clusterStack`) is checked against its cluster stack's `milesCluster` output,
 * `clusterFacts` (undefined with `factsProblem` when it could not be read).
 */
export function parseConfig(raw: RawConfig, ctx: { project?: string; stack: string; clusterFacts?: unknown; factsProblem?: string }): ParseResult {
    const { config, parsed, problems } = parseSections(raw, ctx);
    if (parsed.has("cluster") && config.cluster.clusterStack) {
        let stack: ResolvedStack | undefined;
        if (parsed.has("training")) {
            const checked = runStackChecks(config, raw, ctx.clusterFacts, ctx.factsProblem);
            problems.push(...checked.problems);
            stack = checked.stack;
        }
        const all = dedupe(problems);
        return all.length > 0 || !stack ? { problems: all } : { config, stack, problems: all };
    }
    // Resolved once, when the first rule that reads it runs (the sections it reads parsed).
    let stack: ResolvedStack | undefined;
    const resolved = () => (stack ??= resolveStack(config));
    for (const { needs, check } of CHECKS) {
        if (needs.every((n) => parsed.has(n))) problems.push(...check(config, resolved));
    }
    const all = dedupe(problems);
    return all.length > 0 ? { problems: all } : { config, stack: resolved(), problems: all };
}

let leavesOverride: ReadonlyArray<string> | undefined | null = null;

/**
 * Runs `fn` with loadConfig taking these `secure:` leaves instead of reading the stack file (the
 * offline plan: it validated a given file, maybe not the one in the working directory).
 */
export async function withSecretLeaves<T>(leaves: ReadonlyArray<string> | undefined, fn: () => Promise<T>): Promise<T> {
    const before = leavesOverride;
    leavesOverride = leaves;
    try {
        return await fn();
    } finally {
        leavesOverride = before;
    }
}

/** The current stack's raw config, as the Pulumi runtime holds it. */
export function runtimeRawConfig(): RawConfig {
    const all = pulumi.runtime.allConfig();
    // `isConfigSecret` is exported by the runtime but not declared in its typings.
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(k: string): boolean };
    const secretKeys = Object.keys(all).filter((k) => runtimeConfig.isConfigSecret(k));
    // Pulumi runs the program in the project directory, where it read the stack file; the offline
    // plan hands over the leaves of the very file it validated (withSecretLeaves).
    const secretLeaves = leavesOverride !== null ? leavesOverride : stackFileSecretLeaves(stackFilePath(process.cwd(), pulumi.getStack()), pulumi.getProject());
    return { values: all, secretKeys, secretLeaves };
}

/**
 * Reads and validates the current stack's config and resolves it once; throws a ConfigError listing
 * every problem. `facts`: a run stack's cluster facts.
 */
export function loadStack(facts?: { clusterFacts?: unknown; factsProblem?: string }): ResolvedStack {
    const result = parseConfig(runtimeRawConfig(), { project: pulumi.getProject(), stack: pulumi.getStack(), ...facts });
    if (!result.stack) throw new ConfigError(result.problems);
    return result.stack;
}

/** Reads and validates the current stack's config (loadStack's config). */
export function loadConfig(facts?: { clusterFacts?: unknown; factsProblem?: string }): MilesConfig {
    return loadStack(facts).config;
}

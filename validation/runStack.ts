/**
 * A run stack (`cluster.clusterStack`): it sets nothing about the cluster, the storage or the
 * add-ons (they are its cluster stack's), and its runs are checked against the cluster stack's
 * facts — GPU node groups, queue, namespace, and the runs the cluster stack already holds.
 */
import type { MilesConfig, RawConfig } from "../config";
import { NAMESPACE } from "../config";
import type { Problem } from "../config/problems";
import { clusterFactsProblem, type ClusterFacts } from "../domain/runStack";
import { trainingChecks } from "./training";
import { runsChecks } from "./runs";
import { resolveStack, type ResolvedStack } from "../domain/stack";

/** The `cluster.clusterStack` of a raw stack config, read before validation (the program needs it to fetch the facts). */
export function clusterStackOf(raw: RawConfig): { name: string; planFrom?: string } | undefined {
    try {
        const c = JSON.parse(raw.values[`${NAMESPACE}:cluster`] ?? "{}");
        const s = c?.clusterStack;
        return s && typeof s.name === "string" ? { name: s.name, planFrom: typeof s.planFrom === "string" ? s.planFrom : undefined } : undefined;
    } catch {
        return undefined;
    }
}

function keysSet(raw: RawConfig, section: string): string[] {
    try {
        const v = JSON.parse(raw.values[`${NAMESPACE}:${section}`] ?? "{}");
        return v && typeof v === "object" && !Array.isArray(v) ? Object.keys(v) : [];
    } catch {
        return [];
    }
}

/**
 * Every rule of a run stack, and its runs resolved once against the cluster stack's facts.
 * `facts` undefined: the cluster stack's outputs could not be read (`why`).
 */
export function runStackChecks(cfg: MilesConfig, raw: RawConfig, facts: unknown, why?: string): { problems: Problem[]; stack?: ResolvedStack } {
    const ref = cfg.cluster.clusterStack!;
    const problems: Problem[] = [];
    for (const k of keysSet(raw, "cluster")) {
        if (k !== "clusterStack") problems.push({ path: `cluster.${k}`, message: `cannot be set in a run stack: the cluster is cluster stack ${ref.name}'s; set only cluster.clusterStack` });
    }
    for (const s of ["storage", "addons"]) {
        for (const k of keysSet(raw, s)) problems.push({ path: `${s}.${k}`, message: `cannot be set in a run stack: its ${s} are cluster stack ${ref.name}'s; give ${NAMESPACE}:${s} as {}` });
    }
    const bad = why ?? clusterFactsProblem(facts);
    if (bad) return { problems: [...problems, { path: "cluster.clusterStack.name", message: `cluster stack ${ref.name} ${bad}` }] };
    const f = facts as ClusterFacts;
    for (const run of cfg.runs) {
        if (run.training.namespace !== f.namespace) {
            problems.push({
                path: `${run.path === "training" ? "training" : run.path}.namespace`.replace(/^training\.runs\.[^.]+\.namespace$/, "training.namespace"),
                message: `is "${run.training.namespace}" but cluster stack ${f.stack} keeps its storage claim, service account and queue in "${f.namespace}"; remove it or set "${f.namespace}"`,
            });
            break;
        }
    }
    const stack = resolveStack(cfg, f);
    problems.push(...trainingChecks(stack));
    problems.push(...runsChecks(stack, { queued: f.queue !== null, clusterRuns: f.runs, clusterStack: f.stack }));
    return { problems, stack };
}

/**
 * Rules across the runs of a cluster: the runs of this stack, and — for a run stack — the runs its
 * cluster stack holds. Two runs never share a name (their RayJob, submitter Job, Secret and
 * preparation Jobs are named after it) nor a checkpoint directory (both would `--save` into it and
 * Megatron's retention of one would delete the other's checkpoints); a run in a Kueue queue is
 * paused by Kueue's rules, not by `lifecycle.suspend`.
 */
import type { Problem } from "../config/problems";
import type { ResolvedStack } from "../domain/stack";
import type { RunFacts } from "../domain/runStack";
import { runPath } from "./training";

/** True when `a` is `b` or a directory inside it (or the other way round). */
export function nestedPaths(a: string, b: string): boolean {
    const x = a.replace(/\/+$/, "");
    const y = b.replace(/\/+$/, "");
    return x === y || x.startsWith(`${y}/`) || y.startsWith(`${x}/`);
}

/** Suffixes of the objects a run owns besides its RayJob (prep Jobs, Secret): another run may not be named so. */
const OWNED_SUFFIXES = ["-download", "-convert", "-secrets"];

export function runsChecks(stack: ResolvedStack, ctx: { queued: boolean; clusterRuns?: RunFacts[]; clusterStack?: string }): Problem[] {
    const problems: Problem[] = [];
    const seen: Array<{ name: string; dir: string; where: string }> = (ctx.clusterRuns ?? []).map((r) => ({ name: r.name, dir: r.checkpointDir, where: `run ${r.name} of cluster stack ${ctx.clusterStack ?? "?"}` }));
    for (const { entry: run, run: r } of stack.runs) {
        const name = r.runName;
        const nameAt = run.path === "training" ? "training.runName" : run.path;
        for (const s of seen) {
            if (s.name === name) problems.push({ path: nameAt, message: `run name "${name}" is also ${s.where}: two RayJobs cannot share a name in namespace ${r.namespace}; rename one` });
            else if (OWNED_SUFFIXES.some((x) => name === `${s.name}${x}` || s.name === `${name}${x}`)) {
                problems.push({ path: nameAt, message: `run name "${name}" collides with the preparation Jobs or Secret of ${s.where} (<run>-download, -convert, -secrets); rename one` });
            }
            if (nestedPaths(r.paths.checkpointDir, s.dir)) {
                problems.push({
                    path: runPath(run, "training.checkpoints.dir"),
                    message: `${r.paths.checkpointDir} ${r.paths.checkpointDir === s.dir ? "is also" : "overlaps"} the checkpoint directory of ${s.where} (${s.dir}): two runs saving there overwrite each other and one's retention deletes the other's checkpoints; give each run its own directory`,
                });
            }
        }
        seen.push({ name, dir: r.paths.checkpointDir, where: run.path === "training" ? `run ${name} (training)` : `run ${name} (${run.path})` });
        if (ctx.queued && run.training.lifecycle.suspend) {
            problems.push({
                path: runPath(run, "training.lifecycle.suspend"),
                message: `is true but the run is in the Kueue queue, which owns a queued RayJob's suspend and unsuspends it as soon as it admits it (kueue docs, tasks/run/rayjobs.md): to stop the run and keep its checkpoints set enabled: false (it resumes from its last checkpoint when enabled again), or deactivate its Workload (docs/training.md)`,
            });
        }
    }
    return problems;
}

/**
 * What a queued run's entrypoint waits for before train.py (issue 22), decided here once: with
 * Kueue on, `pulumi up` submits the gate and the convert Job without waiting for them
 * (components/fabricGate.ts, components/modelPrep.ts), and Kueue may admit the RayJob beside them
 * when the quota fits both, so the run itself checks (domain/training/runRecord.ts ready.py):
 * - the conversion's done file holds this conversion's hash (prepJobs.ts convertScript), waiting at
 *   most `modelPrep.timeoutMinutes`;
 * - the fabric gate's verdict (gateVerdict.ts) is for this gate identity and passed, waiting at most
 *   `fabricGate.timeoutMinutes` (the gate Job's own deadline from its admission).
 * Without a queue `pulumi up` enforces both before it creates the RayJob, and nothing is added.
 */
import type { ResolvedRun } from "../training/run";
import type { TrainingContext } from "../training/pod";
import type { RunPreconditions } from "../training/runRecord";
import { conversionHash, convertJobName, hasConversions } from "../training/prepJobs";
import { fabricGatePlan } from "./gate";
import { gateExpectation } from "./gateJob";

export function runPreconditions(r: ResolvedRun, ctx: Pick<TrainingContext, "queue">): RunPreconditions | undefined {
    if (ctx.queue === undefined) return undefined;
    const plan = fabricGatePlan(r);
    const pre: RunPreconditions = {
        ...(hasConversions(r) ? { conversion: { job: convertJobName(r), hash: conversionHash(r), file: r.paths.convertDone, waitSeconds: r.training.modelPrep.timeoutMinutes * 60 } } : {}),
        ...(plan.enabled ? { gate: { ...gateExpectation(r, plan), waitSeconds: plan.timeoutMinutes * 60 } } : {}),
    };
    // Queued: always an object, possibly without checks, so that turning the gate off or on changes
    // ready.json only, not the RayJob's entrypoint (runRecord.ts).
    return pre;
}

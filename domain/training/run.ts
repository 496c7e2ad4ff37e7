/**
 * The one resolution of a training run: its layout, paths and sizes (resolve.ts) and the miles
 * command line and env (argv.ts), in one object that the rules, every manifest builder, the
 * components and the plan read. Nothing else resolves a run.
 */
import type { MilesConfig, TrainingConfig } from "../../config";
import { gpuNodeGroupsFromConfig } from "../gpuNodes";
import { monitoringEnabled } from "../addons";
import { milesCommand, type MilesCommand } from "./argv";
import { resolveTraining, type ResolvedTraining, type RunContext } from "./resolve";

export interface ResolvedRun extends ResolvedTraining {
    /** The train.py argv, entrypoint and env of the run. */
    command: MilesCommand;
}

/** Resolves a validated training section against the cluster it runs on. */
export function resolveRun(training: TrainingConfig, ctx: RunContext): ResolvedRun {
    const r = resolveTraining(training, ctx);
    return { ...r, command: milesCommand(r) };
}

/** The run of a whole stack config, with the GPU node groups its cluster section declares (validation, plan). */
export function runOf(cfg: MilesConfig): ResolvedRun {
    return resolveRun(cfg.training, { stack: cfg.stack, gpuNodeGroups: gpuNodeGroupsFromConfig(cfg), monitoring: monitoringEnabled(cfg), platform: cfg.cluster.existing ? "existing" : "eks" });
}

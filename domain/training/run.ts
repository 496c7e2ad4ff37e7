/**
 * The one resolution of a training run: its layout, paths and sizes (resolve.ts) and the miles
 * command line and env (argv.ts), in one object that the rules, every manifest builder, the
 * components and the plan read. Nothing else resolves a run.
 */
import type { TrainingConfig } from "../../config";
import { milesCommand, type MilesCommand } from "./argv";
import { resolveTraining, type ResolvedTraining, type RunContext } from "./resolve";
import type { AutoLayout } from "./layoutChoice";

export interface ResolvedRun extends ResolvedTraining {
    /** The train.py argv, entrypoint and env of the run. */
    command: MilesCommand;
    /**
     * `parallelism: auto`: the layout search's result (domain/stack.ts resolves it once); `training`
     * is then the config with the chosen layout applied.
     */
    auto?: AutoLayout;
}

/** Resolves a validated training section against the cluster it runs on. */
export function resolveRun(training: TrainingConfig, ctx: RunContext): ResolvedRun {
    const r = resolveTraining(training, ctx);
    return { ...r, command: milesCommand(r) };
}

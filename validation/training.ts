/**
 * The training rules as config problems: errors stop `pulumi up` and `plan`; warnings only reach the
 * plan summary (domain/training/rules.ts).
 */
import type { MilesConfig } from "../config";
import type { Problem } from "../config/problems";
import { trainingProblems } from "../domain/training/rules";
import { runOf } from "../domain/training/run";

/**
 * Cross-field rules miles and Megatron enforce at start-up (or hang on), checked before anything is
 * created. Each problem names the field and the numbers. See domain/training/rules.ts.
 */
export function trainingChecks(cfg: MilesConfig): Problem[] {
    if (!cfg.training.enabled) return [];
    return trainingProblems(runOf(cfg)).filter((p) => p.severity === "error").map(({ path, message }) => ({ path, message }));
}

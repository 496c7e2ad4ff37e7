/**
 * Rules of a bring-your-own cluster (`cluster.existing`) the training rules do not reach: those judge
 * the enabled runs only (domain/training/rules.ts), while a disabled run is still resolved and kept in
 * the stack, ready to be switched on.
 */
import type { Problem } from "../config/problems";
import type { ResolvedStack } from "../domain/stack";

/**
 * `image.source: efa-build` names the ECR repository an EKS stack creates and its CI pushes to; a
 * bring-your-own cluster has neither, so no node could ever pull it — refused for disabled runs too,
 * before `enabled: true` would find out.
 */
export function existingClusterChecks(stack: ResolvedStack): Problem[] {
    if (stack.context.platform !== "existing") return [];
    return stack.all
        .filter(({ entry, run }) => !entry.training.enabled && run.imageChoice.source === "efa-build")
        .map(({ entry }) => ({
            path: `${entry.path}.image.source`,
            message: `"efa-build" is pushed to the ECR repository an EKS stack creates, and a bring-your-own cluster has no such registry (the run is disabled, but enabling it could never pull its image); push images/miles-efa to your registry and use source "named" with its repository and digest`,
        }));
}

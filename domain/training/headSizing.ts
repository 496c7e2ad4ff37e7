/**
 * The Ray head's memory, decided once in resolution (ResolvedTraining.head) and read by the head pod
 * (pod.ts), the plan and the rules: what the head holds for this run, unless
 * `training.resources.headMemoryGiB` states a size (a size below the need is a warning, rules).
 */
import type { ArchFacts } from "../../catalog/modelArch";
import type { TrainingConfig } from "../../config";

const GIB = 2 ** 30;

/**
 * The head's memory without R3: the train.py driver, the RolloutManager and its router (miles runs them
 * on the head, `--pin-rollout-manager-to-head`, domain/training/argv.ts) and the prompt dataset. The
 * default the head had before it was derived (config/training.ts `headMemoryGiB`), not a measurement.
 */
export const HEAD_BASE_GIB = 8;

export interface HeadSizing {
    /** The head pod's memory (request = limit), GiB. */
    memoryGiB: number;
    /** What the run needs on the head, GiB. */
    needGiB: number;
    /** `config`: resources.headMemoryGiB; `run`: derived from what the head holds. */
    from: "config" | "run";
    /** Bytes of R3's routed-expert arrays of one rollout batch (0 without R3). */
    r3Bytes: number;
    /** How the need was computed, for the plan and the warning. */
    basis: string;
}

/**
 * With R3 (`features.routingReplay`) every sample of a rollout batch carries its routed experts, an int32
 * array of tokens × MoE layers × top-k, and the RolloutManager on the head holds the whole batch before it
 * is split for the trainer (radixark/miles v0.1.0 miles/rollout/session/samples/codec.py:38
 * `"rollout_routed_experts": ValueSpec("tensor", np.int32)`, miles/ray/rollout/train_data_conversion.py:22).
 * Counted for the rollout batch (rolloutBatchSize × nSamplesPerPrompt) at the longest sequence, on top of
 * HEAD_BASE_GIB.
 */
export function headSizing(t: TrainingConfig, arch: ArchFacts, numExperts: number, seqTokens: number): HeadSizing {
    let r3Bytes = 0;
    let basis = `${HEAD_BASE_GIB} GiB for the driver, RolloutManager and router`;
    if (t.features.routingReplay && numExperts > 0) {
        const moeLayers = arch.moeLayers.filter(Boolean).length;
        const samples = t.algorithm.rolloutBatchSize * t.algorithm.nSamplesPerPrompt;
        r3Bytes = samples * seqTokens * moeLayers * arch.moeRouterTopk * 4;
        basis = `${samples} samples × ${seqTokens.toLocaleString("en-US")} tokens × ${moeLayers} MoE layers × top-${arch.moeRouterTopk} × 4 B (int32) = ${(r3Bytes / GIB).toFixed(1)} GiB of routed-expert arrays (R3), + ${basis}`;
    }
    const needGiB = HEAD_BASE_GIB + Math.ceil(r3Bytes / GIB);
    const set = t.resources.headMemoryGiB;
    return { memoryGiB: set ?? needGiB, needGiB, from: set === undefined ? "run" : "config", r3Bytes, basis };
}

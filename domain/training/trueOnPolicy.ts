/**
 * True on-policy (bitwise-equal rollout and training log-probs) exactly as miles v0.1.0 builds it:
 * radixark/miles tag v0.1.0 (78527b91) `miles/true_on_policy/config.py` (`TrueOnPolicyConfig.validate`,
 * `build_launch_plan`, `TrueOnPolicyKernelPolicy.build_*_args`), `model_profiles.py`, `contracts.py`,
 * `schema.py`, and its only launcher `scripts/run_qwen3_4b.py`. miles derives the contract from the
 * model name; a model without a profile raises "true-on-policy does not have a model profile".
 */

export interface TrueOnPolicyContract {
    name: string;
    sglangAttentionBackend: string;
    /** `disable_megatron_sequence_parallel`: miles turns `--sequence-parallel` off for the run. */
    disableMegatronSequenceParallel: boolean;
}

export interface TrueOnPolicyProfile {
    family: string;
    /** miles preset (Megatron model type) → the HF model name the profile lists. */
    presets: Readonly<Record<string, string>>;
    trainLayouts: ReadonlyArray<"dp" | "tp" | "pp" | "ulysses_cp">;
    rolloutLayouts: ReadonlyArray<"dp" | "tp">;
    supportsMegatron: boolean;
    contract: TrueOnPolicyContract;
}

/** schema.py `QWEN3_DENSE_TRUE_ON_POLICY_V1_SCHEMA`. */
export const QWEN3_DENSE_TRUE_ON_POLICY_V1: TrueOnPolicyContract = {
    name: "qwen3_dense_true_on_policy_v1",
    sglangAttentionBackend: "fa3",
    disableMegatronSequenceParallel: true,
};

/**
 * model_profiles.py `QWEN3_DENSE_PROFILE` (the only entry of `_MODEL_PROFILES`): model names
 * Qwen3-0.6B, Qwen3-4B, Qwen3-4B-Base, Qwen3-4B-Instruct-2507 with Megatron model types qwen3-0.6B,
 * qwen3-4B (also for -Base) and qwen3-4B-Instruct-2507.
 */
export const TRUE_ON_POLICY_PROFILES: ReadonlyArray<TrueOnPolicyProfile> = [
    {
        family: "qwen3_dense",
        presets: { "qwen3-0.6B": "Qwen3-0.6B", "qwen3-4B": "Qwen3-4B", "qwen3-4B-Instruct-2507": "Qwen3-4B-Instruct-2507" },
        trainLayouts: ["dp", "tp", "pp", "ulysses_cp"],
        rolloutLayouts: ["dp", "tp"],
        supportsMegatron: true,
        contract: QWEN3_DENSE_TRUE_ON_POLICY_V1,
    },
];

export function trueOnPolicyProfile(preset: string | undefined): TrueOnPolicyProfile | undefined {
    return preset === undefined ? undefined : TRUE_ON_POLICY_PROFILES.find((p) => p.presets[preset] !== undefined);
}

/** Presets miles has a true on-policy profile for (for error messages). */
export const TRUE_ON_POLICY_PRESETS: ReadonlyArray<string> = TRUE_ON_POLICY_PROFILES.flatMap((p) => Object.keys(p.presets));

export interface TrueOnPolicyLayout {
    /** Preset name, undefined for a custom architecture (miles keys profiles by model name). */
    preset?: string;
    tp: number;
    pp: number;
    cp: number;
    gpusPerEngine: number;
    sequenceParallel: boolean;
    fp8Training: boolean;
}

/** What miles' `TrueOnPolicyConfig.validate` and the launch contract refuse, as `path: message` pairs. */
export function trueOnPolicyProblems(l: TrueOnPolicyLayout): Array<{ path: string; message: string }> {
    const out: Array<{ path: string; message: string }> = [];
    const profile = trueOnPolicyProfile(l.preset);
    if (!profile) {
        out.push({
            path: "training.features.trueOnPolicy",
            message: `miles v0.1.0 has no true on-policy profile for ${l.preset === undefined ? "a custom architecture" : `"${l.preset}"`} (miles/true_on_policy/model_profiles.py); supported presets: ${TRUE_ON_POLICY_PRESETS.join(", ")}`,
        });
        return out;
    }
    const name = profile.family;
    if (!profile.supportsMegatron) out.push({ path: "training.features.trueOnPolicy", message: `${name} does not support Megatron true-on-policy` });
    if (l.cp > 1 && !profile.trainLayouts.includes("ulysses_cp")) out.push({ path: "training.parallelism.cp", message: `${name} does not support Ulysses CP true-on-policy` });
    if (l.pp > 1 && !profile.trainLayouts.includes("pp")) out.push({ path: "training.parallelism.pp", message: `${name} does not support PP true-on-policy` });
    if ((l.tp > 1 || l.gpusPerEngine > 1) && !(profile.trainLayouts.includes("tp") || profile.rolloutLayouts.includes("tp"))) {
        out.push({ path: "training.parallelism.tp", message: `${name} does not support TP-invariant true-on-policy (TP ${l.tp}, ${l.gpusPerEngine} GPUs per engine)` });
    }
    if (profile.contract.disableMegatronSequenceParallel && l.sequenceParallel && l.tp > 1) {
        out.push({ path: "training.parallelism.sequenceParallel", message: `must be false with trueOnPolicy: contract ${profile.contract.name} disables Megatron sequence parallelism (miles' apply_true_on_policy_script_defaults)` });
    }
    if (l.fp8Training) {
        out.push({ path: "training.features.fp8Training", message: "cannot be combined with trueOnPolicy: the contract runs Megatron with --transformer-impl local (FP8 training needs transformer_engine)" });
    }
    return out;
}

export interface TrueOnPolicyLaunch {
    /** Flags appended to train.py, in miles' order: SGLang, Megatron, miles. */
    args: string[];
    env: Array<{ name: string; value: string }>;
}

/**
 * The env of deterministic training: miles' true on-policy `build_env_vars`, and the same three values
 * scripts/run_deepseek_v4.py sets with `train_deterministic` (radixark/miles v0.1.0).
 */
export const DETERMINISTIC_ENV: ReadonlyArray<{ name: string; value: string }> = [
    { name: "NCCL_ALGO", value: "Ring" },
    { name: "NVTE_ALLOW_NONDETERMINISTIC_ALGO", value: "0" },
    { name: "CUBLAS_WORKSPACE_CONFIG", value: ":4096:8" },
];

/** miles' `build_launch_plan` for the Megatron backend (`train_args` = sglang + megatron + miles args, and `env_vars`). */
export function trueOnPolicyLaunch(profile: TrueOnPolicyProfile, l: Pick<TrueOnPolicyLayout, "cp">): TrueOnPolicyLaunch {
    const c = profile.contract;
    return {
        args: [
            // build_sglang_args (deterministic_inference is always true in kernel_policy_kwargs_for).
            "--sglang-enable-deterministic-inference",
            "--sglang-true-on-policy-contract", c.name,
            "--sglang-attention-backend", c.sglangAttentionBackend,
            // build_megatron_args (megatron_uses_sglang_backend, batch_invariant_mode, disable_* are true for megatron).
            "--true-on-policy-contract", c.name,
            "--transformer-impl", "local",
            "--use-cpu-initialization",
            "--batch-invariant-mode",
            "--no-bias-swiglu-fusion",
            "--no-rope-fusion",
            // miles_args.
            "--deterministic-mode",
            "--true-on-policy-mode",
            "--recompute-logprobs-via-prefill",
            // scripts/run_qwen3_4b.py: `cp_comm_type = "a2a" if context_parallel_size > 1` (the profile's "ulysses_cp").
            ...(l.cp > 1 ? ["--cp-comm-type", "a2a"] : []),
        ],
        // build_env_vars (NCCL_ALGO defaults to Ring unless the launcher's env sets it).
        env: [...DETERMINISTIC_ENV],
    };
}

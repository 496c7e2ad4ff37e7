import { strict as assert } from "node:assert";
import { runOf } from "../domain/stack";
import { parseOneNode } from "./harness";

const parse = (training: Record<string, unknown>) => parseOneNode(training, "top");
const at = (training: Record<string, unknown>, path: string) => parse(training).problems.find((p) => p.path === path)?.message;

describe("true on-policy as miles v0.1.0 builds it", () => {
    it("emits miles' full launch contract for qwen3-4B (sglang, Megatron and miles args, env), in miles' order", () => {
        const r = parse({ parallelism: { tp: 2, cp: 2 }, features: { trueOnPolicy: true } });
        assert.deepEqual(r.problems, []);
        const cmd = runOf(r.config!).command;
        const group = cmd.groups.find((g) => g.name === "true-on-policy")!.args;
        // miles/true_on_policy/config.py build_sglang_args + build_megatron_args + miles_args; run_qwen3_4b.py cp_comm_type a2a
        assert.deepEqual(group, [
            "--sglang-enable-deterministic-inference",
            "--sglang-true-on-policy-contract", "qwen3_dense_true_on_policy_v1",
            "--sglang-attention-backend", "fa3",
            "--true-on-policy-contract", "qwen3_dense_true_on_policy_v1",
            "--transformer-impl", "local",
            "--use-cpu-initialization",
            "--batch-invariant-mode",
            "--no-bias-swiglu-fusion",
            "--no-rope-fusion",
            "--deterministic-mode",
            "--true-on-policy-mode",
            "--recompute-logprobs-via-prefill",
            "--cp-comm-type", "a2a",
        ]);
        const env = Object.fromEntries(cmd.env.map((e) => [e.name, e.value]));
        assert.deepEqual([env.NCCL_ALGO, env.NVTE_ALLOW_NONDETERMINISTIC_ALGO, env.CUBLAS_WORKSPACE_CONFIG], ["Ring", "0", ":4096:8"]);
        assert.ok(!cmd.argv.includes("--sequence-parallel"));
    });

    it("is off by default: none of the contract's flags", () => {
        const cmd = runOf(parse({}).config!).command;
        assert.ok(!cmd.argv.includes("--true-on-policy-mode") && !cmd.argv.includes("--batch-invariant-mode"));
    });

    it("refuses models miles has no profile for, naming the supported ones", () => {
        const m = at({ model: { preset: "qwen3-8B" }, features: { trueOnPolicy: true } }, "training.features.trueOnPolicy");
        assert.ok(m && m.includes('"qwen3-8B"') && m.includes("qwen3-4B") && m.includes("qwen3-0.6B"), m);
        const c = at({ model: { custom: { args: ["--num-layers", "2", "--hidden-size", "64", "--num-attention-heads", "4"], hfRepo: "a/b" } }, features: { trueOnPolicy: true } }, "training.features.trueOnPolicy");
        assert.ok(c && c.includes("custom architecture"), c);
    });

    it("refuses what the contract disables: sequence parallelism and FP8 training (--transformer-impl local)", () => {
        assert.ok(at({ parallelism: { tp: 2, sequenceParallel: true }, features: { trueOnPolicy: true } }, "training.parallelism.sequenceParallel")?.includes("qwen3_dense_true_on_policy_v1"));
        assert.ok(at({ features: { trueOnPolicy: true, fp8Training: true } }, "training.features.fp8Training")?.includes("--transformer-impl local"));
    });
});

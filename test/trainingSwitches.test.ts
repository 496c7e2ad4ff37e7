import { strict as assert } from "node:assert";
import { parseConfig } from "../validation";
import { runOf } from "../domain/stack";
import { rawConfig } from "./harness";

const parse = (training: Record<string, unknown>, nodes = 2) =>
    parseConfig(
        rawConfig({
            "aws:region": "us-east-1",
            "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes }] },
            "miles-cluster:training": training,
        }),
        { stack: "sw" },
    );
const problem = (training: Record<string, unknown>, path: string, nodes = 2) => parse(training, nodes).problems.find((p) => p.path === path)?.message;
const argvOf = (training: Record<string, unknown>, nodes = 2) => {
    const r = parse(training, nodes);
    assert.deepEqual(r.problems, []);
    return runOf(r.config!).command.argv;
};
const after = (argv: string[], flag: string, n = 1) => argv.slice(argv.indexOf(flag) + 1, argv.indexOf(flag) + 1 + n);
const DISAGG = { layout: { colocate: false, rolloutGpus: 8 } };

describe("MIS, eval, HF export and weight transfer switches", () => {
    it("MIS: the run_qwen3_4b.py config inline as a base64 pseudo-file and the MIS function", () => {
        const argv = argvOf({ features: { mis: { enabled: true } } }, 1);
        assert.deepEqual(after(argv, "--custom-tis-function-path"), ["examples.infra_features.train_infer_mismatch_helper.mis.compute_mis_weights_with_cp"]);
        const [payload] = after(argv, "--custom-config-path");
        assert.ok(payload.startsWith("base64:"));
        const yaml = Buffer.from(payload.slice("base64:".length), "base64").toString();
        // the --enable-mis block of radixark/miles v0.1.0 scripts/run_qwen3_4b.py
        assert.equal(
            yaml,
            'use_tis: true\nuse_rs: true\ntis_level: "token"\nrs_level: "token"\ntis_mode: "truncate"\ntis_lower_bound: 0.5\ntis_upper_bound: 2\nrs_lower_bound: null\nrs_upper_bound: null\nrs_veto_threshold: 0.0001\ntis_batch_normalize: true',
        );
    });

    it("MIS refuses TIS, rollout logprobs and batch normalization at the geometric level", () => {
        assert.ok(problem({ features: { mis: { enabled: true }, tis: { enabled: true } } }, "training.features.mis.enabled", 1)?.includes("replaces TIS"));
        assert.ok(problem({ features: { mis: { enabled: true }, useRolloutLogprobs: true } }, "training.features.mis.enabled", 1)?.includes("useRolloutLogprobs"));
        assert.ok(problem({ features: { mis: { enabled: true, tisLevel: "geometric" } } }, "training.features.mis.tisBatchNormalize", 1));
    });

    it("weight transfer: p2p and disk-delta are emitted for disaggregated runs and refused with --colocate", () => {
        const argv = argvOf({ ...DISAGG, rollout: { weightTransfer: { mode: "p2p", bufferSizeMiB: 4096 } } });
        assert.deepEqual(after(argv, "--update-weight-transfer-mode"), ["p2p"]);
        assert.deepEqual(after(argv, "--update-weight-buffer-size"), [String(4096 * 1024 * 1024)]);
        assert.ok(problem({ rollout: { weightTransfer: { mode: "p2p" } } }, "training.rollout.weightTransfer.mode", 1)?.includes("--colocate"));
        assert.ok(problem({ extraArgs: ["--update-weight-transfer-mode", "disk-delta"] }, "training.extraArgs[0]", 1)?.includes("--colocate"), "the same rule for extraArgs");
        assert.ok(!argvOf({}, 1).includes("--update-weight-transfer-mode"), "broadcast is miles' default and not emitted");
    });

    it("disk-delta needs a shared delta directory and a host-local checkpoint directory", () => {
        assert.ok(problem({ ...DISAGG, rollout: { weightTransfer: { mode: "disk-delta" } } }, "training.rollout.weightTransfer.diskDir"));
        assert.ok(problem({ ...DISAGG, rollout: { weightTransfer: { mode: "disk-delta", diskDir: "/shared/d" } } }, "training.rollout.weightTransfer.localCheckpointDir"));
        assert.ok(problem({ ...DISAGG, rollout: { weightTransfer: { mode: "disk-delta", diskDir: "/shared/d", localCheckpointDir: "/shared/x" } } }, "training.rollout.weightTransfer.localCheckpointDir")?.includes("shared volume"));
        const argv = argvOf({ ...DISAGG, rollout: { weightTransfer: { mode: "disk-delta", diskDir: "/shared/d", localCheckpointDir: "/tmp/ckpt" } } });
        assert.deepEqual(after(argv, "--update-weight-local-checkpoint-dir"), ["/tmp/ckpt"]);
    });

    it("eval during training: interval, datasets as name/path pairs, sampling", () => {
        const argv = argvOf({ eval: { interval: 20, datasets: [{ name: "aime", path: "/shared/data/aime-2024/aime-2024.jsonl" }], nSamplesPerPrompt: 16, maxResponseLen: 16384, topP: 1 } }, 1);
        assert.deepEqual(after(argv, "--eval-prompt-data", 2), ["aime", "/shared/data/aime-2024/aime-2024.jsonl"]);
        assert.deepEqual([after(argv, "--eval-interval")[0], after(argv, "--n-samples-per-eval-prompt")[0], after(argv, "--eval-max-response-len")[0]], ["20", "16", "16384"]);
        assert.ok(problem({ eval: { interval: 20 } }, "training.eval.datasets", 1)?.includes("eval_interval"));
    });

    it("a dedicated eval fleet counts in the GPU math and follows miles' snapshot-eval asserts", () => {
        const evalFleet = { interval: 20, datasets: [{ name: "aime", path: "/shared/a.jsonl" }], numGpus: 8, hfDir: "/tmp/eval-hf" };
        const r = parse({ ...DISAGG, eval: evalFleet }, 3);
        assert.deepEqual(r.problems, []);
        assert.equal(runOf(r.config!).gpusNeeded, 24);
        assert.ok(problem({ ...DISAGG, eval: evalFleet }, "training.layout", 2)?.includes("8 eval = 24 GPUs"));
        assert.ok(problem({ eval: { ...evalFleet } }, "training.eval.numGpus", 2)?.includes("--colocate"));
        assert.ok(problem({ ...DISAGG, eval: { ...evalFleet, hfDir: undefined } }, "training.eval.hfDir", 3)?.includes("exportHf"));
        assert.ok(problem({ ...DISAGG, eval: { ...evalFleet, hfDir: undefined, interval: 30 }, checkpoints: { exportHf: { enabled: true } } }, "training.eval.interval", 3)?.includes("saveInterval 20"));
        assert.ok(problem({ ...DISAGG, eval: { ...evalFleet, numGpus: 6, numGpusPerEngine: 4 } }, "training.eval.numGpus", 3)?.includes("divisible"));
    });

    it("HF export on every save into the checkpoint directory (exported to S3 by the /checkpoints link), with its storage cost", () => {
        const r = parse({ checkpoints: { exportHf: { enabled: true } } }, 1);
        assert.deepEqual(r.problems, []);
        const run = runOf(r.config!);
        assert.deepEqual(after(run.command.argv, "--save-hf"), ["/shared/checkpoints/miles-sw/hf/{rollout_id}"]);
        assert.ok(run.command.entrypoint.includes("'/shared/checkpoints/miles-sw/hf/{rollout_id}'"), "quoted for the shell");
    });

    it("extraArgs that bypass a rule are refused: --true-on-policy-mode alone, CPU offload without the precision-aware optimizer", () => {
        assert.ok(problem({ extraArgs: ["--true-on-policy-mode"] }, "training.extraArgs[0]", 1)?.includes("features.trueOnPolicy"));
        assert.ok(problem({ extraArgs: ["--optimizer-cpu-offload"] }, "training.extraArgs[0]", 1)?.includes("--use-precision-aware-optimizer"));
    });
});

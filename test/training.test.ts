import { strict as assert } from "node:assert";
import { parseConfig } from "../validation";
import { type MilesConfig, type Problem } from "../config";
import { rawConfig } from "./harness";
import { trainingProblems, trainingWarnings } from "../domain/training/rules";
import { workerSizing } from "../domain/training/resolve";
import { runOf } from "../domain/stack";

/** A stack with one p5.48xlarge group of `nodes` nodes and the given training config. */
function values(training: Record<string, unknown>, nodes = 1, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        "aws:region": "us-east-1",
        "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes }] },
        "miles-cluster:training": training,
        ...extra,
    };
}

function parse(training: Record<string, unknown>, nodes = 1, secretKeys: string[] = []): { config?: MilesConfig; problems: Problem[] } {
    return parseConfig(rawConfig(values(training, nodes), secretKeys), { stack: "test" });
}

function config(training: Record<string, unknown>, nodes = 1): MilesConfig {
    const r = parse(training, nodes);
    assert.deepEqual(r.problems, [], "config should be valid");
    return r.config!;
}

/** Asserts that the config is rejected with a problem at `path` whose message contains every `parts`. */
function rejects(training: Record<string, unknown>, path: string, parts: string[], nodes = 1): void {
    const r = parse(training, nodes);
    const hit = r.problems.find((p) => p.path === path);
    assert.ok(hit, `expected a problem at ${path}, got:\n${r.problems.map((p) => `${p.path}: ${p.message}`).join("\n") || "(none)"}`);
    for (const part of parts) assert.ok(hit.message.includes(part), `message at ${path} lacks "${part}": ${hit.message}`);
}

describe("training config", () => {
    it("fills defaults: qwen3-4B GRPO colocated on the 8 GPUs of the first group, paths under /shared", () => {
        const cfg = config({});
        const t = cfg.training;
        assert.equal(t.image.repository, "radixark/miles");
        assert.notEqual(t.image.tag, "latest");
        assert.equal(t.model.preset, "qwen3-4B");
        assert.equal(t.algorithm.advantageEstimator, "grpo");
        const r = runOf(cfg);
        assert.equal(r.group?.name, "h100");
        assert.equal(r.actorGpus, 8);
        assert.equal(r.gpusNeeded, 8);
        assert.equal(r.paths.hfDownload, "/shared/models/Qwen3-4B");
        assert.equal(r.paths.refLoad, "/shared/models/Qwen3-4B_torch_dist");
        assert.equal(r.paths.checkpointDir, "/shared/checkpoints/miles-test");
        assert.equal(r.paths.promptData, "/shared/data/dapo-math-17k/dapo-math-17k.jsonl");
        // 32 prompts × 8 samples = 256 = global batch × 1 step
        assert.equal(r.globalBatchSize, 256);
        assert.equal(r.numStepsPerRollout, 1);
    });

    it("retains every 25th save by default (save 20 → retain 500), or every checkpoint with null", () => {
        assert.equal(config({}).training.checkpoints.retainInterval, 500);
        assert.equal(config({ checkpoints: { saveInterval: 30 } }).training.checkpoints.retainInterval, 750);
        const all = config({ checkpoints: { retainInterval: null } });
        assert.equal(all.training.checkpoints.retainInterval, null);
        assert.ok(!runOf(all).command.argv.includes("--save-retain-interval"));
        const argv = runOf(config({})).command.argv;
        assert.equal(argv[argv.indexOf("--save-retain-interval") + 1], "500");
    });

    it("sizes a p5.48xlarge worker pod below the node: 192 − 8 = 184 CPUs, floor(2048 × 0.88) = 1802 GiB, 32 EFA → hugepages", () => {
        const cfg = config({});
        const s = workerSizing(cfg.training, runOf(cfg).group);
        assert.equal(s.cpu, 184);
        assert.equal(s.memoryGiB, 1802);
        assert.equal(s.hugepages2MiMi, 5120);
        assert.equal(s.objectStoreGiB, 128);
    });

    it("checks nothing when training is disabled (a group of 0 nodes, e.g. before a Capacity Block starts)", () => {
        rejects({}, "training.layout", ["1 × 8 = 8", "0 × 8 = 0"], 0);
        assert.deepEqual(parse({ enabled: false }, 0).problems, []);
    });

    describe("field shape", () => {
        it("rejects an unknown preset and suggests the closest", () => rejects({ model: { preset: "qwen3-4b" } }, "training.model.preset", ["unknown model preset", '"qwen3-4B"']));
        it("rejects a slime-only preset the miles image cannot run", () => rejects({ model: { preset: "qwen3.5-0.8B" } }, "training.model.preset", ["slime"]));
        it("rejects the latest tag unless allowed", () => {
            rejects({ image: { tag: "latest" } }, "training.image.tag", ['"latest"', "allowLatest"]);
            assert.deepEqual(parse({ image: { tag: "latest", allowLatest: true } }).problems, []);
        });
        it("rejects relative and shell-unsafe paths", () => {
            rejects({ model: { hfCheckpoint: "models/x" } }, "training.model.hfCheckpoint", ["absolute path"]);
            rejects({ checkpoints: { dir: "/shared/my ckpt" } }, "training.checkpoints.dir", ["whitespace"]);
        });
        it("rejects secrets given in plaintext", () => {
            rejects({ wandb: { enabled: true, apiKey: "abc" } }, "training.wandb.apiKey", ["secret"]);
            rejects({ hfToken: "hf_abc" }, "training.hfToken", ["secret"]);
            const ok = parseConfig(rawConfig(values({ wandb: { enabled: true, apiKey: "abc" }, hfToken: "hf_x" }), ["miles-cluster:training"]), { stack: "t" });
            assert.deepEqual(ok.problems, []);
        });
        it("rejects a custom architecture without --num-layers", () => rejects({ model: { custom: { args: ["--hidden-size", "1024"], hfRepo: "a/b" } } }, "training.model.custom.args", ["--num-layers"]));
    });

    describe("GPU placement", () => {
        it("rejects an unknown node group by name", () => rejects({ nodeGroup: "h200" }, "training.nodeGroup", ['"h200"', '"h100"']));
        it("rejects more GPUs than the node group has (colocated: 2 × 8 = 16 > 1 × 8)", () => rejects({ layout: { actorNodes: 2 } }, "training.layout", ["2 × 8 = 16", "1 × 8 = 8"]));
        it("counts rollout GPUs when disaggregated (8 actor + 8 rollout = 16 > 8)", () => rejects({ layout: { colocate: false, rolloutGpus: 8 } }, "training.layout", ["8 rollout = 16", "1 × 8 = 8"]));
        it("rejects GPUs per node other than the instance's real count", () => rejects({ layout: { gpusPerNode: 4 } }, "training.layout.gpusPerNode", ["is 4", "p5.48xlarge", "8 GPUs"]));
        it("rejects partial nodes for a multi-node actor", () => rejects({ layout: { actorNodes: 2, actorGpusPerNode: 4 } }, "training.layout.actorGpusPerNode", ["is 4", "2 actor nodes", "(8)"], 2));
        it("requires rollout GPUs when not colocated, and refuses them when colocated", () => {
            rejects({ layout: { colocate: false } }, "training.layout.rolloutGpus", ["required"]);
            rejects({ layout: { rolloutGpus: 4 } }, "training.layout.rolloutGpus", ["is 4", "1 × 8 = 8"]);
        });
        it("rejects rollout GPUs not divisible by GPUs per engine (6 ÷ 4)", () => rejects({ layout: { colocate: false, actorGpusPerNode: 2, rolloutGpus: 6, gpusPerEngine: 4 } }, "training.layout.gpusPerEngine", ["rollout GPUs 6", "GPUs per engine 4"]));
        it("rejects an explicit worker size the p5.48xlarge cannot hold (192 vCPUs, 2048 GiB less 5 GiB of huge pages)", () => {
            rejects({ resources: { workerCpu: 192 } }, "training.resources.workerCpu", ["is 192", "192 vCPUs", "at most 191"]);
            // floor(2048 × 0.95 − 5120 / 1024) = floor(1945.6 − 5) = 1940
            rejects({ resources: { workerMemoryGiB: 2000 } }, "training.resources.workerMemoryGiB", ["is 2000 GiB", "at most 1940 GiB"]);
            assert.deepEqual(parse({ resources: { workerCpu: 188, workerMemoryGiB: 1900 } }).problems, []);
        });
        it("warns (does not reject) about paid, idle GPUs: 2 nodes = 16 GPUs for a run on 8", () => {
            const cfg = config({}, 2);
            const w = trainingWarnings(runOf(cfg));
            assert.ok(w.some((m) => m.startsWith("training.layout") && m.includes("provisions 16 GPUs") && m.includes("uses 8") && m.includes("8 GPUs paid and idle")), w.join("\n"));
        });
    });

    describe("Megatron parallelism", () => {
        it("world size divisible by TP × PP × CP (8 vs 3)", () => rejects({ parallelism: { tp: 3 } }, "training.parallelism", ["actor world size 8", "= 3"]));
        it("world size divisible by ETP × EP × PP (8 vs 8 × 4 × 1 = 32, ETP defaulting to TP)", () =>
            rejects({ model: { preset: "qwen3-30B-A3B" }, parallelism: { tp: 8, ep: 4 } }, "training.parallelism.ep", ["8 × 4 × 1 = 32", "ETP defaults to TP"]));
        it("experts divisible by EP (128 experts, EP 3)", () => rejects({ model: { preset: "qwen3-30B-A3B" }, layout: { actorGpusPerNode: 6 }, parallelism: { ep: 3, tp: 1 } }, "training.parallelism.ep", ["128 experts", "EP = 3"]));
        it("no EP on a dense model", () => rejects({ parallelism: { ep: 2 } }, "training.parallelism.ep", ["dense"]));
        it("layers divisible by PP unless uneven stages are given (qwen3-4B: 36 layers, PP 8)", () => {
            rejects({ parallelism: { pp: 8 } }, "training.parallelism.pp", ["36 layers", "PP = 8"]);
            // 36 = 8 + 7 × 4: a last stage of 8 layers leaves 28 for the other 7 stages, 4 each
            assert.deepEqual(parse({ parallelism: { pp: 8, decoderLastPipelineNumLayers: 8 } }).problems, []);
        });
        it("checks uneven stages add up (36 layers, PP 4, first 10: 26 left for 3 stages)", () =>
            rejects({ parallelism: { pp: 4, decoderFirstPipelineNumLayers: 10 } }, "training.parallelism.decoderFirstPipelineNumLayers", ["26 layers", "3 middle stages"]));
        it("accepts valid uneven stages (36 layers, PP 4, first 9 last 9: 18 for 2 stages)", () => {
            assert.deepEqual(parse({ parallelism: { pp: 4, decoderFirstPipelineNumLayers: 9, decoderLastPipelineNumLayers: 9 } }).problems, []);
        });
        it("rejects uneven stages with PP = 1", () => rejects({ parallelism: { decoderLastPipelineNumLayers: 4 } }, "training.parallelism.decoderFirstPipelineNumLayers", ["PP > 1"]));
        it("expert + tensor parallelism without sequence parallelism is only a warning, as in Megatron (qwen3-30B-A3B, TP 2, EP 4)", () => {
            const moe = {
                model: { preset: "qwen3-30B-A3B" },
                layout: { gpusPerEngine: 4 },
                parallelism: { tp: 2, ep: 4, etp: 1, recompute: { granularity: "full", method: "uniform", numLayers: 1 } },
                offload: { optimizerCpu: true },
            };
            assert.deepEqual(parse(moe).problems, [], "Megatron's model_parallel_config.py only calls warnings.warn");
            const w = trainingWarnings(runOf(config(moe)));
            assert.ok(w.some((m) => m.startsWith("training.parallelism.sequenceParallel") && m.includes("EP = 4") && m.includes("TP = 2")), w.join("\n"));
            assert.ok(!trainingWarnings(runOf(config({ ...moe, parallelism: { ...moe.parallelism, sequenceParallel: true } }))).some((m) => m.startsWith("training.parallelism.sequenceParallel")));
            const viaExtra = trainingWarnings(runOf(config({ ...moe, extraArgs: ["--sequence-parallel"] })));
            assert.ok(!viaExtra.some((m) => m.startsWith("training.parallelism.sequenceParallel")), "a --sequence-parallel in extraArgs counts");
        });
        it("TP must divide the attention heads (qwen3-4B: 32 heads, TP 6 on 6 GPUs)", () =>
            rejects({ layout: { actorGpusPerNode: 6 }, parallelism: { tp: 6 } }, "training.parallelism.tp", ["32 attention heads", "TP = 6"]));
        it("query groups must be a multiple or divisor of TP (qwen3-14B: 40 heads, 8 groups, TP 5 and TP 10 rejected)", () => {
            rejects({ model: { preset: "qwen3-14B" }, layout: { actorGpusPerNode: 5 }, parallelism: { tp: 5 } }, "training.parallelism.tp", ["8 query groups", "TP = 5"]);
            rejects({ model: { preset: "qwen3-14B" }, layout: { actorNodes: 2 }, parallelism: { tp: 10 } }, "training.parallelism.tp", ["8 query groups", "TP = 10"]);
        });
        it("accepts TP above the query groups when it is a multiple (qwen3-30B-A3B: 32 heads, 4 groups, TP 8 — Megatron replicates KV heads)", () => {
            const r = parse({ model: { preset: "qwen3-30B-A3B" }, parallelism: { tp: 8, ep: 8, etp: 1, sequenceParallel: true }, offload: { optimizerCpu: true } });
            assert.deepEqual(r.problems.filter((p) => p.path === "training.parallelism.tp"), []);
        });
        it("full recomputation needs its method and layer count; selective takes neither", () => {
            rejects({ parallelism: { recompute: { granularity: "full", numLayers: 1 } } }, "training.parallelism.recompute.method", ["uniform", "block"]);
            rejects({ parallelism: { recompute: { granularity: "full", method: "uniform" } } }, "training.parallelism.recompute.numLayers", ["numLayers"]);
            rejects({ parallelism: { recompute: { granularity: "full", method: "block", numLayers: 40 } } }, "training.parallelism.recompute.numLayers", ["is 40", "36 layers"]);
            rejects({ parallelism: { recompute: { granularity: "selective", method: "uniform" } } }, "training.parallelism.recompute.method", ["selective"]);
            rejects({ parallelism: { recompute: { granularity: "selective", numLayers: 2 } } }, "training.parallelism.recompute.numLayers", ["selective"]);
            assert.deepEqual(parse({ parallelism: { recompute: { granularity: "selective" } } }).problems, []);
            assert.deepEqual(parse({ parallelism: { recompute: { granularity: "full", method: "uniform", numLayers: 1 } } }).problems, []);
        });
        it("recomputation set through extraArgs goes through the same rules", () =>
            rejects({ extraArgs: ["--recompute-granularity", "full", "--recompute-num-layers", "1"] }, "training.extraArgs[0]", ["method"]));
    });

    describe("batch sizes", () => {
        it("rollout_batch_size × n_samples_per_prompt = global_batch_size × num_steps_per_rollout (32 × 8 = 256 ≠ 64 × 2)", () =>
            rejects({ algorithm: { globalBatchSize: 64, numStepsPerRollout: 2 } }, "training.algorithm.globalBatchSize", ["= 256", "64 × 2 = 128"]));
        it("rejects a global batch that does not divide the samples of a rollout (256 ÷ 100)", () => rejects({ algorithm: { globalBatchSize: 100 } }, "training.algorithm.globalBatchSize", ["256", "globalBatchSize 100"]));
        it("global batch divisible by DP × micro batch (DP 8 × 3 = 24 vs 256)", () => rejects({ algorithm: { microBatchSize: 3 } }, "training.algorithm.globalBatchSize", ["global batch 256", "8 × 3 = 24"]));
        it("over-sampling batch at least the rollout batch", () => rejects({ features: { partialRollout: { enabled: true, overSamplingBatchSize: 16 } } }, "training.features.partialRollout.overSamplingBatchSize", ["16", "32"]));
        it("max prompt length below the context length", () => rejects({ rollout: { maxPromptLen: 4096, maxContextLen: 4096 } }, "training.rollout.maxPromptLen", ["4095"]));
    });

    describe("features and algorithm", () => {
        it("train_async.py forbids colocation", () => rejects({ entry: "train_async.py" }, "training.entry", ["colocate"]));
        it("MTP training needs MTP layers (qwen3-4B has none)", () => rejects({ features: { mtp: { training: true } } }, "training.features.mtp.training", ["numLayers", "qwen3-4B sets 0"]));
        it("TIS excludes rollout logprobs", () => rejects({ features: { tis: { enabled: true }, useRolloutLogprobs: true } }, "training.features.useRolloutLogprobs", ["tis"]));
        it("KL needs --ref-load", () => rejects({ model: { refLoad: null }, algorithm: { kl: { useKlLoss: true } } }, "training.algorithm.kl", ["useKlLoss", "refLoad is null"]));
        it("klCoef and klLossCoef not both non-zero", () => rejects({ algorithm: { kl: { useKlLoss: true, klLossCoef: 0.01, klCoef: 0.1 } } }, "training.algorithm.kl.klCoef", ["0.1", "0.01"]));
        it("retain interval a multiple of save interval (30 vs 20)", () => rejects({ checkpoints: { saveInterval: 20, retainInterval: 30 } }, "training.checkpoints.retainInterval", ["30", "saveInterval 20"]));
        it("reinforce++ needs normalized advantages", () => rejects({ algorithm: { advantageEstimator: "reinforce_plus_plus", normalizeAdvantages: false } }, "training.algorithm.normalizeAdvantages", ["reinforce_plus_plus"]));
        it("R3 needs a MoE model", () => rejects({ features: { routingReplay: true } }, "training.features.routingReplay", ["dense"]));
        it("W&B needs its API key", () => rejects({ wandb: { enabled: true } }, "training.wandb.apiKey", ["--secret"]));
        it("remote reward model needs its URL", () => rejects({ data: { rmType: "remote_rm" } }, "training.data.rmUrl", ["rmUrl"]));
        it("FP8 rollout and INT4 QAT exclude each other", () => rejects({ features: { fp8Rollout: true, int4Qat: { enabled: true } } }, "training.features.int4Qat.enabled", ["FP8"]));
        it("ppo with train_async.py needs rollout logprobs or TIS", () =>
            rejects({ entry: "train_async.py", layout: { colocate: false, actorGpusPerNode: 4, rolloutGpus: 4 }, algorithm: { advantageEstimator: "ppo" } }, "training.algorithm.advantageEstimator", ["ppo"]));
    });

    describe("escape hatches", () => {
        it("extra args must start with a flag", () => rejects({ extraArgs: ["20", "--rollout-top-k"] }, "training.extraArgs[0]", ['"20"', "--"]));
        it("extra args must not repeat a generated flag", () => rejects({ extraArgs: ["--lr", "1e-5"] }, "training.extraArgs[0]", ["--lr", "already generated"]));
        it("extra args must not repeat an architecture flag or themselves", () => {
            rejects({ extraArgs: ["--num-layers=2"] }, "training.extraArgs[0]", ["--num-layers"]);
            rejects({ extraArgs: ["--rollout-top-k", "20", "--rollout-top-k", "10"] }, "training.extraArgs[2]", ["repeated"]);
        });
        it("extra env must not repeat a generated variable", () => rejects({ extraEnv: { PYTHONPATH: "/x" } }, "training.extraEnv.PYTHONPATH", ["already set"]));
        it("SGLang DP > 1 in extra args needs DP attention", () => rejects({ extraArgs: ["--sglang-dp-size", "2"] }, "training.extraArgs[0]", ["--sglang-enable-dp-attention"]));
        it("accepts new flags and env", () => assert.deepEqual(parse({ extraArgs: ["--rollout-top-k", "20"], extraEnv: { NCCL_DEBUG: "INFO" } }).problems, []));
    });

    it("returns no rule problem for a valid run", () => {
        const cfg = config({});
        assert.deepEqual(trainingProblems(runOf(cfg)).filter((p) => p.severity === "error"), []);
    });
});

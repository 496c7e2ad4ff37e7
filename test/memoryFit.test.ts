import { strict as assert } from "node:assert";
import { architectureArgv, modelPreset } from "../catalog/models";
import { architectureFacts } from "../catalog/modelArch";
import { activationBytesPerTokenLayer, effectiveParams, GIB, memoryFit, rolloutWeightBytes, type FitInput, type TrainLayout } from "../domain/training/memoryFit";
import { parseConfig } from "../validation";
import { rawConfig } from "./harness";

const facts = (preset: string) => architectureFacts(architectureArgv(modelPreset(preset)!));
/**
 * Llama-3.1-70B's architecture (80 layers, hidden 8192, FFN 28672, 64 heads, 8 KV heads, vocab 128256,
 * untied): as tabulated in oumi-ai/oumi configs/recipes/llama3_1/README.md (read at vulkomilev/oumi).
 */
const LLAMA_70B = "--num-layers 80 --hidden-size 8192 --ffn-hidden-size 28672 --num-attention-heads 64 --group-query-attention --num-query-groups 8 --kv-channels 128 --swiglu --untie-embeddings-and-output-weights --vocab-size 128256".split(" ");
const TINY = architectureFacts("--num-layers 2 --hidden-size 1024 --ffn-hidden-size 4096 --num-attention-heads 8 --swiglu --untie-embeddings-and-output-weights --vocab-size 1000".split(" "));
const TINY_PARAMS = 2 * (4_194_304 + 12_582_912) + 2_048_000;

function input(arch: FitInput["arch"], train: Partial<TrainLayout>, extra: Partial<FitInput> = {}): FitInput {
    return {
        arch,
        gpuMemoryGiB: 80,
        gpusPerNode: 8,
        hostMemoryGiB: 1802,
        colocate: false,
        offloadTrain: false,
        offloadRollout: false,
        train: { tp: 1, pp: 1, cp: 1, ep: 1, etp: 1, world: 1, sequenceParallel: false, tokensPerGpu: 1000, optimizerCpuOffload: false, ...train },
        rollout: { gpusPerEngine: 1, precision: "bf16", int4GroupSize: 32, memFractionStatic: 0.7, kvBytes: 2, maxSequenceTokens: 1000 },
        ...extra,
    };
}
const item = (f: { items: Array<{ label: string; bytes: number }> }, label: string) => f.items.find((i) => i.label === label)?.bytes ?? 0;
const within = (actual: number, expected: number, tol: number, what: string) =>
    assert.ok(Math.abs(actual / expected - 1) <= tol, `${what}: ${(actual / 1e9).toFixed(1)} GB vs ${(expected / 1e9).toFixed(1)} GB (±${tol * 100}%)`);

describe("memory fit: hand calculations", () => {
    it("weights + grads 6 B/param and the optimizer 12 B/param ÷ DP (Megatron's distributed optimizer table)", () => {
        const one = memoryFit(input(TINY, {}));
        assert.equal(item(one.train, "weights + grads"), TINY_PARAMS * 6);
        assert.equal(item(one.train, "optimizer state"), TINY_PARAMS * 12);
        const dp8 = memoryFit(input(TINY, { world: 8 }));
        assert.equal(item(dp8.train, "optimizer state"), (TINY_PARAMS * 12) / 8);
        const tp2 = memoryFit(input(TINY, { world: 2, tp: 2 }));
        assert.equal(item(tp2.train, "weights + grads"), (TINY_PARAMS * 6) / 2);
    });

    it("activations: 4h + 2·q + 2·kv + 3·ffn BF16 elements per token and layer, logits 6 B per vocab entry", () => {
        // 4·1024 + (2·1024 + 2·1024) + 3·4096 = 20,480 elements × 2 B = 40,960 B per token per layer
        assert.equal(activationBytesPerTokenLayer(TINY, 0, input(TINY, {}).train), 40_960);
        const f = memoryFit(input(TINY, {}));
        assert.equal(item(f.train, "activations"), 40_960 * 1000 * 2);
        assert.equal(item(f.train, "logits"), 1000 * 1000 * 6);
        // full uniform recompute, 1 layer: 2 layer inputs (1024 × 2 B per token) + one layer rebuilt
        const rc = memoryFit(input(TINY, { recompute: { granularity: "full", method: "uniform", numLayers: 1 } }));
        assert.equal(item(rc.train, "activations"), 1000 * (2 * 2048 + 40_960));
    });

    it("per-layer activations are close to Korthikanti et al. 2022's 34·h bytes per token for a Llama-3-70B layer", () => {
        const a = architectureFacts(LLAMA_70B);
        const perToken = activationBytesPerTokenLayer(a, 0, input(a, {}).train);
        within(perToken, 34 * 8192, 0.03, "bytes per token per layer");
    });

    it("optimizer CPU offload moves 16 B/param ÷ DP to host RAM (HybridDeviceOptimizer: FP32 param, grad, m, v)", () => {
        const f = memoryFit(input(TINY, { world: 8, optimizerCpuOffload: true }));
        assert.equal(item(f.train, "optimizer state"), 0);
        assert.equal(item(f.host, "optimizer (CPU offload)"), ((TINY_PARAMS * 16) / 8) * 8);
    });

    it("rollout: weights ÷ engine TP, KV cache = mem-fraction-static × GPU − weights", () => {
        const f = memoryFit(input(TINY, {}, { rollout: { gpusPerEngine: 2, precision: "bf16", int4GroupSize: 32, memFractionStatic: 0.5, kvBytes: 2, maxSequenceTokens: 100 } }));
        assert.equal(item(f.rollout, "weights"), TINY_PARAMS);
        assert.equal(item(f.rollout, "KV cache"), 0.5 * 80 * GIB - TINY_PARAMS);
        // K and V: 2 layers × 2 × (8 groups ÷ 2 GPUs) × 128 × 2 B = 4096 B per token
        assert.equal(f.rollout.kvTokens, Math.floor((0.5 * 80 * GIB - TINY_PARAMS) / 4096));
    });
});

describe("memory fit: the seed's weight table and published figures", () => {
    it("BF16 weights: 70B → 140 GB, 235B → 470 GB, 671B → 1.3 TB", () => {
        const llama = architectureFacts(LLAMA_70B);
        within(rolloutWeightBytes(llama, effectiveParams(llama), "bf16"), 140e9, 0.03, "70B BF16");
        const q = facts("qwen3-235B-A22B");
        within(rolloutWeightBytes(q, effectiveParams(q, 235, 22), "bf16"), 470e9, 0.03, "235B BF16");
        const d = facts("deepseek-v3");
        within(rolloutWeightBytes(d, effectiveParams(d, 671, 37), "bf16"), 1.3e12, 0.04, "671B BF16");
    });

    it("INT4 weights by miles' converter rules (routed experts W4, group 32): 235B → ~150 GB, 671B → ~420 GB", () => {
        const q = facts("qwen3-235B-A22B");
        within(rolloutWeightBytes(q, effectiveParams(q, 235, 22), "int4", 32), 150e9, 0.1, "235B INT4");
        const d = facts("deepseek-v3");
        within(rolloutWeightBytes(d, effectiveParams(d, 671, 37), "int4", 32), 420e9, 0.1, "671B INT4");
    });

    it("INT4 on a dense 70B: 45 GB only when every linear layer is quantized; miles' default ignore rules keep it at BF16 size", () => {
        const llama = architectureFacts(LLAMA_70B);
        const p = effectiveParams(llama);
        within(rolloutWeightBytes(llama, p, "int4", 32, "all-linear"), 45e9, 0.1, "70B INT4 all linear layers");
        assert.equal(rolloutWeightBytes(llama, p, "int4", 32), rolloutWeightBytes(llama, p, "bf16"), "convert_hf_to_int4_direct.py skips self_attn and dense MLPs");
    });

    it("DeepSeek-R1 on 128 H100 with CPU Adam (slime's recipe): host estimate in the measured 1.4–1.5 TB per node", () => {
        const d = facts("deepseek-v3");
        const f = memoryFit(
            input(d, { tp: 8, pp: 4, cp: 4, ep: 32, etp: 1, world: 128, sequenceParallel: true, lastStageLayers: 13, recompute: { granularity: "full", method: "uniform", numLayers: 1 }, tokensPerGpu: 16384, optimizerCpuOffload: true }, {
                publishedTotalB: 671,
                publishedActiveB: 37,
                colocate: true,
                offloadTrain: true,
                offloadRollout: true,
                rollout: { gpusPerEngine: 64, precision: "fp8", int4GroupSize: 32, memFractionStatic: 0.7, kvBytes: 2, maxSequenceTokens: 33000 },
            }),
        );
        // The counted parts alone (CPU optimizer + the colocated actor offload) are ~0.93 TB; the factor 1.55 carries the rest.
        const counted = item(f.host, "optimizer (CPU offload)") + item(f.host, "actor offload while generating");
        within(counted, 0.93e12, 0.05, "counted host parts");
        assert.ok(f.host.totalBytes >= 1.35e12 && f.host.totalBytes <= 1.5e12, `host ${(f.host.totalBytes / 1e12).toFixed(2)} TB`);
        assert.ok(f.train.usage < 1, `the recipe's actor fits on an H100: ${(f.train.totalBytes / GIB).toFixed(1)} GiB`);
    });
});

describe("memory fit in the stack config", () => {
    const stack = (training: Record<string, unknown>, instanceType = "p5.48xlarge", nodes = 1) =>
        parseConfig(
            rawConfig({
                "aws:region": "us-east-1",
                "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "g", instanceType, nodes }] },
                "miles-cluster:training": training,
            }),
            { stack: "fit" },
        );
    const llama70 = { model: { custom: { args: LLAMA_70B, totalParamsB: 70.6, hfRepo: "meta-llama/Llama-3.1-70B-Instruct" } } };

    it("rejects a 70B dense model on one p5 node with TP 1, with the numbers and the knobs", () => {
        const r = stack(llama70);
        const p = r.problems.find((x) => x.path === "training.parallelism");
        assert.ok(p, r.problems.map((x) => `${x.path}: ${x.message}`).join("\n"));
        for (const part of ["per GPU", "80.0 GiB", "weights + grads 394.", "more TP or PP", "recomputation", "optimizer CPU offload"]) assert.ok(p.message.includes(part), `${part}: ${p.message}`);
        const engine = r.problems.find((x) => x.path === "training.layout.gpusPerEngine");
        assert.ok(engine && engine.message.includes("weights"), "a 70B engine on one GPU cannot hold its weights");
    });

    it("memoryFitCheck: warn turns the rejection into a warning", () => {
        const r = stack({ ...llama70, resources: { memoryFitCheck: "warn" } });
        assert.deepEqual(r.problems.filter((x) => x.path === "training.parallelism" || x.path === "training.layout.gpusPerEngine"), []);
    });

    it("accepts miles' own Qwen3-30B-A3B layout on one H100 node (TP 4, EP 8, optimizer CPU offload, full recompute, 8-GPU engine)", () => {
        const r = stack({
            model: { preset: "qwen3-30B-A3B" },
            layout: { gpusPerEngine: 8 },
            parallelism: { tp: 4, ep: 8, etp: 1, sequenceParallel: true, recompute: { granularity: "full", method: "uniform", numLayers: 1 } },
            offload: { optimizerCpu: true },
        });
        assert.deepEqual(r.problems, []);
    });
});

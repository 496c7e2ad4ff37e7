import { strict as assert } from "node:assert";
import { architectureArgv, modelPreset } from "../catalog/models";
import { architectureFacts } from "../catalog/modelArch";
import { fullAttentionLayers, hybridAttentionOf, linearStateBytesPerLayer } from "../catalog/hybridAttention";
import { ACCURACY, activationBytesPerTokenLayer, effectiveParams, gdnActivationElementsPerToken, gdnParamsPerLayer, GIB, mtpParams, kvBytesPerToken, memoryFit, rolloutWeightBytes, SGLANG_UNAVAILABLE_BYTES, type FitInput, type TrainLayout } from "../domain/training/memoryFit";
import * as path from "node:path";
import { runOf } from "../domain/stack";
import { headPod } from "../domain/training/pod";
import { trainingWarnings } from "../domain/training/rules";
import { readStackFile } from "../plan/stackFile";
import { parseConfig } from "../validation";
import { rawConfig, ROOT } from "./harness";

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

    it("activations: 4h + 2·q + 2·kv + 3·ffn BF16 elements per token and layer, logits 12 B per vocab entry", () => {
        // 4·1024 + (2·1024 + 2·1024) + 3·4096 = 20,480 elements × 2 B = 40,960 B per token per layer
        assert.equal(activationBytesPerTokenLayer(TINY, 0, input(TINY, {}).train), 40_960);
        const f = memoryFit(input(TINY, {}));
        assert.equal(item(f.train, "activations"), 40_960 * 1000 * 2);
        // logits: FP32 log-prob copy 4 B + the accumulated FP32 gradient 4 B + one sample slice's FP32 gradient 4 B
        assert.equal(item(f.train, "logits"), 1000 * 1000 * 12);
        const ent = memoryFit(input(TINY, { entropyWithGrad: true }));
        assert.equal(item(ent.train, "logits"), 1000 * 1000 * 20, "a differentiated entropy adds an FP32 copy and the FP32 softmax");
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

    it("rollout: weights ÷ engine TP, KV cache = mem-fraction-static × free GPU memory − weights (SGLang profile_max_num_token)", () => {
        const f = memoryFit(input(TINY, {}, { rollout: { gpusPerEngine: 2, precision: "bf16", int4GroupSize: 32, memFractionStatic: 0.5, kvBytes: 2, maxSequenceTokens: 100 } }));
        assert.equal(item(f.rollout, "weights"), TINY_PARAMS);
        const free = 80 * GIB - SGLANG_UNAVAILABLE_BYTES;
        assert.equal(item(f.rollout, "KV cache"), 0.5 * free - TINY_PARAMS);
        // K and V: 2 layers × 2 × (8 groups ÷ 2 GPUs) × 128 × 2 B = 4096 B per token
        assert.equal(f.rollout.kvTokens, Math.floor((0.5 * free - TINY_PARAMS) / 4096));
    });

    it("the distributed optimizer is sharded over DP × CP, not DP alone (Megatron get_megatron_optimizer: intra_dp_cp_group)", () => {
        // 8 GPUs, CP 2: DP 4, the dense optimizer shard is 1/8
        const f = memoryFit(input(TINY, { world: 8, cp: 2 }));
        assert.equal(item(f.train, "optimizer state"), (TINY_PARAMS * 12) / 8);
        assert.ok(item(f.train, "optimizer state") < (TINY_PARAMS * 12) / 4, "negative control: ÷ DP alone would be twice as large");
    });

    it("full recompute keeps one layer rebuilt for one micro-batch, not one per micro-batch in flight", () => {
        // A small vocabulary, so that the last stage's logits do not make it the busiest stage: the first stage is the one judged.
        const A4 = architectureFacts("--num-layers 4 --hidden-size 1024 --ffn-hidden-size 4096 --num-attention-heads 8 --swiglu --untie-embeddings-and-output-weights --vocab-size 100".split(" "));
        const f = memoryFit(input(A4, { pp: 4, world: 4, recompute: { granularity: "full", method: "uniform", numLayers: 1 } }));
        // first stage: 1 layer, 4 micro-batches in flight, each keeps its layer input (1024 × 2 B per token); one layer (40,960 B per token) rebuilt once
        const first = 4 * 1000 * 2048 + 1000 * 40_960;
        assert.equal(item(f.train, "activations"), first);
        const none = memoryFit(input(A4, { pp: 4, world: 4 }));
        assert.equal(item(none.train, "activations"), 4 * 1000 * 40_960, "without recompute the 4 in-flight micro-batches keep their layer");
    });

    it("--offload-train keeps in host RAM the pinned BF16 weight copy and the paused optimizer, not the gradients", () => {
        const f = memoryFit(input(TINY, { world: 8 }, { colocate: true, offloadTrain: true, offloadRollout: true }));
        // 8 ranks on the node, each with all TINY params (TP 1) and 1/8 of the optimizer
        assert.equal(item(f.host, "pinned weight copies"), 8 * TINY_PARAMS * 2);
        assert.equal(item(f.host, "optimizer (paused with --offload-train)"), 8 * ((TINY_PARAMS * 12) / 8));
        assert.equal(f.host.totalBytes, 8 * TINY_PARAMS * 2 + TINY_PARAMS * 12, "no FP32 gradients, no 1.55 factor");
        const withRef = memoryFit(input(TINY, { world: 8 }, { colocate: true, offloadTrain: true, offloadRollout: true, withRef: true }));
        assert.equal(item(withRef.host, "pinned weight copies"), 2 * 8 * TINY_PARAMS * 2, "a reference model is one more pinned copy");
        const disk = memoryFit(input(TINY, { world: 8 }, { colocate: true, offloadTrain: true, offloadRollout: true, offloadTrainTarget: "disk" }));
        assert.equal(item(disk.host, "optimizer (paused with --offload-train)"), 0, "--offload-train-target disk pauses to NVMe");
    });

    it("host memory adds up the ranks and pipeline stages on each node and does not move with recompute", () => {
        const A4 = architectureFacts("--num-layers 4 --hidden-size 1024 --ffn-hidden-size 4096 --num-attention-heads 8 --swiglu --untie-embeddings-and-output-weights --vocab-size 1000".split(" "));
        const layer = 4_194_304 + 12_582_912;
        const stage1 = 2 * layer + 1_024_000; // + input embedding
        const stage2 = 2 * layer + 1_024_000; // + output layer
        // PP 2 over 8 GPUs on one node: ranks 0-3 stage 1, 4-7 stage 2; DP 4, CPU Adam 16 B/param ÷ 4
        const f = memoryFit(input(A4, { pp: 2, world: 8, optimizerCpuOffload: true }));
        assert.equal(item(f.host, "optimizer (CPU offload)"), 4 * ((stage1 * 16) / 4) + 4 * ((stage2 * 16) / 4));
        const rc = memoryFit(input(A4, { pp: 2, world: 8, optimizerCpuOffload: true, recompute: { granularity: "full", method: "uniform", numLayers: 1 } }));
        assert.equal(rc.host.totalBytes, f.host.totalBytes);
        assert.notEqual(rc.train.totalBytes, f.train.totalBytes, "negative control: recompute does change the GPU estimate");
    });

    it("LoRA: frozen base weights at 2 B/param, only the adapters carry gradients and optimizer state", () => {
        const f = memoryFit(input(TINY, { lora: { rank: 8, targets: "attention" } }));
        assert.equal(item(f.train, "frozen base weights"), TINY_PARAMS * 2);
        // per layer: QKV (1024 → 3072) and proj (1024 → 1024): 8 × (1024 + 3072) + 8 × (1024 + 1024) = 49,152; 2 layers
        assert.equal(item(f.train, "LoRA weights + grads"), 2 * 49_152 * 6);
        assert.equal(item(f.train, "optimizer state"), 2 * 49_152 * 12);
        assert.equal(item(f.train, "weights + grads"), 0);
    });

    it("MTP: each layer is enorm + hnorm + eh_proj (2h × h) + a decoder layer + a final norm on the last stage, plus an embedding copy with PP > 1; trained, one more layer's activations", () => {
        // 2 × 1024² + 3 × 1024 + one TINY layer (4,194,304 + 12,582,912)
        const perLayer = 2_097_152 + 3_072 + 16_777_216;
        assert.deepEqual(mtpParams(TINY, 1, 1), { dense: perLayer, expert: 0 });
        assert.deepEqual(mtpParams(TINY, 1, 2), { dense: perLayer + 1_024_000, expert: 0 }, "the MTP stage keeps its own input embedding");
        const off = memoryFit(input(TINY, {}));
        const on = memoryFit(input(TINY, { mtp: { layers: 1, training: false } }));
        assert.equal(item(on.train, "weights + grads") - item(off.train, "weights + grads"), perLayer * 6);
        assert.equal(item(on.train, "MTP activations"), 0, "built but not trained: no activations");
        const trained = memoryFit(input(TINY, { mtp: { layers: 1, training: true } }));
        assert.equal(item(trained.train, "MTP activations"), 40_960 * 1000);
    });

    it("miles' Gated DeltaNet layers are whole on every TP rank: parameters and activations by hand for Qwen3.8-27B", () => {
        const q = facts("qwen3.8-27B");
        const h = hybridAttentionOf("qwen3.8-27B")!;
        // k = 16 × 128 = 2048, v = 48 × 128 = 6144, h = 5120: in_proj_qkv 5120 × 10240 + in_proj_z 5120 × 6144 + in_proj_b/a 2 × 5120 × 48
        // + conv 10240 × 4 + dt_bias, A_log 2 × 48 + gated norm 128 + out_proj 6144 × 5120 + input norm 5120
        const perLayer = 52_428_800 + 31_457_280 + 491_520 + 40_960 + 96 + 128 + 31_457_280 + 5_120;
        assert.equal(gdnParamsPerLayer(h, q.hiddenSize), perLayer);
        // 2h + 2 × (2k + v) + Q, K repeated to 48 heads 2 × 48 × 128 + z, kernel output, norm output 3v
        assert.equal(gdnActivationElementsPerToken(h, q.hiddenSize), 10_240 + 20_480 + 12_288 + 18_432);
        const tp4 = (g?: typeof h) => memoryFit(input(q, { tp: 4, world: 8, tokensPerGpu: 1000, replicatedLinearAttention: g }, { publishedTotalB: 27, publishedActiveB: 27 }));
        // 48 GDN layers of 64, each 3/4 of it not divided by TP 4; 6 B per parameter (BF16 weight + FP32 grad)
        const extra = item(tp4(h).train, "weights + grads") - item(tp4().train, "weights + grads");
        assert.ok(Math.abs(extra - 48 * perLayer * 0.75 * 6) < 1, `${extra}`);
        const tp1 = (g?: typeof h) => memoryFit(input(q, { tp: 1, world: 8, tokensPerGpu: 1000, replicatedLinearAttention: g }, { publishedTotalB: 27, publishedActiveB: 27 }));
        assert.equal(item(tp1(h).train, "weights + grads"), item(tp1().train, "weights + grads"), "negative control: with TP 1 nothing is replicated");
        // A GDN layer's activations see the whole sequence: × CP, not ÷ TP
        const t = input(q, { tp: 4, cp: 2, sequenceParallel: true, replicatedLinearAttention: h }).train;
        const t1 = input(q, { tp: 4, cp: 1, sequenceParallel: true, replicatedLinearAttention: h }).train;
        assert.equal(activationBytesPerTokenLayer(q, 0, t) - activationBytesPerTokenLayer(q, 0, t1), 61_440 * 2, "layer 0 is GDN: one more CP shard of BF16 elements");
        assert.equal(activationBytesPerTokenLayer(q, 3, t), activationBytesPerTokenLayer(q, 3, t1), "layer 3 is full attention (interval 4): no CP gather");
    });

    it("hybrid linear attention: KV only in the full-attention layers, the GDN state in its own slots", () => {
        const q = facts("qwen3.8-27B");
        const h = hybridAttentionOf("qwen3.8-27B")!;
        assert.equal(fullAttentionLayers(h, q.numLayers), 16, "64 layers, full_attention_interval 4");
        // 48 V heads × 128 × 128 × 4 B + (2 × 16 × 128 + 48 × 128) × 3 × 2 B = 3,207,168 B per layer
        assert.equal(linearStateBytesPerLayer(h, 1), 3_207_168);
        // 16 layers × 2 × 4 KV heads × 256 × 2 B
        assert.equal(kvBytesPerToken(q, 1, 2, 16), 65_536);
    });

    it("an extreme decoderLastPipelineNumLayers or PP returns within milliseconds", () => {
        const d = facts("deepseek-v3");
        const t0 = Date.now();
        memoryFit(input(d, { pp: 4, world: 64, tp: 8, ep: 8, lastStageLayers: 1e12 }, { publishedTotalB: 671, publishedActiveB: 37 }));
        memoryFit(input(d, { pp: 1e9, world: 64, tp: 8, ep: 8, firstStageLayers: -3, lastStageLayers: 1e9 }, { publishedTotalB: 671, publishedActiveB: 37 }));
        assert.ok(Date.now() - t0 < 200, `${Date.now() - t0} ms`);
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

});

/**
 * Every memory figure measured in radixark/miles v0.1.0's docs, against the estimate and the band the
 * plan states (ACCURACY). The layouts are the docs' own recipes.
 */
describe("memory fit: miles' published measurements", () => {
    const ratio = (measured: number, estimated: number) => measured / estimated;
    const qwen38 = (memFractionStatic: number): FitInput => {
        const q = facts("qwen3.8-27B");
        const h = hybridAttentionOf("qwen3.8-27B")!;
        const full = fullAttentionLayers(h, q.numLayers);
        // docs/models/qwen/qwen3-8.md §5: 1 × 8 H200, TP 4, CPU Adam, full/uniform/1 recompute, max_tokens_per_gpu 8192, colocated, 1-GPU engines
        // (scripts/run_qwen3_dense.py at v0.1.0: `--spec miles_plugins.models.qwen3_5`, so the GDN layers are whole on every TP rank)
        return input(q, { tp: 4, world: 8, sequenceParallel: true, recompute: { granularity: "full", method: "uniform", numLayers: 1 }, tokensPerGpu: 8192, optimizerCpuOffload: true, replicatedLinearAttention: h }, {
            publishedTotalB: 27,
            publishedActiveB: 27,
            gpuMemoryGiB: 141,
            colocate: true,
            offloadTrain: true,
            offloadRollout: true,
            withRef: true, // --use-kl-loss (§5.2)
            rollout: { gpusPerEngine: 1, precision: "bf16", int4GroupSize: 32, memFractionStatic, kvBytes: 2, maxSequenceTokens: 8192 + 1024, hybrid: { fullAttentionLayers: full, linearLayers: q.numLayers - full, stateBytesPerLayer: linearStateBytesPerLayer(h, 1) } },
        });
    };

    it("docs/models/qwen/qwen3-8.md: KV pool 158,018 tokens at 0.5 and 517,999 at 0.8 (60 and 198 GDN slots), within ±10 %", () => {
        for (const [fraction, tokens, slots] of [[0.5, 158_018, 60], [0.8, 517_999, 198]] as const) {
            const f = memoryFit(qwen38(fraction));
            assert.ok(Math.abs(f.rollout.kvTokens / tokens - 1) <= ACCURACY.kvTokens, `${fraction}: ${f.rollout.kvTokens} vs ${tokens}`);
            assert.ok(Math.abs((f.rollout.linearStateSlots ?? 0) / slots - 1) <= ACCURACY.kvTokens, `${fraction}: ${f.rollout.linearStateSlots} slots vs ${slots}`);
        }
        // Negative control: KV in all 64 layers (the old estimate) is far outside the band.
        const allLayers = memoryFit({ ...qwen38(0.8), rollout: { ...qwen38(0.8).rollout, hybrid: undefined } });
        assert.ok(allLayers.rollout.kvTokens / 517_999 < 1 - ACCURACY.kvTokens, `${allLayers.rollout.kvTokens}`);
    });

    it("docs/models/qwen/qwen3-8.md: the two KV measurements re-derive the memory SGLang cannot use (SGLANG_UNAVAILABLE_BYTES)", () => {
        const q = facts("qwen3.8-27B");
        const h = hybridAttentionOf("qwen3.8-27B")!;
        const perSeq = 48 * linearStateBytesPerLayer(h, 1);
        const rest = (tokens: number, slots: number) => tokens * kvBytesPerToken(q, 1, 2, 16) + slots * perSeq;
        // rest = fraction × free − weights, so the 0.3 difference in fraction gives the free memory
        const free = (rest(517_999, 198) - rest(158_018, 60)) / 0.3;
        assert.ok(Math.abs(141 * GIB - free - SGLANG_UNAVAILABLE_BYTES) < 0.1 * GIB, `${(free / GIB).toFixed(2)} GiB free of 141`);
    });

    it("docs/models/qwen/qwen3-8.md: the training-phase peak 88–90 GB (GiB) on H200 is within ±25 % of the estimate; without the TP-replicated GDN it was not", () => {
        // "measured 88–90 GB of 140 GB": the 140 is the H200's 140.4 GiB, so these are GiB (miles' print_memory, memory_utils.py:31-32)
        const f = memoryFit(qwen38(0.8));
        for (const measured of [88 * GIB, 90 * GIB]) {
            const r = ratio(measured, f.train.totalBytes);
            assert.ok(Math.abs(r - 1) <= ACCURACY.gpuPeak, `measured ÷ estimated ${r.toFixed(2)} (${(f.train.totalBytes / GIB).toFixed(1)} GiB)`);
        }
        // Negative control: the GDN projections sharded over TP like Megatron's own layers (the old estimate) leave the measurement outside the band.
        const sharded = memoryFit({ ...qwen38(0.8), train: { ...qwen38(0.8).train, replicatedLinearAttention: undefined } });
        assert.ok(ratio(88 * GIB, sharded.train.totalBytes) > 1 + ACCURACY.gpuPeak, `${(sharded.train.totalBytes / GIB).toFixed(1)} GiB`);
    });

    it("docs/examples/on-policy-distillation/qwen3-5-35b-selfdistill.md: the run's peak ≈ 124 GB per H200 (the larger of the two colocated phases) is within ±25 %", () => {
        const q = facts("qwen3.5-35B-A3B");
        // phase2_opd_selfdistill.sh: TP 2, SP, CP 2, EP 8, ETP 1, 8 GPUs colocated, CPU Adam, full/uniform/1, max-tokens-per-gpu 16384,
        // in-process Megatron teacher, `--spec miles_plugins.models.qwen3_5`, `--mtp-num-layers 1` (not trained), 8-GPU engine at
        // mem-fraction-static 0.8, CUDA graphs up to bs 32
        const f = memoryFit(
            input(q, { tp: 2, cp: 2, ep: 8, etp: 1, world: 8, sequenceParallel: true, recompute: { granularity: "full", method: "uniform", numLayers: 1 }, tokensPerGpu: 16384, optimizerCpuOffload: true, replicatedLinearAttention: hybridAttentionOf("qwen3.5-35B-A3B"), mtp: { layers: 1, training: false } }, {
                publishedTotalB: 35,
                publishedActiveB: 3,
                gpuMemoryGiB: 141,
                colocate: true,
                offloadTrain: true,
                offloadRollout: true,
                extraWeightCopies: 1,
                rollout: { gpusPerEngine: 8, precision: "bf16", int4GroupSize: 32, memFractionStatic: 0.8, kvBytes: 2, maxSequenceTokens: 25_000, cudaGraphBytes: 32 * 2 * 2 ** 20 },
            }),
        );
        // "each fits 143 GB separately, not summed … Peak ≈ 124 GB / 143 GB": the peak of a time-shared GPU, whichever phase.
        const peak = Math.max(f.train.totalBytes, f.rollout.totalBytes);
        assert.equal(peak, f.rollout.totalBytes, "the engine's static share (0.8 of the GPU) is the larger phase");
        // "GB" read as 10^9 B or as GiB: the doc does not say; both readings are inside the band.
        for (const measured of [124e9, 124 * GIB]) {
            const r = ratio(measured, peak);
            assert.ok(Math.abs(r - 1) <= ACCURACY.gpuPeak, `measured ÷ estimated ${r.toFixed(2)} (${(peak / GIB).toFixed(1)} GiB)`);
        }
        assert.ok(f.train.totalBytes < peak, `training phase ${(f.train.totalBytes / GIB).toFixed(1)} GiB`);
    });

    it("docs/models/deepseek/deepseek.md §5.4: the CPU Adam state of the script's 64-GPU layout, ~1.4–1.5 TB per 8-GPU node, is within ±15 %", () => {
        const d = facts("deepseek-v3");
        // scripts/run_deepseek.py > 4 nodes ("currently randomly change to suit 64gpu"): TP 4, PP 4, CP 4, EP 16, ETP 1, last stage 13,
        // --max-tokens-per-gpu 2048; 8 nodes × 8 GPUs, colocated, no reference model (§5.2), CPU Adam as §5.4 enables it
        const ds = (world: number) =>
            memoryFit(
                input(d, { tp: 4, pp: 4, cp: 4, ep: 16, etp: 1, world, sequenceParallel: true, lastStageLayers: 13, recompute: { granularity: "full", method: "uniform", numLayers: 1 }, tokensPerGpu: 2048, optimizerCpuOffload: true }, {
                    publishedTotalB: 671,
                    publishedActiveB: 37,
                    gpuMemoryGiB: 141,
                    colocate: true,
                    offloadTrain: true,
                    offloadRollout: true,
                    rollout: { gpusPerEngine: 64, precision: "fp8", int4GroupSize: 32, memFractionStatic: 0.7, kvBytes: 2, maxSequenceTokens: 33_000 },
                }),
            );
        const f = ds(64);
        const adam = item(f.host, "optimizer (CPU offload)");
        // "TB" read as 10^12 B or as TiB
        for (const measured of [1.4e12, 1.5e12, 1.4 * 2 ** 40, 1.5 * 2 ** 40]) {
            const r = ratio(measured, adam);
            assert.ok(Math.abs(r - 1) <= ACCURACY.host, `stated ÷ estimated ${r.toFixed(2)} (${(adam / 1e12).toFixed(2)} TB)`);
        }
        assert.ok(f.train.usage < 1, `the recipe's actor fits on an H200: ${(f.train.totalBytes / GIB).toFixed(1)} GiB`);
        // Negative control: the 16-node layout the band was once read against has DP 2, half the state: outside the band.
        assert.ok(1.4e12 / item(ds(128).host, "optimizer (CPU offload)") > 1 + ACCURACY.host);
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
    /** miles' Qwen3-30B-A3B layout on one node (radixark/miles v0.1.0 scripts/run_qwen3_30b_a3b.py). */
    const qwen30 = {
        model: { preset: "qwen3-30B-A3B" },
        layout: { gpusPerEngine: 8 },
        parallelism: { tp: 4, ep: 8, etp: 1, sequenceParallel: true, recompute: { granularity: "full", method: "uniform", numLayers: 1 } },
        offload: { optimizerCpu: true },
    };

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
        const r = stack(qwen30);
        assert.deepEqual(r.problems, []);
    });

    const memoryPath = /^training\.(parallelism|layout\.gpusPerEngine|offload|resources\.(workerMemoryGiB|headMemoryGiB)|rollout\.memFractionStatic)/;

    it("stacks/Pulumi.moe-fp8.yaml (the seed's Workflow 1) fits without memoryFitCheck: warn, no memory warning", () => {
        const r = parseConfig(readStackFile(path.join(ROOT, "stacks", "Pulumi.moe-fp8.yaml"), "miles-cluster"), { stack: "moe-fp8" });
        assert.deepEqual(r.problems, []);
        assert.equal(r.config!.training.resources.memoryFitCheck, "error");
        assert.deepEqual(trainingWarnings(runOf(r.config!)).filter((w) => memoryPath.test(w)), []);
    });

    it("the Ray head is sized for R3's routed-expert arrays (256 samples × 8,192 tokens of Qwen3-30B-A3B: 3 GiB over the default 8)", () => {
        const training = (headMemoryGiB: number, routingReplay: boolean) => ({
            ...qwen30,
            algorithm: { rolloutBatchSize: 32, nSamplesPerPrompt: 8, globalBatchSize: 256 },
            features: { routingReplay },
            resources: { headMemoryGiB },
        });
        const head = (cfg: Record<string, unknown>) => {
            const r = stack(cfg, "p5en.48xlarge");
            assert.deepEqual(r.problems, []);
            return trainingWarnings(runOf(r.config!)).filter((w) => w.startsWith("training.resources.headMemoryGiB"));
        };
        // 48 MoE layers × top-8 × 4 B (int32) × 256 samples × 8,192 tokens = 3 GiB → 8 + 3
        const small = head(training(8, true));
        assert.equal(small.length, 1, JSON.stringify(small));
        assert.match(small[0], /256 samples × 8,192 tokens × 48 MoE layers × top-8 × 4 B .* set it to 11/);
        assert.deepEqual(head(training(11, true)), []);
        assert.deepEqual(head(training(8, false)), [], "negative control: without R3 the default suffices");
    });

    it("unset, the head's memory is derived from the run (one decision): the pod asks for it, the plan says why, no warning", () => {
        const training = (features: Record<string, unknown>) => ({
            ...qwen30,
            algorithm: { rolloutBatchSize: 32, nSamplesPerPrompt: 8, globalBatchSize: 256 },
            features,
        });
        const headOf = (features: Record<string, unknown>) => {
            const r = stack(training(features), "p5en.48xlarge");
            assert.deepEqual(r.problems, []);
            const run = runOf(r.config!);
            const pod = headPod(run, { namespace: "miles", claimName: "c", serviceAccountName: "sa", image: "img" }).spec as unknown as { containers: Array<{ resources: { requests: { memory: string }; limits: { memory: string } } }> };
            return { run, mem: pod.containers[0].resources.limits.memory, req: pod.containers[0].resources.requests.memory, warnings: trainingWarnings(run).filter((w) => w.includes("headMemoryGiB")) };
        };
        // 8 GiB base + 3 GiB of R3 arrays (the hand count of the test above).
        const r3 = headOf({ routingReplay: true });
        assert.equal(r3.mem, "11Gi");
        assert.equal(r3.req, "11Gi");
        assert.deepEqual(r3.warnings, []);
        assert.equal(r3.run.head.from, "run");
        assert.match(r3.run.head.basis, /routed-expert arrays \(R3\)/);
        assert.equal(headOf({}).mem, "8Gi", "negative control: without R3 the head keeps the base");
    });

    it("a derived head larger than a system node can give is refused, naming the derivation (the head would stay Pending)", () => {
        const r = stack({
            ...qwen30,
            // 4,096 samples × 32,768 tokens × 48 × 8 × 4 B = 192 GiB of R3 arrays: more than any default system node.
            algorithm: { rolloutBatchSize: 512, nSamplesPerPrompt: 8, globalBatchSize: 4096 },
            rollout: { maxResponseLen: 32768 },
            features: { routingReplay: true },
        }, "p5en.48xlarge");
        const p = r.problems.find((x) => x.path === "training.resources.headMemoryGiB");
        assert.ok(p, JSON.stringify(r.problems));
        assert.match(p.message, /is unset, so the head gets .* 200 GiB .*routed-expert arrays/);
    });
});

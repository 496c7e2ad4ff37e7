/**
 * The typed engine and trainer knobs the recipes set are read by the memory fit (issue 23): the KV-cache
 * dtype, LoRA, FP32 vs BF16 main gradients and the CUDA-graph sizes change the estimate the plan judges,
 * whichever way the run states them (field or extraArgs, via ResolvedRun.effective).
 */
import { strict as assert } from "node:assert";
import { runOf } from "../domain/stack";
import { runMemoryFit } from "../domain/training/memoryFitRun";
import { parseConfig } from "../validation";
import { rawConfig } from "./harness";

const FULL_RECOMPUTE = { granularity: "full", method: "uniform", numLayers: 1 };
/** miles' Qwen3-30B-A3B layout on one H100 node (radixark/miles v0.1.0 scripts/run_qwen3_30b_a3b.py). */
const QWEN_30B = {
    model: { preset: "qwen3-30B-A3B" },
    layout: { gpusPerEngine: 8 },
    parallelism: { tp: 4, ep: 8, etp: 1, sequenceParallel: true, recompute: FULL_RECOMPUTE },
    offload: { optimizerCpu: true },
};

function parsed(training: Record<string, unknown>, instanceType = "p5.48xlarge") {
    return parseConfig(
        rawConfig({
            "aws:region": "us-east-1",
            "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "g", instanceType, nodes: 1 }] },
            "miles-cluster:training": training,
        }),
        { stack: "knobs" },
    );
}
function fitOf(training: Record<string, unknown>, instanceType?: string) {
    const r = parsed(training, instanceType);
    assert.ok(r.config, JSON.stringify(r.problems));
    return runMemoryFit(runOf(r.config!))!;
}
const item = (f: { items: Array<{ label: string; bytes: number }> }, re: RegExp) => f.items.find((i) => re.test(i.label));

describe("memory fit reads the typed knobs (issue 23)", () => {
    it("KV-cache dtype: fp8_e4m3 from rollout.sglang.kvCacheDtype or from extraArgs halves the bytes per token (twice the tokens); auto/bf16 do not", () => {
        const sg = (sglang: Record<string, unknown>, extraArgs: string[] = []) => fitOf({ ...QWEN_30B, rollout: { sglang }, extraArgs }).rollout.kvTokens;
        const bf16 = sg({});
        assert.ok(bf16 > 0);
        assert.equal(sg({ kvCacheDtype: "bfloat16" }), bf16, "negative control: bfloat16 is the model's own dtype");
        for (const fp8 of [sg({ kvCacheDtype: "fp8_e4m3" }), sg({}, ["--sglang-kv-cache-dtype", "fp8_e5m2"])]) {
            // One byte instead of two per element: the same pool holds twice the tokens (±1 for the floor).
            assert.ok(Math.abs(fp8 - 2 * bf16) <= 2, `${fp8} vs 2 × ${bf16}`);
        }
    });

    it("LoRA (features.lora): the frozen base carries no gradient or optimizer state, so the actor needs far less than full-parameter training", () => {
        const full = fitOf(QWEN_30B);
        const lora = fitOf({ ...QWEN_30B, features: { lora: { rank: 16, targetModules: "all-linear" } } });
        assert.ok(item(lora.train, /frozen base weights/), "LoRA is counted as full-parameter training");
        assert.equal(item(full.train, /frozen/), undefined, "negative control: no LoRA, no frozen base");
        assert.ok(lora.train.totalBytes < full.train.totalBytes);
        // The CPU optimizer of LoRA holds the adapters' state only: a small fraction of full training's.
        assert.ok(lora.host.totalBytes < full.host.totalBytes);
        const attnOnly = fitOf({ ...QWEN_30B, features: { lora: { rank: 16, targetModules: "q_proj,k_proj,v_proj,o_proj" } } });
        assert.ok(item(attnOnly.train, /LoRA weights/)!.bytes < item(lora.train, /LoRA weights/)!.bytes, "attention-only adapters are smaller than all-linear ones");
    });

    it("gradients: without --accumulate-allreduce-grads-in-fp32 the actor keeps BF16 grads (4 + 16/d bytes per parameter instead of 6 + 12/d)", () => {
        // GPU-resident optimizer so both terms show; TP 4 × EP 8 on 8 GPUs: dense DP 2.
        // The ratio is what is checked; the GPU-resident optimizer takes this layout to the H100's limit, so judge it as a warning.
        const base = { ...QWEN_30B, offload: { optimizerCpu: false }, resources: { memoryFitCheck: "warn" } };
        const fp32 = fitOf({ ...base, algorithm: { accumulateAllreduceGradsInFp32: true } });
        const bf16 = fitOf({ ...base, algorithm: { accumulateAllreduceGradsInFp32: false } });
        const wg = (f: typeof fp32) => item(f.train, /^weights \+ grads/)!.bytes;
        const opt = (f: typeof fp32) => item(f.train, /optimizer state/)!.bytes;
        assert.ok(Math.abs(wg(bf16) / wg(fp32) - 4 / 6) < 1e-9, `${wg(bf16)} / ${wg(fp32)}`);
        assert.ok(Math.abs(opt(bf16) / opt(fp32) - 16 / 12) < 1e-9, `${opt(bf16)} / ${opt(fp32)}`);
        // The flag in extraArgs counts as set (the effective run), the field off.
        const viaExtra = fitOf({ ...base, algorithm: { accumulateAllreduceGradsInFp32: false }, extraArgs: ["--accumulate-allreduce-grads-in-fp32"] });
        assert.equal(wg(viaExtra), wg(fp32));
    });

    it("CUDA graphs: a stated cudaGraphMaxBs (or cudaGraphBs) reserves SGLang's 2 MB per batch size beside the static share; the largest size counts", () => {
        const graphs = (sglang: Record<string, unknown>, extraArgs: string[] = []) => item(fitOf({ ...QWEN_30B, rollout: { sglang }, extraArgs }).rollout, /CUDA graphs/)?.bytes;
        assert.equal(graphs({}), undefined, "negative control: SGLang's own default is not guessed");
        const at512 = graphs({ cudaGraphMaxBs: 512 });
        assert.equal(at512, 512 * 2 * 2 ** 20);
        assert.equal(graphs({ cudaGraphBs: [1, 2, 4, 128, 512] }), at512);
        assert.equal(graphs({ cudaGraphMaxBs: 512 }, ["--sglang-disable-cuda-graph"]), undefined, "no graphs captured, none counted");
    });

    it("CUDA graphs tip an engine that leaves no room beside a near-full static share into a refusal, with the numbers", () => {
        // 0.99 of an H100's free memory is static; 4,096 × 2 MB = 8 GiB of graphs no longer fit.
        const over = parsed({ ...QWEN_30B, rollout: { memFractionStatic: 0.99, sglang: { cudaGraphMaxBs: 4096 } } });
        const p = over.problems.find((x) => x.path === "training.offload.train");
        assert.ok(p, JSON.stringify(over.problems));
        assert.match(p.message, /CUDA graphs 8\.0 GiB/);
        const ok = parsed({ ...QWEN_30B, rollout: { memFractionStatic: 0.99, sglang: { cudaGraphMaxBs: 64 } } });
        assert.equal(ok.problems.find((x) => x.path === "training.offload.train"), undefined, "negative control: small graphs fit");
    });
    it("a hybrid preset on miles' qwen3_5 spec keeps its Gated DeltaNet whole on every TP rank; entropyCoef ≠ 0 adds the entropy's vocabulary copies", () => {
        // miles' Qwen3.8-27B recipe (scripts/run_qwen3_dense.py, v0.1.0): TP 4, CPU Adam, full recompute, 1-GPU engines at 0.8, on an H200 node.
        const qwen38 = {
            model: { preset: "qwen3.8-27B" },
            layout: { gpusPerEngine: 1 },
            parallelism: { tp: 4, sequenceParallel: true, recompute: FULL_RECOMPUTE },
            offload: { optimizerCpu: true },
            rollout: { memFractionStatic: 0.8 },
            algorithm: { dynamicBatch: { enabled: true, maxTokensPerGpu: 8192 } },
        };
        const f = fitOf(qwen38, "p5en.48xlarge");
        const formula = (fit: typeof f) => fit.train.items.find((i) => /^weights \+ grads/.test(i.label))!.formula;
        assert.match(formula(f), /48 Gated DeltaNet layers whole on every TP rank/);
        assert.ok(f.train.usage < 1, `${(f.train.totalBytes / 2 ** 30).toFixed(1)} GiB`);
        const dense = fitOf({ ...QWEN_30B }, "p5en.48xlarge");
        assert.doesNotMatch(formula(dense), /Gated DeltaNet/, "negative control: a standard MoE preset has no GDN");
        const logits = (entropyCoef: number) => item(fitOf({ ...qwen38, algorithm: { ...qwen38.algorithm, entropyCoef } }, "p5en.48xlarge").train, /^logits/)!.bytes;
        assert.equal(logits(0.01) / logits(0), 20 / 12, "12 B → 20 B per logit element");
    });
});

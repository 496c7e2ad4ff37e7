import { strict as assert } from "node:assert";
import { architectureArgv, modelPreset, MODEL_PRESETS } from "../catalog/models";
import { architectureFacts, moeLayerPattern, paramCounts } from "../catalog/modelArch";

const facts = (preset: string) => architectureFacts(architectureArgv(modelPreset(preset)!));

describe("architecture facts from the Megatron args", () => {
    it("reads heads and query groups, with Megatron's defaults (groups = heads without --group-query-attention)", () => {
        const q = facts("qwen3-30B-A3B");
        assert.deepEqual([q.numAttentionHeads, q.numQueryGroups, q.kvChannels, q.numExperts, q.moeRouterTopk], [32, 4, 128, 128, 8]);
        const d = facts("deepseek-v3");
        assert.equal(d.numQueryGroups, 128, "MLA: no --group-query-attention, so one group per head");
        assert.equal(architectureFacts(["--num-layers", "2", "--hidden-size", "1024", "--num-attention-heads", "8"]).kvChannels, 128);
    });

    it("reads --moe-layer-freq as a list, a Python list expression or an int", () => {
        assert.deepEqual(moeLayerPattern("[0,1,1]", 3, 8), [false, true, true]);
        assert.deepEqual(moeLayerPattern("[0]*2+[1]*3", 5, 8), [false, false, true, true, true]);
        assert.deepEqual(moeLayerPattern("2", 4, 8), [true, false, true, false]);
        assert.deepEqual(moeLayerPattern(undefined, 2, 8), [true, true]);
        assert.deepEqual(moeLayerPattern("[1]", 2, 0), [false, false], "dense model");
        assert.equal(facts("glm4.5-355B-A32B").moeLayers.filter(Boolean).length, 89, "GLM-4.5: [0]*3+[1]*89");
    });

    it("counts parameters by hand for a tiny SwiGLU model", () => {
        const a = architectureFacts("--num-layers 2 --hidden-size 1024 --ffn-hidden-size 4096 --num-attention-heads 8 --swiglu --untie-embeddings-and-output-weights --vocab-size 1000".split(" "));
        // attention 1024×(1024+2×1024) + 1024×1024 = 4,194,304; MLP 3×1024×4096 = 12,582,912; embeddings 2 × 1000 × 1024
        assert.equal(paramCounts(a).total, 2 * (4_194_304 + 12_582_912) + 2_048_000);
    });

    it("matches the published totals of the standard presets within 3% (dense, GQA, MoE, MLA)", () => {
        const off: string[] = [];
        for (const name of ["llama3.1-8B-Instruct", "qwen2.5-32B", "qwen3-4B", "qwen3-32B", "qwen3-30B-A3B", "qwen3-235B-A22B", "deepseek-v3", "glm4.5-355B-A32B", "glm4.7-flash", "moonlight", "gpt-oss-20b"]) {
            const p = modelPreset(name)!;
            const c = paramCounts(facts(name));
            if (Math.abs(c.total / 1e9 / p.totalParamsB! - 1) > 0.03) off.push(`${name}: ${(c.total / 1e9).toFixed(1)}B vs ${p.totalParamsB}B`);
        }
        assert.deepEqual(off, []);
        const ds = paramCounts(facts("deepseek-v3"));
        assert.ok(Math.abs(ds.active / 1e9 - 37) < 1.5, `DeepSeek-V3 active ${(ds.active / 1e9).toFixed(1)}B vs 37B`);
    });

    it("flags presets whose layers are the model's own modules (--spec) as not standard", () => {
        assert.equal(facts("deepseek-v32").standardLayers, false);
        assert.equal(facts("qwen3-4B").standardLayers, true);
        assert.ok(MODEL_PRESETS.every((m) => architectureFacts(architectureArgv(m)).numLayers === m.numLayers), "num_layers column and args agree");
    });
});

import { strict as assert } from "node:assert";
import { parseConfig } from "../validation";
import { modelPreset, MODEL_PRESETS } from "../catalog/models";
import { rawConfig } from "./harness";
import { trainingWarnings } from "../domain/training/rules";
import { runOf } from "../domain/training/run";

const parse = (training: Record<string, unknown>) =>
    parseConfig(
        rawConfig(
            {
                "aws:region": "us-east-1",
                "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] },
                "miles-cluster:training": { resources: { memoryFitCheck: "warn" }, ...training },
            },
            training.hfToken ? ["miles-cluster:training"] : [],
        ),
        { stack: "fam" },
    );
const modelProblems = (training: Record<string, unknown>) => parse(training).problems.filter((p) => p.path.startsWith("training.model"));

/** The seed's model table: family → the preset that stands for it. */
const SEED_FAMILIES: Record<string, string> = {
    "DeepSeek R1": "deepseek-r1",
    "DeepSeek V3": "deepseek-v3",
    "DeepSeek V3.2": "deepseek-v32",
    "Qwen 2": "qwen2-7B",
    "Qwen 2.5": "qwen2.5-7B",
    "Qwen 2.5 14B": "qwen2.5-14B",
    "Qwen 2.5 72B": "qwen2.5-72B",
    "Qwen 3": "qwen3-8B",
    "Qwen 3 MoE": "qwen3-30B-A3B",
    "Llama 3": "llama3-8B-Instruct",
    "Llama 3.1": "llama3.1-8B-Instruct",
    "Llama 3.1 70B": "llama3.1-70B-Instruct",
    "Llama 3.1 405B": "llama3.1-405B-Instruct",
    "Llama 3.3": "llama3.3-70B-Instruct",
    "Llama 4": "llama4-scout-17B-16E-Instruct",
    "Gemma 2": "gemma-2-27b-it",
    "Gemma 3": "gemma-3-27b-it",
    "Gemma 3N": "gemma-3n-E4B-it",
    "GLM 4.5": "glm4.5-355B-A32B",
    "GLM 4.6": "glm4.6-355B-A32B",
    "GLM 4.7": "glm4.7-355B-A32B",
    "GLM 4.7 Flash": "glm4.7-flash",
    "MiniMax M2": "minimax-m2",
    "MiniMax M2.1": "minimax-m2.1",
};

describe("model families of the seed", () => {
    for (const [family, preset] of Object.entries(SEED_FAMILIES)) {
        it(`${family} (${preset}): a preset that plans, or is refused with its reason`, () => {
            const p = modelPreset(preset);
            assert.ok(p, `no preset ${preset}`);
            const fp8 = p.ckptDtype === "fp8" ? { hfCheckpointIsFp8: true } : {};
            const problems = modelProblems({ model: { preset, ...fp8 }, hfToken: "t" });
            if (p.refused) {
                assert.equal(problems.length, 1, JSON.stringify(problems));
                assert.equal(problems[0].path, "training.model.preset");
                assert.ok(problems[0].message.includes("cannot be planned") && problems[0].message.includes(p.refused), problems[0].message);
                if (p.source === "extension") assert.equal(p.megatronArgs, "", "a refused preset of ours carries no (guessed) architecture");
            } else {
                assert.deepEqual(problems, []);
                assert.ok(p.megatronArgs.includes("--num-layers"));
            }
        });
    }

    it("DeepSeek-R1 shares DeepSeek-V3's architecture args and is published in FP8", () => {
        const r1 = modelPreset("deepseek-r1")!;
        assert.equal(r1.megatronArgs, modelPreset("deepseek-v3")!.megatronArgs);
        assert.deepEqual([r1.hfRepo, r1.ckptDtype, r1.totalParamsB], ["deepseek-ai/DeepSeek-R1", "fp8", 671]);
    });

    it("every extension row has a source; refused presets say what would make them work", () => {
        for (const m of MODEL_PRESETS.filter((x) => x.factsSource !== undefined)) assert.ok(m.factsSource!.length > 10, m.preset);
        for (const m of MODEL_PRESETS.filter((x) => x.refused)) assert.ok(/would work|set training\.model\.custom\.args|would need/.test(m.refused!), `${m.preset}: ${m.refused}`);
    });
});

describe("published checkpoint facts on the presets", () => {
    it("an FP8 release needs hfCheckpointIsFp8 (the BF16 cast before conversion); a non-FP8 release refuses it", () => {
        assert.ok(modelProblems({ model: { preset: "deepseek-r1" } }).some((p) => p.path === "training.model.hfCheckpointIsFp8" && p.message.includes("published in FP8")));
        assert.ok(modelProblems({ model: { preset: "gpt-oss-20b", hfCheckpointIsFp8: true } }).some((p) => p.path === "training.model.hfCheckpointIsFp8" && p.message.includes("MXFP4")));
        assert.deepEqual(modelProblems({ model: { preset: "deepseek-r1", megatronToHfMode: "bridge" } }), [], "bridge mode loads the release itself");
    });

    it("an INT4 release has no cast in the convert Job (kimi-k2-thinking)", () =>
        assert.ok(modelProblems({ model: { preset: "kimi-k2-thinking" } }).some((p) => p.path === "training.model.hfCheckpoint" && p.message.includes("INT4"))));

    it("warns when a gated repo is downloaded without training.hfToken", () => {
        const r = parse({ model: { preset: "llama3.1-8B-Instruct" } });
        assert.ok(r.config);
        assert.ok(trainingWarnings(runOf(r.config!)).some((w) => w.startsWith("training.hfToken") && w.includes("gated")));
        assert.ok(!trainingWarnings(runOf(parse({ model: { preset: "llama3.1-8B-Instruct" }, hfToken: "t" }).config!)).some((w) => w.startsWith("training.hfToken")));
    });
});

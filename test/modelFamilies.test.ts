import { strict as assert } from "node:assert";
import { parseConfig } from "../validation";
import { modelPreset, MODEL_PRESETS } from "../catalog/models";
import { architectureFacts, paramCounts } from "../catalog/modelArch";
import { rawConfig } from "./harness";
import { trainingWarnings } from "../domain/training/rules";
import { runOf } from "../domain/stack";

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

/**
 * Presets whose architecture was read from cited public sources (catalog/models.ext.tsv source column).
 * Expected values are typed by hand from those sources, not from the table:
 *  - Qwen2: NVIDIA/NeMo nemo/collections/llm/gpt/model/qwen2.py @03823d2acf6e9e8c0fed8409a89f9cfd5308e157
 *    (Qwen2Config, Qwen2Config7B).
 *  - Llama 3 / 3.1: meta-llama/llama-models models/sku_list.py @084b88e939e954d2851ee28f96398ca54aa8f8f9
 *    (model_args: dim, n_layers, n_heads, n_kv_heads, vocab_size, norm_eps, rope_theta, use_scaled_rope) and
 *    NVIDIA-NeMo/Megatron-Bridge src/megatron/bridge/models/llama/llama_provider.py @2afd2d34f7d7b2e84095af1a7fd7244902189ebc
 *    (ffn_hidden_size, untied embeddings, no linear bias, rope scaling factor 8 and seq_length 131072 for 3.1).
 */
describe("sourced architectures of the extension presets", () => {
    const flags = (args: string): Map<string, string> => {
        const t = args.split(/\s+/).filter((x) => x !== "");
        const m = new Map<string, string>();
        t.forEach((x, i) => {
            if (x.startsWith("--")) m.set(x, t[i + 1] !== undefined && !t[i + 1].startsWith("--") ? t[i + 1] : "");
        });
        return m;
    };
    const DENSE_COMMON: Record<string, string> = {
        "--swiglu": "", // gated_linear_unit True, silu
        "--normalization": "RMSNorm",
        "--disable-bias-linear": "", // add_bias_linear False
        "--untie-embeddings-and-output-weights": "", // share_embeddings_and_output_weights False
        "--group-query-attention": "",
        "--use-rotary-position-embeddings": "", // position_embedding_type "rope"
    };
    const QWEN2 = { ...DENSE_COMMON, "--add-qkv-bias": "", "--rotary-base": "1000000" };
    const LLAMA3 = { ...DENSE_COMMON, "--num-query-groups": "8", "--vocab-size": "128256", "--norm-epsilon": "1e-5", "--rotary-base": "500000" };
    const LLAMA31 = { ...LLAMA3, "--use-rope-scaling": "", "--rotary-scaling-factor": "8.0", "--max-position-embeddings": "131072" };
    const cases: Array<{ preset: string; source: string; tp: number; badTp: number; expect: Record<string, string>; absent?: string[] }> = [
        {
            preset: "qwen2-7B",
            source: "NVIDIA/NeMo nemo/collections/llm/gpt/model/qwen2.py",
            tp: 4,
            badTp: 3,
            expect: { ...QWEN2, "--num-layers": "28", "--hidden-size": "3584", "--num-attention-heads": "28", "--num-query-groups": "4", "--ffn-hidden-size": "18944", "--vocab-size": "152064", "--norm-epsilon": "1e-6" },
        },
        {
            preset: "llama3-8B-Instruct",
            source: "meta-llama/llama-models models/sku_list.py",
            tp: 8,
            badTp: 3,
            expect: { ...LLAMA3, "--num-layers": "32", "--hidden-size": "4096", "--num-attention-heads": "32", "--ffn-hidden-size": "14336" },
            absent: ["--use-rope-scaling"], // use_scaled_rope False
        },
        {
            preset: "llama3-70B-Instruct",
            source: "meta-llama/llama-models models/sku_list.py",
            tp: 8,
            badTp: 3,
            expect: { ...LLAMA3, "--num-layers": "80", "--hidden-size": "8192", "--num-attention-heads": "64", "--ffn-hidden-size": "28672" },
            absent: ["--use-rope-scaling"],
        },
        {
            preset: "llama3.1-70B-Instruct",
            source: "meta-llama/llama-models models/sku_list.py",
            tp: 8,
            badTp: 3,
            expect: { ...LLAMA31, "--num-layers": "80", "--hidden-size": "8192", "--num-attention-heads": "64", "--ffn-hidden-size": "28672" },
        },
        {
            preset: "llama3.1-405B-Instruct",
            source: "meta-llama/llama-models models/sku_list.py",
            tp: 8,
            badTp: 3,
            expect: { ...LLAMA31, "--num-layers": "126", "--hidden-size": "16384", "--num-attention-heads": "128", "--ffn-hidden-size": "53248" },
        },
    ];
    for (const c of cases) {
        it(`${c.preset}: args match the source and it plans with TP = ${c.tp} (a TP not dividing its heads is refused)`, () => {
            const p = modelPreset(c.preset)!;
            assert.equal(p.refused, undefined);
            assert.ok(p.factsSource?.includes(c.source), p.factsSource);
            const f = flags(p.megatronArgs);
            for (const [k, v] of Object.entries(c.expect)) assert.equal(f.get(k), v, `${c.preset} ${k}`);
            for (const k of c.absent ?? []) assert.ok(!f.has(k), `${c.preset} has ${k}`);
            assert.equal(p.numLayers, Number(c.expect["--num-layers"]));
            assert.equal(p.hiddenSize, Number(c.expect["--hidden-size"]));
            assert.deepEqual(modelProblems({ model: { preset: c.preset }, parallelism: { tp: c.tp }, hfToken: "t" }), []);
            const bad = parse({ model: { preset: c.preset }, parallelism: { tp: c.badTp }, hfToken: "t" }).problems;
            assert.ok(bad.some((x) => x.path === "training.parallelism.tp" && x.message.includes("attention heads")), JSON.stringify(bad));
        });
    }

    it("the sourced args count the parameters the model names publish (Llama 8B / 70B / 405B within 2%)", () => {
        const billions = (name: string) => paramCounts(architectureFacts(modelPreset(name)!.megatronArgs.split(/\s+/).filter((t) => t !== ""))).total / 1e9;
        for (const [name, b] of [["llama3-8B-Instruct", 8], ["llama3-70B-Instruct", 70], ["llama3.1-70B-Instruct", 70], ["llama3.1-405B-Instruct", 405]] as const) {
            assert.ok(Math.abs(billions(name) / b - 1) < 0.02, `${name}: ${billions(name).toFixed(1)}B vs ${b}B`);
        }
        // Qwen2-7B and miles' Qwen2.5-7B preset have the same shape in the sources (NeMo Qwen2Config7B, miles scripts/models/qwen2.5-7B.py).
        assert.equal(billions("qwen2-7B").toFixed(3), billions("qwen2.5-7B").toFixed(3));
    });

    it("presets whose sources disagree or are missing stay refused with no architecture", () => {
        for (const name of ["qwen2-72B", "qwen2.5-14B", "qwen2.5-72B", "llama3.3-70B-Instruct", "glm4.6-355B-A32B", "glm4.7-355B-A32B"]) {
            const p = modelPreset(name)!;
            assert.ok(p.refused, name);
            assert.equal(p.megatronArgs, "", name);
        }
    });
});

/**
 * miles' own H100/H200 recipes (radixark/miles v0.1.0 scripts/run_*.py, transcribed in
 * test/fixtures/recipes/miles-v0.1.0.ts from the scripts) plan from typed fields: each is accepted by
 * every rule (or refused where miles itself refuses the published flags), carries the script's flags in
 * its argv, and uses extraArgs only for flags no typed field owns.
 *
 * The memory fit judges each recipe as an error (the default `resources.memoryFitCheck`): a recipe is
 * accepted on its hardware (`fits`), or — where it truly cannot fit — refused with the numbers
 * (`memoryRefusal`), and then plans with `memoryFitCheck: warn` with no other problem.
 */
import { strict as assert } from "node:assert";
import { parseConfig } from "../validation";
import { stackConfigJsonSchema } from "../config";
import { runOf } from "../domain/stack";
import { documentedFlags, parseOneNode, rawConfig } from "./harness";
import { RECIPES, type Recipe } from "./fixtures/recipes/miles-v0.1.0";
import { runMemoryFit } from "../domain/training/memoryFitRun";

/** The recipe's stack values; the memory fit judges it as an error (the default memoryFitCheck). */
function recipeValues(r: Recipe, training: Record<string, unknown> = r.training): Record<string, unknown> {
    return {
        "aws:region": "us-east-1",
        "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "gpu", instanceType: r.instanceType, nodes: r.nodes }], ...(r.systemInstanceType ? { systemNodeGroup: { instanceType: r.systemInstanceType } } : {}) },
        "miles-cluster:training": { ...training, extraArgs: r.extraArgs.flatMap((e) => e.args) },
    };
}

const parse = (values: Record<string, unknown>) => parseConfig(rawConfig(values), { stack: "recipe" });

/** Where `want` (a flag and its values) is in argv, values compared as numbers when both are numbers ("0.70" = "0.7"). */
function carries(argv: ReadonlyArray<string>, want: ReadonlyArray<string>): boolean {
    const same = (a: string, b: string) => a === b || (a.trim() !== "" && b.trim() !== "" && Number.isFinite(Number(a)) && Number(a) === Number(b));
    return argv.some((tok, i) => tok === want[0] && want.slice(1).every((v, j) => argv[i + 1 + j] !== undefined && same(argv[i + 1 + j], v)) && (argv[i + want.length] === undefined || argv[i + want.length].startsWith("--")));
}

describe("miles v0.1.0 recipes plan from typed fields (issue 23)", function () {
    const typed = new Set(documentedFlags(stackConfigJsonSchema()));

    for (const r of RECIPES) {
        const name = `${r.script} @ ${r.tag} (${r.hardware}, ${r.nodes} node${r.nodes > 1 ? "s" : ""})`;
        const verdict = r.refusedAs ? "refused where miles refuses it, and plans once that is fixed" : r.fits ? "passes every rule and the memory fit" : "refused by the memory fit with the numbers, and passes every other rule";
        it(`${name}: ${verdict}; argv carries the script's flags; extraArgs hold no typed knob`, () => {
            const extraFlags = r.extraArgs.flatMap((e) => e.args).filter((a) => a.startsWith("--"));
            assert.deepEqual(extraFlags.filter((f) => typed.has(f)), [], "a flag a typed field owns is left in extraArgs");
            let training = r.training;
            if (r.refusedAs) {
                const refused = parse(recipeValues(r));
                assert.deepEqual(refused.problems.map((p) => p.path), [r.refusedAs.path], `${r.refusedAs.why}: ${JSON.stringify(refused.problems)}`);
                // The same run with a fixed micro-batch, as miles' assert asks.
                const a = training.algorithm as Record<string, unknown>;
                training = { ...training, algorithm: { ...a, dynamicBatch: { enabled: false }, microBatchSize: 1 } };
            }
            const res = parse(recipeValues(r, training));
            if (!r.fits) {
                // Refused by the memory fit with the numbers; nothing else is wrong with the recipe.
                const want = r.memoryRefusal ?? [];
                assert.ok(want.length > 0, "a recipe that does not fit names the refusal it expects");
                assert.deepEqual(res.problems.map((p) => p.path).sort(), want.map((w) => w.path).sort(), JSON.stringify(res.problems));
                for (const w of want) assert.match(res.problems.find((p) => p.path === w.path)!.message, w.numbers);
                training = { ...training, resources: { memoryFitCheck: "warn" } };
            }
            const planned = r.fits ? res : parse(recipeValues(r, training));
            assert.deepEqual(planned.problems, [], r.fits ? "the recipe does not plan (or does not fit)" : "the recipe has problems besides the memory fit");
            const argv = runOf(planned.config!).command.argv;
            const missing = r.flags.filter((f) => !(r.refusedAs && f[0] === "--use-dynamic-batch-size") && !(r.refusedAs && f[0] === "--max-tokens-per-gpu") && !carries(argv, f));
            assert.deepEqual(missing, [], `argv lacks the script's flags:\n${argv.join(" ")}`);
        });
    }

    it("negative control: a recipe flag the run does not carry is found missing, a changed value too", () => {
        const r = RECIPES.find((x) => x.script.endsWith("run_qwen3_30b_a3b.py"))!;
        const argv = runOf(parse(recipeValues(r)).config!).command.argv;
        assert.ok(carries(argv, ["--max-tokens-per-gpu", "32768"]));
        assert.ok(!carries(argv, ["--max-tokens-per-gpu", "16384"]));
        assert.ok(!carries(argv, ["--moe-enable-deepep"]));
        assert.ok(!carries(argv, ["--sglang-cuda-graph-bs", "1"]), "a prefix of a longer value list is not the list");
    });

    it("DeepEP over a preset's alltoall is refused with Megatron's reason; flex replaces the preset's dispatcher in argv", () => {
        const r = RECIPES.find((x) => x.script.endsWith("run_qwen3_30b_a3b.py"))!;
        const p = r.training.parallelism as Record<string, unknown>;
        const bad = parse(recipeValues(r, { ...r.training, parallelism: { ...p, moe: { deepep: true } } }));
        assert.deepEqual(bad.problems.map((x) => x.path), ["training.parallelism.moe.deepep"]);
        assert.match(bad.problems[0].message, /alltoall.*DeepEP backend is only supported with flex token dispatcher/);
        const ok = parse(recipeValues(r, { ...r.training, parallelism: { ...p, moe: { deepep: true, tokenDispatcherType: "flex" } } }));
        assert.deepEqual(ok.problems, []);
        const argv = runOf(ok.config!).command.argv;
        assert.deepEqual(argv.flatMap((t, i) => (t === "--moe-token-dispatcher-type" ? [argv[i + 1]] : [])), ["flex"], "the preset's alltoall must go, flex appear once");
        assert.ok(argv.includes("--moe-enable-deepep"));
    });

    it("attention: no backend is generated unless set or the model needs one; gpt-oss set to flash is refused", () => {
        const qwen = RECIPES.find((x) => x.script.endsWith("run_qwen3_30b_a3b.py"))!;
        const p = qwen.training.parallelism as Record<string, unknown>;
        const unset = runOf(parse(recipeValues(qwen, { ...qwen.training, parallelism: { ...p, attentionBackend: undefined } })).config!).command.argv;
        assert.ok(!unset.includes("--attention-backend"), "a backend was forced on a model that needs none");
        const oss = RECIPES.find((x) => x.script.endsWith("run_gpt_oss_20b.py"))!;
        const q = oss.training.parallelism as Record<string, unknown>;
        const bad = parse(recipeValues(oss, { ...oss.training, parallelism: { ...q, attentionBackend: "flash" } }));
        assert.deepEqual(bad.problems.map((x) => x.path), ["training.parallelism.attentionBackend"]);
    });

    it("features.deterministicTraining (run_deepseek_v4.py's train_deterministic): --deterministic-mode and its env once, also beside true on-policy", () => {
        const r = RECIPES.find((x) => x.script.endsWith("run_deepseek_v4.py"))!;
        const count = (argv: ReadonlyArray<string>) => argv.filter((t) => t === "--deterministic-mode").length;
        const envOf = (e: ReadonlyArray<{ name: string; value: string }>) => e.filter((v) => ["NCCL_ALGO", "NVTE_ALLOW_NONDETERMINISTIC_ALGO", "CUBLAS_WORKSPACE_CONFIG"].includes(v.name)).map((v) => `${v.name}=${v.value}`);
        const on = runOf(parse(recipeValues(r)).config!).command;
        assert.equal(count(on.argv), 1);
        // scripts/run_deepseek_v4.py at v0.1.0 (train_deterministic): NCCL_ALGO Ring, NVTE_ALLOW_NONDETERMINISTIC_ALGO 0, CUBLAS_WORKSPACE_CONFIG :4096:8.
        assert.deepEqual(envOf(on.env), ["NCCL_ALGO=Ring", "NVTE_ALLOW_NONDETERMINISTIC_ALGO=0", "CUBLAS_WORKSPACE_CONFIG=:4096:8"]);
        const f = r.training.features as Record<string, unknown>;
        const off = runOf(parse(recipeValues(r, { ...r.training, features: { ...f, deterministicTraining: false } })).config!).command;
        assert.equal(count(off.argv), 0);
        assert.deepEqual(envOf(off.env), []);
        const both = parseOneNode({ parallelism: { tp: 2, cp: 2 }, features: { trueOnPolicy: true, deterministicTraining: true } });
        assert.deepEqual(both.problems, []);
        const cmd = runOf(both.config!).command;
        assert.equal(count(cmd.argv), 1, "true on-policy already passes --deterministic-mode");
        assert.equal(envOf(cmd.env).length, 3, "and its env, once");
    });

    it("the fit reads the recipes' memory knobs: GLM-5's rematerialized weights leave no pinned actor copy on the host; Inkling-Small LoRA's KV pool is the script's cap", () => {
        const fitOf = (r: Recipe, training: Record<string, unknown>) => {
            const res = parse(recipeValues(r, training));
            assert.deepEqual(res.problems, []);
            return runMemoryFit(runOf(res.config!))!;
        };
        const glm = RECIPES.find((x) => x.script === "scripts/run_glm5_744b_a40b.py")!;
        const remat = fitOf(glm, glm.training);
        const kept = fitOf(glm, { ...glm.training, offload: {} });
        const copies = (f: typeof remat) => f.host.items.find((i) => i.label === "pinned weight copies");
        // miles v0.1.0 rematerialize_utils.py: the BF16 weights are rebuilt from the FP32 master, no pinned CPU copy.
        assert.equal(copies(remat), undefined, JSON.stringify(remat.host.items.map((i) => i.label)));
        assert.ok(copies(kept) && copies(kept)!.bytes > 0);
        assert.ok(Math.abs(kept.host.totalBytes - remat.host.totalBytes - copies(kept)!.bytes) < 1, "the host drops exactly the actor's pinned copy");

        const ink = RECIPES.find((x) => x.script === "scripts/run_inkling.py" && x.variant.includes("--train-mode lora"))!;
        const capped = fitOf(ink, ink.training);
        assert.equal(capped.rollout.kvTokens, 320000, "the script's --sglang-max-total-tokens");
        const rollout = ink.training.rollout as Record<string, unknown>;
        const { maxTotalTokens: _cap, ...sglang } = rollout.sglang as Record<string, unknown>;
        const uncapped = fitOf(ink, { ...ink.training, rollout: { ...rollout, sglang } });
        assert.ok(uncapped.rollout.kvTokens > 320000);
        // offload.rollout off: what the engine did not allocate is not resident while training either.
        const engine = (f: typeof capped) => f.train.items.find((i) => i.label.startsWith("SGLang static"))!.bytes;
        const kv = (f: typeof capped) => f.rollout.items.find((i) => i.label === "KV cache")!.bytes;
        assert.ok(Math.abs(engine(uncapped) - engine(capped) - (kv(uncapped) - kv(capped))) < 1, "the train phase drops exactly the unallocated KV");
    });

    it("rematerializeParams is refused where miles asserts: offload.train off, LoRA, --keep-old-actor, --overlap-param-gather, --offload-train-target disk", () => {
        const q = RECIPES.find((x) => x.script.endsWith("run_qwen3_30b_a3b.py"))!;
        const paths = (training: Record<string, unknown>) => parse(recipeValues(q, training)).problems.filter((p) => /rematerialize/i.test(p.path + p.message)).map((p) => p.path);
        assert.deepEqual(paths({ ...q.training, offload: { rematerializeParams: true } }), []);
        assert.deepEqual(paths({ ...q.training, offload: { rematerializeParams: true, train: false } }), ["training.offload.rematerializeParams"]);
        const f = q.training.features as Record<string, unknown> | undefined;
        assert.deepEqual(paths({ ...q.training, offload: { rematerializeParams: true }, features: { ...f, lora: { rank: 8, alpha: 16, targetModules: "all-linear" } } }), ["training.offload.rematerializeParams"]);
        // Flags given in extraArgs are named where they stand (recipeValues puts the recipe's extraArgs first).
        const n = q.extraArgs.flatMap((e) => e.args).length;
        for (const [extra, at] of [[["--keep-old-actor"], n], [["--overlap-param-gather"], n], [["--offload-train-target", "disk"], n]] as const) {
            const qe = { ...q, extraArgs: [...q.extraArgs, { args: [...extra], why: "test" }] };
            const problems = parse(recipeValues(qe, { ...q.training, offload: { rematerializeParams: true } })).problems.filter((p) => /rematerialize/.test(p.message));
            assert.deepEqual(problems.map((p) => p.path), [`training.extraArgs[${at}]`], JSON.stringify(problems));
            // Negative control: the same flag without the knob is no problem of this rule.
            assert.deepEqual(parse(recipeValues(qe)).problems.filter((p) => /rematerialize/.test(p.message)), []);
        }
        assert.deepEqual(parse(recipeValues({ ...q, extraArgs: [...q.extraArgs, { args: ["--offload-train-target", "cpu"], why: "test" }] }, { ...q.training, offload: { rematerializeParams: true } })).problems.filter((p) => /rematerialize/.test(p.message)), [], "cpu is the target it rebuilds from");
    });

});

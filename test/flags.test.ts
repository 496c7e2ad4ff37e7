import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseConfig } from "../validation";
import { stackConfigJsonSchema, type MilesConfig } from "../config";
import { documentedFlags, rawConfig, requireShared } from "./harness";
import { runOf } from "../domain/stack";
import { MODEL_PRESETS } from "../catalog/models";
import { WORKFLOW_1, WORKFLOW_2 } from "./trainingFixtures";

/** A flag train.py accepts: its value type and allowed choices. */
interface FlagInfo {
    type: string;
    choices: string[];
    table: string;
}

function readTsv(file: string): Array<Record<string, string>> {
    const [head, ...rows] = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "");
    const cols = head.split("\t");
    return rows.map((l) => Object.fromEntries(l.split("\t").map((v, i) => [cols[i], v])));
}

/** Every flag train.py accepts, from the three tables (miles flags win over Megatron's). */
function knownFlags(shared: string): Map<string, FlagInfo> {
    const dir = path.join(shared, "miles");
    const known = new Map<string, FlagInfo>();
    const add = (name: string, info: FlagInfo) => {
        if (!known.has(name)) known.set(name, info);
    };
    const choices = (c: string | undefined) => (c ? c.split(",") : []);
    for (const r of readTsv(path.join(dir, "flags.tsv"))) for (const f of r.flag.split(" | ")) add(f, { type: r.type, choices: choices(r.choices), table: "flags.tsv" });
    for (const r of readTsv(path.join(dir, "megatron-flags.tsv"))) {
        const names = [...r.flag.split(" | "), ...(r.aliases ? r.aliases.split(",") : [])];
        for (const f of names) add(f, { type: r.type, choices: choices(r.choices), table: "megatron-flags.tsv" });
    }
    // Flags of the sglang-miles branch the miles image runs (the table is from SGLang v0.5.16, see shared/miles/README.md):
    // miles v0.1.0 miles/true_on_policy/config.py `build_sglang_args` passes this one.
    add("--sglang-true-on-policy-contract", { type: "str", choices: [], table: "sglang-miles (miles/true_on_policy/config.py)" });
    const skipped = new Set(fs.readFileSync(path.join(dir, "sglang-skipped.txt"), "utf8").split("\n").map((s) => s.trim()).filter(Boolean));
    for (const r of readTsv(path.join(dir, "sglang-server-flags.tsv"))) {
        const first = r.flag.split(" | ")[0];
        if (r.miles_accepts === "no" || skipped.has(first.slice(2).replace(/-/g, "_"))) continue;
        const names = [first, ...(r.aliases ? r.aliases.split(",") : [])];
        for (const f of names) add(`--sglang-${f.slice(2)}`, { type: r.type, choices: choices(r.choices), table: "sglang-server-flags.tsv" });
    }
    return known;
}

/** Problems of one argv: unknown flags, a switch given a value, a valued flag without one, a value outside its choices. */
function argvProblems(argv: ReadonlyArray<string>, known: Map<string, FlagInfo>): string[] {
    const out: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const tok = argv[i];
        if (!tok.startsWith("--")) continue;
        const info = known.get(tok);
        if (!info) {
            out.push(`${tok} is not a train.py flag`);
            continue;
        }
        const values: string[] = [];
        for (let j = i + 1; j < argv.length && !argv[j].startsWith("--"); j++) values.push(argv[j]);
        if (info.type === "bool") {
            if (values.length > 0) out.push(`${tok} is a switch but is followed by ${JSON.stringify(values)}`);
        } else if (values.length === 0) {
            out.push(`${tok} (${info.type}) has no value`);
        } else if (!info.type.startsWith("list") && values.length !== 1) {
            out.push(`${tok} (${info.type}) takes one value, got ${JSON.stringify(values)}`);
        } else if (info.choices.length > 0 && !info.type.startsWith("list") && !info.choices.includes(values[0])) {
            out.push(`${tok} ${values[0]} is not one of ${info.choices.join(",")} (${info.table})`);
        } else if ((info.type === "int" && !/^-?\d+$/.test(values[0])) || (info.type === "float" && Number.isNaN(Number(values[0])))) {
            out.push(`${tok} expects ${info.type}, got ${values[0]}`);
        }
    }
    return out;
}

function cfgOf(values: Record<string, unknown>, secretKeys: string[] = []): MilesConfig {
    const r = parseConfig(rawConfig(values, secretKeys), { stack: "flags" });
    assert.deepEqual(r.problems, [], "config should be valid");
    return r.config!;
}

const ONE_NODE = { "aws:region": "us-east-1", "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 2 }] } };

/** Configs that together switch every generated flag on at least once. */
const CONFIGS: Record<string, { values: Record<string, unknown>; secret?: boolean }> = {
    defaults: { values: { ...ONE_NODE } },
    switches: {
        values: {
            ...ONE_NODE,
            "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 3 }] },
            "miles-cluster:training": {
                layout: { colocate: false, rolloutGpus: 8 },
                rollout: { weightTransfer: { mode: "disk-delta", diskDir: "/shared/deltas", localCheckpointDir: "/tmp/ckpt", bufferSizeMiB: 1024 } },
                eval: { interval: 20, datasets: [{ name: "aime", path: "/shared/data/aime.jsonl" }], maxResponseLen: 4096, temperature: 0.6, topP: 0.95, numGpus: 8, numGpusPerEngine: 2, hfDir: "/tmp/eval-hf" },
                checkpoints: { exportHf: { enabled: true } },
                features: { mis: { enabled: true } },
            },
        },
    },
    "true on-policy": { values: { ...ONE_NODE, "miles-cluster:training": { parallelism: { tp: 2, cp: 2 }, features: { trueOnPolicy: true } } } },
    "workflow 1": { values: WORKFLOW_1 },
    "workflow 2": { values: WORKFLOW_2 },
    "offload the other way round": { values: { ...ONE_NODE, "miles-cluster:training": { layout: { actorNodes: 1, colocate: false, rolloutGpus: 8, gpusPerEngine: 4 }, offload: { train: true, rollout: false } } } },
    "recipe knobs (issue 23)": {
        values: {
            ...ONE_NODE,
            "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 2 }] },
            "miles-cluster:training": {
                model: { preset: "qwen3-30B-A3B" },
                layout: { actorNodes: 1, colocate: false, rolloutGpus: 8, gpusPerEngine: 4, prefillNumServers: 1 },
                parallelism: { tp: 4, ep: 8, etp: 1, sequenceParallel: true, attentionBackend: "flash", qkvFormat: "thd", cpCommType: "a2a", moe: { tokenDispatcherType: "flex", deepep: true }, recompute: { granularity: "full", method: "uniform", numLayers: 1 } },
                offload: { optimizerCpu: true },
                algorithm: { balanceData: true, dynamicGlobalBatchSize: true, logProbsChunkSize: 4096, accumulateAllreduceGradsInFp32: false },
                rollout: {
                    sglang: {
                        attentionBackend: "fa3",
                        kvCacheDtype: "bf16",
                        moeRunnerBackend: "deep_gemm",
                        moeA2aBackend: "deepep",
                        deepepMode: "low_latency",
                        epSize: 4,
                        dpAttention: { dpSize: 4, lmHead: true, moeDenseTpSize: 1 },
                        cudaGraphBs: [1, 2, 4, 8],
                        cudaGraphMaxBs: 256,
                        chunkedPrefillSize: 4096,
                        maxRunningRequests: 512,
                        maxTotalTokens: 200000,
                        pageSize: 64,
                    },
                },
                features: { lora: { rank: 32, alpha: 32, dropout: 0.05, type: "canonical_lora", targetModules: "all-linear", excludeModules: "lm_head", adapterPath: "/shared/lora/init" } },
            },
        },
    },
    "host memory knobs (issue 23)": { values: { ...ONE_NODE, "miles-cluster:training": { offload: { rematerializeParams: true } } } },
    "everything else": {
        secret: true,
        values: {
            ...ONE_NODE,
            "miles-cluster:training": {
                entry: "train_async.py",
                model: { preset: "qwen3-30B-A3B", megatronToHfMode: "bridge" },
                layout: { actorNodes: 1, colocate: false, rolloutGpus: 8, gpusPerEngine: 4 },
                parallelism: { tp: 2, ep: 4, etp: 1, sequenceParallel: true, pp: 2, decoderFirstPipelineNumLayers: 23, recompute: { granularity: "full", method: "uniform", numLayers: 1 } },
                offload: { train: false, rollout: true, optimizerCpu: true },
                algorithm: { advantageEstimator: "reinforce_plus_plus", numStepsPerRollout: 2, epsClipHigh: 0.28, kl: { klCoef: 0.05 }, lrDecayStyle: "cosine" },
                rollout: { maxPromptLen: 2048, maxContextLen: 16384 },
                data: { rmType: "remote_rm", rmUrl: "http://rm.miles.svc:8000/score", chatTemplatePath: "/shared/data/template.jinja", labelKey: null },
                features: {
                    int4Qat: { enabled: true, groupSize: 64 },
                    fp8KvCache: true,
                    useRolloutLogprobs: true,
                    partialRollout: { enabled: true, overSamplingBatchSize: 64, dynamicSamplingFilterPath: "miles.rollout.filter_hub.dynamic_sampling_filters.check_reward_nonzero_std" },
                    faultTolerance: { enabled: true, healthCheckFirstWait: 600 },
                },
                wandb: { enabled: true, project: "rl", team: "ml", host: "https://wandb.example.com", apiKey: "k" },
                tensorboard: { enabled: true },
                prometheus: { enabled: true, port: 9091 },
                extraArgs: ["--rollout-top-k", "20"],
            },
        },
    },
};

describe("generated entrypoints use only real train.py flags", function () {
    let known: Map<string, FlagInfo>;
    before(function () {
        known = knownFlags(requireShared(this));
    });

    for (const [name, c] of Object.entries(CONFIGS)) {
        it(`${name}: every flag is in flags.tsv, megatron-flags.tsv or --sglang-<sglang-server-flags.tsv>, with well-formed values`, () => {
            const cfg = cfgOf(c.values, c.secret ? ["miles-cluster:training"] : []);
            const cmd = runOf(cfg).command;
            assert.deepEqual(argvProblems(cmd.argv, known), []);
            const generated = cmd.generated.filter((t) => t.startsWith("--"));
            assert.equal(new Set(generated).size, generated.length, `a generated flag repeats: ${generated.join(" ")}`);
        });
    }

    it("the checker itself rejects an unknown flag, a switch with a value and a bad choice", () => {
        assert.equal(argvProblems(["--no-such-flag"], known).length, 1);
        assert.equal(argvProblems(["--colocate", "1"], known).length, 1);
        assert.equal(argvProblems(["--advantage-estimator", "dpo"], known).length, 1);
        assert.equal(argvProblems(["--sglang-model-path", "/x"], known).length, 1, "skipped SGLang args are not accepted");
        assert.deepEqual(argvProblems(["--sglang-speculative-num-steps", "3", "--no-rope-fusion"], known), []);
    });

    it("every miles preset's architecture args pass the same checks in a full entrypoint", () => {
        const bad: string[] = [];
        for (const p of MODEL_PRESETS.filter((m) => m.source === "miles")) {
            const cfg = cfgOf({ ...ONE_NODE, "miles-cluster:training": { enabled: false, model: { preset: p.preset } } });
            for (const e of argvProblems(runOf(cfg).command.argv, known)) bad.push(`${p.preset}: ${e}`);
        }
        assert.deepEqual(bad, []);
    });

    it("the configs together emit every train.py flag the config reference names for a field (so each documented flag passes the checks above)", () => {
        const emitted = new Set(Object.values(CONFIGS).flatMap((c) => runOf(cfgOf(c.values, c.secret ? ["miles-cluster:training"] : [])).command.argv.filter((t) => t.startsWith("--"))));
        const documented = documentedFlags(stackConfigJsonSchema()).filter((f) => known.has(f));
        assert.ok(documented.length > 50, `only ${documented.length} documented train.py flags found`);
        const missing = documented.filter((f) => !emitted.has(f));
        assert.deepEqual(missing, [], "flags the config reference documents that no test config emits");
    });
});

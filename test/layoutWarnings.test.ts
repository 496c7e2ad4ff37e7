/**
 * Risky settings that plan (issue 21): a TP (TP×CP, ETP×EP) group larger than a node leaves NVLink for
 * EFA; data outside the shared volume is not in the pods. Both are warnings of the plan summary.
 */
import { strict as assert } from "node:assert";
import { parseConfig } from "../validation";
import { rawConfig } from "./harness";
import { resolveStack, runOf } from "../domain/stack";
import type { Evaluation } from "../plan/evaluate";
import { layoutWarnings } from "../domain/training/layoutWarnings";
import { trainingSection } from "../plan/sections/training";

function parsed(training: Record<string, unknown>, nodes: number) {
    const r = parseConfig(
        rawConfig({
            "aws:region": "us-east-1",
            "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes }] },
            "miles-cluster:training": { layout: { actorNodes: nodes }, resources: { memoryFitCheck: "warn" }, ...training },
        }),
        { stack: "t" },
    );
    assert.ok(r.config, r.problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
    return r.config;
}

const warnings = (training: Record<string, unknown>, nodes = 2): string[] => layoutWarnings(runOf(parsed(training, nodes)));

describe("layout warnings: groups that span nodes, data off the shared volume", () => {
    it("TP 16 on 8-GPU nodes warns that tensor parallelism leaves NVLink for EFA; TP 8 does not", () => {
        const w = warnings({ model: { preset: "qwen3-32B" }, parallelism: { tp: 16 } });
        assert.ok(w.some((x) => x.startsWith("training.parallelism.tp:") && /TP 16 .* 8 GPUs/.test(x) && /EFA/.test(x)), w.join("\n"));
        assert.deepEqual(warnings({ model: { preset: "qwen3-32B" }, parallelism: { tp: 8 } }), []);
    });

    it("TP × CP and ETP × EP larger than a node warn; within a node they do not", () => {
        assert.ok(warnings({ parallelism: { tp: 4, cp: 4 } }).some((x) => x.startsWith("training.parallelism.cp:") && x.includes("= 16")));
        assert.deepEqual(warnings({ parallelism: { tp: 4, cp: 2 } }), []);
        const moe = { model: { preset: "qwen3-30B-A3B" } };
        assert.ok(warnings({ ...moe, parallelism: { tp: 1, ep: 16, etp: 1 } }).some((x) => x.startsWith("training.parallelism.ep:") && x.includes("= 16")));
        assert.deepEqual(warnings({ ...moe, parallelism: { tp: 1, ep: 8, etp: 1 } }), []);
    });

    it("promptData and eval data outside /shared warn; under /shared they do not", () => {
        const w = warnings({ data: { promptData: "/data/prompts.jsonl", hfDataset: null }, eval: { interval: 5, datasets: [{ name: "aime", path: "/home/me/aime.jsonl" }] } }, 1);
        assert.ok(w.some((x) => x.startsWith("training.data.promptData:") && x.includes("/data/prompts.jsonl")), w.join("\n"));
        assert.ok(w.some((x) => x.startsWith("training.eval.datasets[0].path:")), w.join("\n"));
        assert.deepEqual(warnings({ data: { promptData: "/shared/data/p.jsonl", hfDataset: null }, eval: { interval: 5, datasets: [{ name: "aime", path: "/shared/data/aime.jsonl" }] } }, 1), []);
        assert.deepEqual(warnings({ data: { promptData: "/sharedx/p.jsonl", hfDataset: null } }, 1).length, 1, "a prefix of the mount path is not the mount");
    });

    it("the warnings reach the plan summary's training section", () => {
        const section = trainingSection(resolveStack(parsed({ model: { preset: "qwen3-32B" }, parallelism: { tp: 16 } }, 2)), {} as Evaluation);
        assert.ok(section.warnings?.some((x) => x.startsWith("training.parallelism.tp:")), JSON.stringify(section.warnings));
    });
});

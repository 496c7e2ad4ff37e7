/**
 * Finding a model preset (issue 21): suggestions by family and size as well as spelling, a message
 * that points to `miles-cluster presets` (the catalog files are not in the npm package), and a
 * `presets` listing whose PLANS column agrees with what `plan` does with each preset.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseOneNode } from "./harness";
import { presetSuggestions, unknownPresetMessage } from "../config/presets";
import { presetRows } from "../cli/presets";
import { MODEL_PRESETS } from "../catalog/models";

const parse = (training: Record<string, unknown>) => parseOneNode(training);

describe("model presets: discovery", () => {
    it("suggests the family's presets for a name the family does not use (glm4.5-air → glm4.5-106B-A12B)", () => {
        assert.ok(presetSuggestions("glm4.5-air").includes("glm4.5-106B-A12B"));
        assert.ok(presetSuggestions("GLM-4.5-Air").includes("glm4.5-106B-A12B"), "separators and case as Hugging Face writes the name");
        // Negative control: a word of no family and no near spelling suggests nothing.
        assert.deepEqual(presetSuggestions("zzzzzz"), []);
    });

    it("suggests the family's preset nearest in size first", () => {
        assert.equal(presetSuggestions("qwen3-7b")[0], "qwen3-8B");
        assert.equal(presetSuggestions("llama-3.1-70b")[0], "llama3.1-70B-Instruct");
        assert.equal(presetSuggestions("gpt-oss-120b")[0], "gpt-oss-20b", "the only size of the family");
        assert.deepEqual(presetSuggestions("QWEN3-4b"), ["qwen3-4B"], "the same name in another case means that one");
    });

    it("the config message names the suggestions and the presets command, not files outside the npm package", () => {
        const r = parse({ model: { preset: "glm4.5-air" } });
        const hit = r.problems.find((p) => p.path === "training.model.preset");
        assert.ok(hit, JSON.stringify(r.problems));
        assert.match(hit.message, /"glm4\.5-106B-A12B"/);
        assert.match(hit.message, /`miles-cluster presets glm4\.5`/);
        const shipped: string[] = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8")).files;
        for (const file of hit.message.match(/[\w./-]+\.(?:ts|tsv)\b/g) ?? []) {
            assert.ok(shipped.some((f) => file.startsWith(f)), `the message points to ${file}, which package.json "files" does not ship`);
        }
        assert.equal(unknownPresetMessage("glm4.5-air"), hit.message);
    });

    it("PLANS says what plan says about each preset: yes, with the settings it names, or no and why", function () {
        this.timeout(10_000);
        const { rows } = presetRows();
        assert.equal(rows.length, MODEL_PRESETS.length, "every preset is listed");
        const row = (name: string) => rows.find((r) => r.preset === name)!;
        assert.equal(row("glm4.5-106B-A12B").plans, "yes");
        assert.equal(row("minimax-m2").plans, "no");
        assert.match(row("minimax-m2").reason!, /MiniMax-M2 layer spec/);
        assert.equal(row("deepseek-v3").plans, "settings");
        assert.match(row("deepseek-v3").reason!, /hfCheckpointIsFp8/);
        assert.equal(row("deepseek-v3-5layer").plans, "settings", "a test slice has no repo to download");
        // What the listing says holds in a real stack file: a "yes" preset parses without a model problem,
        // a "no" preset is refused at training.model.preset, and the settings the reason names make the other plan.
        const modelProblems = (training: Record<string, unknown>) => parse(training).problems.filter((p) => p.path.startsWith("training.model."));
        for (const name of ["qwen3-8B", "glm4.5-106B-A12B", "llama3.1-8B-Instruct"]) assert.deepEqual(modelProblems({ model: { preset: name } }), [], name);
        for (const r of rows.filter((x) => x.plans === "no")) assert.ok(modelProblems({ model: { preset: r.preset } }).some((p) => p.path === "training.model.preset"), r.preset);
        assert.deepEqual(modelProblems({ model: { preset: "deepseek-v3", hfCheckpointIsFp8: true } }), []);
        assert.deepEqual(modelProblems({ model: { preset: "deepseek-v3-5layer", hfRepo: "org/model" } }), []);
    });

    it("a filter keeps presets by name or family; a filter nothing contains lists what it most likely means", () => {
        const moe = presetRows("qwen3-moe").rows;
        assert.ok(moe.length > 0 && moe.every((r) => r.family === "qwen3-moe"));
        const air = presetRows("glm4.5-air");
        assert.ok(air.suggested && air.rows.some((r) => r.preset === "glm4.5-106B-A12B"));
    });
});

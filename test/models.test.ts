/**
 * catalog/models.data.ts is generated from ../shared/miles/models.tsv by scripts/gen-models.ts and
 * committed (a user's clone works without ../shared). This test regenerates it in memory and fails
 * when the committed table has drifted from the TSV.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { modelsDataSource, parseModelsTsv } from "../catalog/modelsTsv";
import { MODEL_PRESETS } from "../catalog/models";
import { modelsExtDataSource, parseModelsExtTsv } from "../catalog/modelsExt";

const ROOT = path.resolve(__dirname, "..");
const TSV = path.resolve(ROOT, "..", "shared", "miles", "models.tsv");
const DATA = path.join(ROOT, "catalog", "models.data.ts");

/** Undefined when the committed file is what the generator writes for this TSV, else what to do. */
function drift(committed: string, tsvText: string): string | undefined {
    if (committed === modelsDataSource(tsvText)) return undefined;
    return "catalog/models.data.ts does not match ../shared/miles/models.tsv: run `npx tsx scripts/gen-models.ts` and commit the result";
}

describe("model presets: catalog/models.data.ts is fresh", () => {
    it("matches what scripts/gen-models.ts generates from ../shared/miles/models.tsv", function () {
        if (!fs.existsSync(TSV)) {
            console.log(`      (skipped: ${TSV} is absent, so freshness cannot be checked here)`);
            this.skip();
        }
        assert.equal(drift(fs.readFileSync(DATA, "utf8"), fs.readFileSync(TSV, "utf8")), undefined);
    });

    it("fails when one value of the TSV changes (negative control)", function () {
        if (!fs.existsSync(TSV)) this.skip();
        const tsv = fs.readFileSync(TSV, "utf8");
        const [header, first, ...rest] = tsv.split("\n");
        const cols = header.split("\t");
        const cells = first.split("\t");
        const i = cols.indexOf("num_layers");
        cells[i] = String(Number(cells[i]) + 1);
        const changed = [header, cells.join("\t"), ...rest].join("\n");
        assert.match(drift(fs.readFileSync(DATA, "utf8"), changed) ?? "", /run `npx tsx scripts\/gen-models\.ts`/);
    });

    it("the committed table parses to the presets the package uses (no preset lost or duplicated)", () => {
        const names = MODEL_PRESETS.map((m) => m.preset);
        assert.equal(new Set(names).size, names.length);
        if (fs.existsSync(TSV)) {
            const tsvNames = parseModelsTsv(fs.readFileSync(TSV, "utf8")).map((m) => m.preset);
            assert.deepEqual(names.slice(0, tsvNames.length), tsvNames, "models.tsv first, then catalog/models.ext.tsv's own presets");
        }
    });

    it("catalog/modelsExt.data.ts matches catalog/models.ext.tsv, and every extension row names a source", () => {
        const ext = fs.readFileSync(path.join(ROOT, "catalog", "models.ext.tsv"), "utf8");
        assert.equal(fs.readFileSync(path.join(ROOT, "catalog", "modelsExt.data.ts"), "utf8"), modelsExtDataSource(ext), "run `npx tsx scripts/gen-models.ts`");
        for (const e of parseModelsExtTsv(ext)) assert.ok(e.source.length > 10, `${e.preset} has no source`);
    });
});

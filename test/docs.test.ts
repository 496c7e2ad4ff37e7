import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "./harness";
import { CHARTS } from "../lib/versions";
import { configReferenceMarkdown, stackConfigJsonSchemaText } from "../config/reference";

describe("generated docs", () => {
    it("docs/config-reference.md matches the schemas (run `npm run docs` after changing config/)", () => {
        assert.equal(fs.readFileSync(path.join(ROOT, "docs", "config-reference.md"), "utf8"), configReferenceMarkdown());
    });

    it("schema/stack-config.schema.json matches the schemas (run `npm run docs` after changing config/)", () => {
        assert.equal(fs.readFileSync(path.join(ROOT, "schema", "stack-config.schema.json"), "utf8"), stackConfigJsonSchemaText());
    });

    it("the JSON Schema describes every config key and rejects nothing the stacks use", () => {
        const schema = JSON.parse(stackConfigJsonSchemaText());
        const props = schema.properties.config.properties;
        for (const k of ["aws:region", "miles-cluster:cluster", "miles-cluster:storage", "miles-cluster:addons", "miles-cluster:training"]) assert.ok(props[k], k);
        assert.equal(props["miles-cluster:cluster"].additionalProperties, false, "unknown keys must be flagged by editors too");
    });

    it("the README's add-on table names every pinned chart at its pinned version", () => {
        const rows = fs.readFileSync(path.join(ROOT, "README.md"), "utf8").split("\n").filter((l) => l.startsWith("| "));
        for (const pin of Object.values(CHARTS)) {
            const row = rows.find((r) => r.includes(`\`${pin.chart}\``));
            assert.ok(row, `README has no add-on row for ${pin.chart}`);
            assert.ok(row.includes(`\`${pin.version}\``), `README row for ${pin.chart} does not say ${pin.version}`);
        }
    });

    it("the README's quick start is the two offline commands", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        assert.ok(readme.includes("npm ci && npm run plan -- --stack dev"));
        assert.ok(readme.includes("npm test"));
    });
});

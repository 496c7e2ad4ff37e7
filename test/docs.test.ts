import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { planStack, ROOT } from "./harness";
import { parseConfig } from "../validation";
import { CHARTS } from "../catalog/versions";
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

    const readme = () => fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

    it("every config key the README names is a real key, written from its section (cluster., storage., addons., training.)", () => {
        const known = new Set(
            configReferenceMarkdown()
                .split("\n")
                .map((l) => /^\| `([^`]+)`/.exec(l)?.[1])
                .filter((k): k is string => k !== undefined)
                .map((k) => k.replace(/\[\]/g, "")),
        );
        const tokens = [...readme().matchAll(/`([^`\n]+)`/g)].map((m) => m[1].split(": ")[0].trim());
        const keyLike = tokens.filter((t) => /^[a-z][A-Za-z0-9]*(\[\])?(\.[a-z][A-Za-z0-9]*(\[\])?)+$/.test(t) && !/\.(ts|js|md|json|ya?ml|sock)$/.test(t));
        assert.ok(keyLike.length >= 8, `found only ${keyLike.join(", ")}`);
        for (const t of keyLike) assert.ok(known.has(t.replace(/\[\]/g, "")), `README names \`${t}\`, which is not a full config key (docs/config-reference.md)`);
    });

    it("the README's links to files in the repository resolve", () => {
        const links = [...readme().matchAll(/\]\(([^)#\s]+)/g)].map((m) => m[1]).filter((l) => !/^https?:/.test(l));
        assert.ok(links.length >= 5);
        for (const l of links) assert.ok(fs.existsSync(path.join(ROOT, l)), `README links to ${l}, which does not exist`);
    });

    it("the README's npm scripts exist and its `pulumi stack output` names are outputs of the program", async () => {
        const text = readme();
        const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
        for (const [, name] of text.matchAll(/npm run ([a-z:-]+)/g)) assert.ok(scripts[name], `README runs \`npm run ${name}\`, which package.json does not define`);
        const outputs = (await planStack("dev")).outputs;
        const named = [...text.matchAll(/pulumi stack output ([A-Za-z]+)/g)].map((m) => m[1]);
        assert.ok(named.includes("kubeconfig") && named.includes("trainingFollow"));
        for (const n of named) assert.ok(n in outputs, `README reads stack output ${n}; the program exports ${Object.keys(outputs).join(", ")}`);
    });

    it("the problem line the README shows is what plan prints for that mistake", () => {
        const shown = /\(e\.g\. `([^`]+)`\)/.exec(readme());
        assert.ok(shown, "README shows no example problem line");
        const r = parseConfig(
            { values: { "aws:region": "us-east-1", "miles-cluster:cluster": JSON.stringify({ availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge" }] }) }, secretKeys: [] },
            { stack: "dev" },
        );
        const lines = r.problems.map((p) => `${p.path}: ${p.message}`);
        assert.ok(lines.some((l) => l.startsWith(shown[1])), `README shows "${shown[1]}", plan prints:\n${lines.join("\n")}`);
    });
});

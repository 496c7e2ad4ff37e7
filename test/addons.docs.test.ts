import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "./harness";
import { CHARTS, IMAGES, imageRef } from "../catalog/versions";

/** docs/addons.md's add-on table must state exactly the pinned charts. */
describe("docs/addons.md", () => {
    const doc = fs.readFileSync(path.join(ROOT, "docs", "addons.md"), "utf8");
    const rows = doc
        .split("\n")
        .filter((l) => l.startsWith("| ") && /`(https|oci):\/\//.test(l))
        .map((l) => l.split("|").map((c) => c.trim()));

    it("has one table row per pinned chart, with its repo and version", () => {
        assert.equal(rows.length, Object.keys(CHARTS).length);
        for (const pin of Object.values(CHARTS)) {
            const row = rows.find((r) => r[3].startsWith(`\`${pin.chart}\``));
            assert.ok(row, `no row for ${pin.chart}`);
            // An OCI chart is its own full reference (no repository).
            if (pin.repo) assert.ok(row![3].includes(`(\`${pin.repo}\`)`), `${pin.chart}: repo ${pin.repo} not in "${row![3]}"`);
            assert.ok(row![4].startsWith(`\`${pin.version}\``), `${pin.chart}: version ${pin.version} not in "${row![4]}"`);
        }
    });

    it("names the CRD job's images as pinned", () => {
        assert.ok(doc.includes(imageRef(IMAGES.kubectl)));
        assert.ok(doc.includes(imageRef(IMAGES.curl)));
    });
});

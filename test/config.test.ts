import { strict as assert } from "node:assert";
import { parseConfig, type RawConfig } from "../config";

function raw(values: Record<string, unknown>, secretKeys: string[] = []): RawConfig {
    return { values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])), secretKeys };
}
const paths = (r: ReturnType<typeof parseConfig>) => r.problems.map((p) => p.path).sort();

describe("stack config", () => {
    const good = {
        "aws:region": "us-east-1",
        "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 2 }] },
    };

    it("fills defaults into one typed object", () => {
        const r = parseConfig(raw(good), { stack: "dev" });
        assert.deepEqual(r.problems, []);
        const g = r.config!.cluster.gpuNodeGroups[0];
        assert.equal(g.amiFamily, "al2023");
        assert.deepEqual(g.capacity, { type: "on-demand" });
        assert.equal(r.config!.storage.type, "fsx-lustre");
        assert.equal(r.config!.region, "us-east-1");
    });

    it("reports a typo'd key, a negative node count and an unknown instance type at once, by path", () => {
        const r = parseConfig(
            raw({
                "aws:region": "us-east-1",
                "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceTyp: "x", instanceType: "p4d.24xlarge", nodes: -1 }] },
            }),
            { stack: "dev" },
        );
        assert.equal(r.config, undefined);
        assert.deepEqual(paths(r), ["cluster.gpuNodeGroups[0].instanceTyp", "cluster.gpuNodeGroups[0].instanceType", "cluster.gpuNodeGroups[0].nodes"]);
        const it = r.problems.find((p) => p.path.endsWith("instanceType"))!;
        assert.match(it.message, /"p4d\.24xlarge" is not an H100\/H200 instance type; use one of p5\.48xlarge, p5e\.48xlarge, p5en\.48xlarge/);
        assert.match(r.problems.find((p) => p.path.endsWith("instanceTyp"))!.message, /did you mean "instanceType"/);
    });

    it("rejects unknown top-level keys in the miles-cluster namespace and suggests the right one", () => {
        const r = parseConfig(raw({ ...good, "miles-cluster:trainng": {} }), { stack: "dev" });
        assert.deepEqual(paths(r), ["miles-cluster:trainng"]);
        assert.match(r.problems[0].message, /did you mean "miles-cluster:training"/);
    });

    it("rejects a section that is not an object", () => {
        const r = parseConfig({ values: { ...raw(good).values, "miles-cluster:storage": "fsx" }, secretKeys: [] }, { stack: "dev" });
        assert.deepEqual(paths(r), ["storage"]);
    });

    it("rejects an availability zone outside the region and duplicate group names", () => {
        const r = parseConfig(
            raw({
                "aws:region": "us-east-1",
                "miles-cluster:cluster": {
                    availabilityZone: "us-west-2a",
                    gpuNodeGroups: [
                        { name: "a", instanceType: "p5.48xlarge", nodes: 1 },
                        { name: "a", instanceType: "p5en.48xlarge", nodes: 1 },
                    ],
                },
            }),
            { stack: "dev" },
        );
        assert.deepEqual(paths(r), ["cluster.availabilityZone", "cluster.gpuNodeGroups[1].name"]);
    });
});

import { strict as assert } from "node:assert";
import { parseConfig } from "../validation";
import { rawConfig } from "./harness";

const raw = rawConfig;
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

    const ZOD_INTERNAL = /Invalid input|Invalid option|Invalid discriminator|Too small|Too big|Unrecognized key|undefined|\[object Object\]|NaN/;
    const h100 = { name: "h100", instanceType: "p5.48xlarge", nodes: 1 };
    const problemAt = (r: ReturnType<typeof parseConfig>, path: string) => {
        const p = r.problems.filter((x) => x.path === path);
        assert.equal(p.length, 1, `expected one problem at ${path}, got:\n${r.problems.map((x) => `${x.path}: ${x.message}`).join("\n")}`);
        return p[0].message;
    };

    it("says a missing required field is required and what it takes, never 'undefined' or 'Invalid input'", () => {
        const r = parseConfig(raw({ "aws:region": "us-east-1", "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100" }] } }), { stack: "dev" });
        assert.match(problemAt(r, "cluster.gpuNodeGroups[0].nodes"), /^is required: a number/);
        assert.match(problemAt(r, "cluster.gpuNodeGroups[0].instanceType"), /^is required: one of "p5\.48xlarge", "p5e\.48xlarge", "p5en\.48xlarge"/);
        for (const p of r.problems) assert.doesNotMatch(p.message, ZOD_INTERNAL, `${p.path}: ${p.message}`);
    });

    it("names the wrong type and the value written, and spots quoted numbers", () => {
        const r = parseConfig(
            raw({
                "aws:region": "us-east-1",
                "miles-cluster:cluster": { availabilityZone: 42, gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: "two", rootVolumeGiB: true }] },
                "miles-cluster:storage": { capacityGiB: "1200" },
            }),
            { stack: "dev" },
        );
        assert.equal(problemAt(r, "cluster.availabilityZone"), "must be a string, got 42 (a number)");
        assert.equal(problemAt(r, "cluster.gpuNodeGroups[0].nodes"), 'must be a number, got "two" (a string)');
        assert.equal(problemAt(r, "cluster.gpuNodeGroups[0].rootVolumeGiB"), "must be a number, got true (a boolean)");
        assert.equal(problemAt(r, "storage.capacityGiB"), 'must be a number, got "1200" (a string); remove the quotes: 1200');
    });

    it("reports an unknown capacity type with the allowed ones, and a reservation id on a mode that takes none", () => {
        const r = parseConfig(
            raw({
                "aws:region": "us-east-1",
                "miles-cluster:cluster": {
                    availabilityZone: "us-east-1a",
                    gpuNodeGroups: [
                        { ...h100, name: "a", capacity: { type: "reserved" } },
                        { ...h100, name: "b", capacity: { type: "on-demand", reservationId: "cr-0123456789abcdef0" } },
                        { ...h100, name: "c", capacity: "spot" },
                    ],
                },
            }),
            { stack: "dev" },
        );
        assert.equal(problemAt(r, "cluster.gpuNodeGroups[0].capacity.type"), '"reserved" is not one of "on-demand", "spot", "capacity-reservation", "capacity-block"');
        assert.match(problemAt(r, "cluster.gpuNodeGroups[1].capacity.reservationId"), /is not used with type "on-demand" \(only with type "capacity-reservation" or "capacity-block"\)/);
        assert.equal(problemAt(r, "cluster.gpuNodeGroups[2].capacity"), "must be a mapping; write { type: spot }");
    });

    it("suggests the enum value a prefix or a case slip meant", () => {
        const r = parseConfig(raw({ ...good, "miles-cluster:storage": { type: "fsx" }, "miles-cluster:training": { entry: "Train.py" } }), { stack: "dev" });
        assert.match(problemAt(r, "storage.type"), /^"fsx" is not one of .*\(did you mean "fsx-lustre"\?\)$/);
        assert.match(problemAt(r, "training.entry"), /did you mean "train\.py"/);
    });

    it("reports a value of the wrong type once, not also as too short", () => {
        const r = parseConfig(raw({ "miles-cluster:cluster": { existing: { context: [] } }, "miles-cluster:storage": { type: "existing-claim", claimName: "c" } }), { stack: "byo" });
        assert.equal(problemAt(r, "cluster.existing.context"), "must be a string, got a list (0 items)");
    });

    it("rejects every kind of non-mapping section with the same readable message", () => {
        const r = parseConfig(
            { values: { "aws:region": "us-east-1", "miles-cluster:cluster": "[1,2]", "miles-cluster:storage": "5", "miles-cluster:addons": "null", "miles-cluster:training": "big" }, secretKeys: [] },
            { stack: "dev" },
        );
        assert.match(problemAt(r, "cluster"), /^must be a mapping \(key: value pairs indented under miles-cluster:cluster\), got a list \(2 items\)/);
        assert.match(problemAt(r, "storage"), /^must be a mapping .*, got 5 \(a number\)/);
        assert.match(problemAt(r, "addons"), /^is empty: give miles-cluster:addons its fields/);
        assert.match(problemAt(r, "training"), /^must be a mapping .*, got "big" \(a string\)/);
    });

    it("reports cross-field cluster rules together with field problems of another section", () => {
        const r = parseConfig(
            raw({
                "aws:region": "us-east-1",
                "miles-cluster:cluster": { availabilityZone: "us-west-2a", gpuNodeGroups: [h100] },
                "miles-cluster:training": { layot: {} },
            }),
            { stack: "dev" },
        );
        assert.deepEqual(paths(r), ["cluster.availabilityZone", "training.layot"]);
    });

    it("reports a plaintext secret even when its section has other problems", () => {
        const r = parseConfig(raw({ ...good, "miles-cluster:training": { hfToken: "hf_abc", layot: {} } }), { stack: "dev" });
        assert.deepEqual(paths(r), ["training.hfToken", "training.layot"]);
    });

    it("never echoes the value of a secret field in a message", () => {
        for (const hfToken of [987654321, "", ["hf_LISTED"], { token: "hf_NESTED" }]) {
            const r = parseConfig(raw({ ...good, "miles-cluster:training": { hfToken, wandb: { apiKey: 123454321 } } }, ["miles-cluster:training"]), { stack: "dev" });
            assert.ok(r.problems.some((p) => p.path === "training.hfToken"), JSON.stringify(hfToken));
            const text = r.problems.map((p) => p.message).join("\n");
            for (const secret of ["987654321", "hf_LISTED", "hf_NESTED", "123454321"]) assert.ok(!text.includes(secret), `${secret} leaked:\n${text}`);
        }
    });

    it("catches an aws:region typo, a malformed region and a misspelt namespace instead of silently using defaults", () => {
        const r = parseConfig(
            raw({ "aws:regin": "us-east-1", "aws:region": "12", "mile-cluster:training": {}, "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [h100] } }),
            { stack: "dev" },
        );
        assert.match(problemAt(r, "aws:regin"), /did you mean "aws:region"/);
        assert.match(problemAt(r, "aws:region"), /"12" is not an AWS region name/);
        assert.match(problemAt(r, "mile-cluster:training"), /write the key as miles-cluster:training/);
    });

    it("gives every broken config readable problems: section-rooted paths, no zod-internal text", () => {
        const broken: Array<Record<string, unknown>> = [
            { "miles-cluster:cluster": { gpuNodeGroups: {} , network: "create", endpoint: [] } },
            { "miles-cluster:cluster": { availabilityZone: null, gpuNodeGroups: [null, { name: 1 }] } },
            { "miles-cluster:storage": { type: 3, links: [], throughputPerTiB: [250], bucket: { name: "" } } },
            { "miles-cluster:addons": { kuberay: true, dcgmExporter: { enable: false }, namespace: "" } },
            { "miles-cluster:training": { layout: { actorNodes: 0, gpusPerEngine: 1.5 }, model: { custom: { args: [] } }, wandb: { host: "not a url" }, extraEnv: { "1X": "a" } } },
            { "miles-cluster:cluster": { network: { type: "existing", vpcId: 5 } } },
        ];
        for (const values of broken) {
            const r = parseConfig(raw({ "aws:region": "us-east-1", ...values }), { stack: "dev" });
            assert.ok(r.problems.length > 0);
            for (const p of r.problems) {
                assert.match(p.path, /^(cluster|storage|addons|training)([.[]|$)|^[a-z-]+:/, p.path);
                assert.doesNotMatch(p.message, ZOD_INTERNAL, `${p.path}: ${p.message}`);
                assert.ok(p.message.length > 10, `${p.path}: ${p.message}`);
            }
        }
    });
});

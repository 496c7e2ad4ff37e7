import { strict as assert } from "node:assert";
import { one, planConfig } from "./harness";
import { RAYJOB_REPLACE_ON_CHANGES } from "../domain/training/rayJob";

const BASE = {
    "aws:region": "us-east-1",
    "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] },
};

/** Without a queue: in a Kueue queue, Kueue owns `suspend` (test/kueue.test.ts). */
async function rayJobSpec(lifecycle: Record<string, unknown>): Promise<Record<string, unknown>> {
    const p = await planConfig({ ...BASE, "miles-cluster:addons": { kueue: { enabled: false } }, "miles-cluster:training": { lifecycle } });
    return one(p, "kubernetes:ray.io/v1:RayJob").inputs.spec as Record<string, unknown>;
}

describe("RayJob lifecycle on config changes", function () {
    this.timeout(30000);

    it("recreates the job on a change of any spec field it sets, except suspend", async () => {
        const spec = await rayJobSpec({ activeDeadlineSeconds: 86400, suspend: true });
        const replaced = new Set(RAYJOB_REPLACE_ON_CHANGES);
        for (const key of Object.keys(spec)) {
            if (key === "suspend") assert.ok(!replaced.has("spec.suspend"), "pausing must not delete the RayJob");
            else assert.ok(replaced.has(`spec.${key}`), `a change of spec.${key} would be ignored by KubeRay on a running job`);
        }
    });

    it("writes suspend explicitly, so resuming is an in-place change", async () => {
        assert.equal((await rayJobSpec({ suspend: true })).suspend, true);
        assert.equal((await rayJobSpec({})).suspend, false);
    });
});

/** The pin table holds exact releases only: no moving tag, branch or bare major version (issue 16). */
import { strict as assert } from "node:assert";
import { CHARTS, IMAGES } from "../catalog/versions";
import { clusterAutoscalerValues } from "../domain/lifecycle/autoscaling";

/** Tags that are republished or follow a branch, and versions that name a series rather than a release. */
export function isMovingRef(ref: string): boolean {
    const r = ref.toLowerCase();
    if (["latest", "main", "master", "dev", "develop", "nightly", "edge", "stable", "head", "release"].includes(r)) return true;
    if (/^(latest|dev|nightly|main)[-_.]/.test(r)) return true; // latest-cu12, dev-cu12, nightly-2026...
    return !/^v?\d+\.\d+\.\d+([-+.][0-9a-z.-]+)?$/.test(r); // 1, v2, 1.34 or anything not X.Y.Z
}

describe("pin table (catalog/versions.ts)", () => {
    it("recognises moving refs", () => {
        for (const m of ["latest", "main", "v2", "1", "1.34", "latest-cu12", "dev-cu12", "nightly"]) assert.ok(isMovingRef(m), m);
        for (const e of ["v0.1.0", "1.7.0", "v0.5.30", "8.15.0", "88.5.3", "1.2.3-rc.1"]) assert.ok(!isMovingRef(e), e);
    });

    it("every image tag and chart version is an exact release", () => {
        for (const [k, i] of Object.entries(IMAGES)) assert.ok(!isMovingRef(i.tag), `IMAGES.${k}: ${i.repository}:${i.tag} is a moving tag`);
        for (const [k, c] of Object.entries(CHARTS)) assert.ok(!isMovingRef(c.version), `CHARTS.${k}: ${c.chart} ${c.version} is not an exact release`);
    });
});

describe("Cluster Autoscaler image pin (issue 21)", () => {
    it("the chart deploys the pinned patch release, not the chart's appVersion v1.35.0", () => {
        const v = clusterAutoscalerValues("c", "us-east-1", "sa") as { image: { repository: string; tag: string } };
        assert.deepEqual(v.image, { repository: "registry.k8s.io/autoscaling/cluster-autoscaler", tag: "v1.35.2" });
        assert.equal(v.image.tag, IMAGES.clusterAutoscaler.tag);
    });
});

import { strict as assert } from "node:assert";
import { versionSupport } from "../domain/lifecycle/versionSupport";
import { DEFAULT_KUBERNETES_VERSION, EKS_VERSIONS } from "../catalog/eksVersions";

describe("EKS version support", () => {
    const day = (d: string) => new Date(`${d}T12:00:00Z`);

    it("the default version is in standard support on 2026-12-01, and 1.34 (the old default) leaves it the next day", () => {
        assert.equal(versionSupport(DEFAULT_KUBERNETES_VERSION, day("2026-12-01")).phase, "standard");
        assert.equal(EKS_VERSIONS["1.34"].standardSupportEnds, "2026-12-02");
        // No version in the calendar newer than the default is in standard support on 2026-12-01.
        const newer = Object.entries(EKS_VERSIONS).filter(([v, s]) => Number(v.split(".")[1]) > Number(DEFAULT_KUBERNETES_VERSION.split(".")[1]) && s.released <= "2026-12-01");
        assert.deepEqual(newer, []);
    });

    it("warns within 90 days of the end of standard support, with the extended-support price", () => {
        const far = versionSupport("1.35", day("2026-12-01"));
        assert.equal(far.warning, undefined);
        assert.equal(far.usdPerHour, 0.1);
        const near = versionSupport("1.34", day("2026-11-01"));
        assert.equal(near.phase, "standard");
        assert.equal(near.daysOfStandardSupportLeft, 31);
        assert.match(near.warning!, /leaves standard support on 2026-12-02 \(in 31 days\).*\$0\.6\/hour \(\+\$0\.50\/hour\)/);
        assert.match(versionSupport("1.35", day("2026-12-27")).warning!, /in 90 days/);
        assert.equal(versionSupport("1.35", day("2026-12-26")).warning, undefined);
    });

    it("a version past standard support is priced at the extended rate in the cost line", () => {
        const s = versionSupport("1.34", day("2026-12-03"));
        assert.equal(s.phase, "extended");
        assert.equal(s.usdPerHour, 0.6);
        assert.match(s.warning!, /extended support until 2027-12-02/);
        assert.equal(versionSupport("1.31", day("2026-12-01")).phase, "ended");
    });

    it("an unknown version is flagged, not silently priced", () => {
        const s = versionSupport("1.29", day("2026-12-01"));
        assert.equal(s.phase, "unknown");
        assert.match(s.warning!, /not in miles-cluster's EKS calendar/);
    });
});

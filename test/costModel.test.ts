/**
 * One cost model per plan (issue 21): the run's "at risk" line prices a group's time at the rate the
 * group's own cost line uses (spot assumption, your spot figure, the block rate, or a labelled
 * reference), a bring-your-own plan gives GPU-hours instead of dollars, and a region other than the
 * one the prices are quoted for says the estimate is a fallback.
 */
import { strict as assert } from "node:assert";
import { parseConfig } from "../validation";
import { rawConfig, planConfig } from "./harness";
import { runOf } from "../domain/stack";
import { lifecyclePlan } from "../plan/sections/lifecycle";
import { groupCost } from "../domain/lifecycle/cost";
import { renderText } from "../plan/render";
import { instanceFacts } from "../catalog/instances";
import { SPOT_ASSUMED_FRACTION_OF_ON_DEMAND } from "../catalog/prices";
import type { MilesConfig } from "../config";

const cfgOf = (cluster: Record<string, unknown>, extra: Record<string, unknown> = {}): MilesConfig => {
    const r = parseConfig(rawConfig({ "aws:region": "us-east-1", "miles-cluster:cluster": cluster, "miles-cluster:training": {}, ...extra }), { stack: "t" });
    assert.ok(r.config, JSON.stringify(r.problems));
    return r.config;
};
const group = (capacity: Record<string, unknown>) => ({ availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1, capacity }] });
const atRisk = (cfg: MilesConfig) => {
    const lc = lifecyclePlan(cfg, runOf(cfg), new Date("2026-12-07T00:00:00Z"));
    return { line: lc.lines.find(([k]) => k === "at risk on a failure")?.[1] ?? "", data: lc.data.atRisk as Record<string, number | string> };
};
const onDemand = instanceFacts("p5.48xlarge").onDemandUsdPerHour.usd;
// The default run: saveInterval 20 rollouts on 1 node; $ per minute of rollout time = 20 × rate / 60.
const perMinute = (usdPerNodeHour: number) => Math.round(((20 * usdPerNodeHour) / 60) * 100) / 100;

describe("cost model: one rate per group in the whole plan", () => {
    it("a spot group's at-risk line uses the spot assumption, as its cost line does", () => {
        const cfg = cfgOf(group({ type: "spot" }));
        const r = atRisk(cfg);
        assert.equal(r.data.usdPerRolloutMinute, perMinute(onDemand * SPOT_ASSUMED_FRACTION_OF_ON_DEMAND));
        assert.match(r.line, /spot assumption/);
        assert.match(r.line, /spot reclaim/);
        assert.equal(groupCost(cfg.cluster.gpuNodeGroups[0]).usdPerNodeHour, onDemand * SPOT_ASSUMED_FRACTION_OF_ON_DEMAND);
        // Negative control: an on-demand group is priced on demand, and no spot reclaim is mentioned.
        const od = atRisk(cfgOf(group({ type: "on-demand" })));
        assert.equal(od.data.usdPerRolloutMinute, perMinute(onDemand));
        assert.doesNotMatch(od.line, /spot/);
    });

    it("a spot group with your figure uses it", () => {
        assert.equal(atRisk(cfgOf(group({ type: "spot", usdPerHour: 30 }))).data.usdPerRolloutMinute, perMinute(30));
    });

    it("a Capacity Block without its price is labelled a reference price, in its idle line and its at-risk line", () => {
        const cfg = cfgOf(group({ type: "capacity-block", reservationId: "cr-0123456789abcdef0" }));
        const gc = groupCost(cfg.cluster.gpuNodeGroups[0]);
        assert.match(gc.idle, /reference price, not the block's/);
        assert.doesNotMatch(gc.idle, /\$[\d.]+\/h paid up front/);
        assert.match(atRisk(cfg).line, /REFERENCE price/);
        const priced = cfgOf(group({ type: "capacity-block", reservationId: "cr-0123456789abcdef0", upfrontPriceUsd: 2400, window: { start: "2026-12-10T11:30:00Z", end: "2026-12-11T11:30:00Z" } }));
        assert.match(atRisk(priced).line, /Capacity Block rate/);
        assert.equal(atRisk(priced).data.usdPerRolloutMinute, perMinute(2400 / 24));
    });

    it("a bring-your-own plan gives GPU-hours, no dollars, and no $0.00/hour estimate", async function () {
        this.timeout(20_000);
        const byo = {
            "miles-cluster:cluster": { existing: { context: "c", gpuNodes: { name: "h100", instanceType: "p5.48xlarge", gpusPerNode: 8, efaPerNode: 32, nodes: 2 } } },
            "miles-cluster:storage": { type: "existing-claim", claimName: "shared" },
            "miles-cluster:training": {},
        };
        const p = await planConfig(byo);
        const text = renderText(p);
        // The one-node run on two nodes leaves 8 GPUs idle: counted in GPU-hours, not priced (was "≈ $55.04/h on-demand").
        const idle = text.split("\n").find((l) => l.includes("GPUs idle")) ?? "";
        assert.match(idle, /8 GPUs idle \(8 GPU-hours per hour; priced by the cluster's owner\)/, text);
        assert.doesNotMatch(idle, /\$/);
        const line = text.split("\n").find((l) => l.includes("at risk on a failure")) ?? "";
        assert.match(line, /GPU-hours per minute of rollout time/);
        assert.doesNotMatch(line, /\$/);
        assert.doesNotMatch(text, /Estimated cost {2}\$0\.00\/hour/);
        assert.match(text, /Estimated cost {2}not estimated/);
    });

    it("a region other than the prices' says the estimate is a us-east-1 fallback", async function () {
        this.timeout(20_000);
        const p = await planConfig({ "aws:region": "eu-west-1", "miles-cluster:cluster": { availabilityZone: "eu-west-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] } });
        const sources = (p.summary as unknown as { cost: { sources: string[] } }).cost.sources;
        assert.ok(sources.some((s) => /us-east-1 reference figures .*eu-west-1/.test(s)), sources.join("\n"));
        const home = await planConfig({ "aws:region": "us-east-1", "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] } });
        assert.ok(!(home.summary as unknown as { cost: { sources: string[] } }).cost.sources.some((s) => /fallback/.test(s)), "negative control: us-east-1 needs no fallback note");
    });
});

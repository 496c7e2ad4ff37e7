/**
 * Deployment simulation (issue 22): a spot reclaim mid-run, on every committed stack with a spot GPU
 * group — the notice reaches the node as the handler's taint, the run's save is triggered within the
 * window, the node drains, the run resumes from that save on a replacement node, the attempt record
 * says "spot reclaim", and every wait on the way is bounded. The model and its upstream sources are
 * test/sim/spotReclaim.ts; the timeline is docs/lifecycle.md "Spot reclaim".
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Plan } from "../../plan/run";
import { ROOT } from "../harness";
import { STACKS, stackPlan } from "./world";
import { routeProblems, selects, spotPathOf, spotReclaim, watcherProblems, type ReclaimResult } from "./spotReclaim";
import { SPOT_NOTICE_SECONDS } from "../../catalog/spotInterruption";
import { parse as parseYaml } from "yaml";

const fixture = (f: string) => JSON.parse(fs.readFileSync(path.join(ROOT, "test", "fixtures", "spot", f), "utf8"));
const ITN = fixture("ec2-spot-instance-interruption-warning.json");
const REBALANCE = fixture("ec2-instance-rebalance-recommendation.json");
const timeline = (r: ReclaimResult) => r.steps.map((s) => `${String(s.t).padStart(5)} s  ${s.what}`).join("\n");

/** Stacks whose config has a spot GPU group (read from the stack files, so a new spot stack is covered without editing this test). */
const SPOT_STACKS = STACKS.filter((s) => {
    const cfg = parseYaml(fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${s}.yaml`), "utf8"))?.config?.["miles-cluster:cluster"];
    return (cfg?.gpuNodeGroups ?? []).some((g: { capacity?: { type?: string } }) => g.capacity?.type === "spot");
});

describe("deployment simulation: a spot reclaim mid-run (issue 22)", function () {
    this.timeout(120000);

    it("at least one committed stack runs on spot (spec-mtp), and a stack without spot has none of the machinery", async () => {
        assert.ok(SPOT_STACKS.includes("spec-mtp"), SPOT_STACKS.join(","));
        const dev = spotPathOf(await stackPlan("dev"));
        assert.deepEqual([dev.rules.length, dev.targets.length, dev.queue, dev.nth, dev.watchers.length], [0, 0, undefined, undefined, 0]);
    });

    for (const stack of SPOT_STACKS) {
        describe(stack, () => {
            let p: Plan;
            let writeSeconds: number;
            before(async () => {
                p = await stackPlan(stack);
                // The plan's own figure (plan/sections/lifecycle.ts: the storage sizing's checkpoint write time).
                const find = (o: unknown): Array<{ checkpointWriteSeconds?: number }> | undefined => {
                    if (o === null || typeof o !== "object") return undefined;
                    const x = o as Record<string, unknown>;
                    if (Array.isArray(x.spotReclaim)) return x.spotReclaim as Array<{ checkpointWriteSeconds?: number }>;
                    for (const v of Object.values(x)) {
                        const f = find(v);
                        if (f) return f;
                    }
                    return undefined;
                };
                const spot = find(p.summary?.training) ?? [];
                writeSeconds = spot[0]?.checkpointWriteSeconds ?? 60;
            });

            it("the warning and the rebalance recommendation reach the handler through EventBridge and the queue; each watcher serves its run", () => {
                const sp = spotPathOf(p);
                assert.deepEqual(routeProblems(sp, ITN), []);
                assert.deepEqual(routeProblems(sp, REBALANCE), []);
                assert.ok(sp.watchers.length > 0, "no spot save watcher");
                for (const w of sp.watchers) assert.deepEqual(watcherProblems(p, w), [], w.metadata.name);
                // Negative controls: an event no rule takes, and a handler that does not taint.
                assert.match(routeProblems(sp, { ...ITN, source: "aws.health" }).join(), /no EventBridge rule/);
                assert.match(routeProblems({ ...sp, nth: { ...sp.nth, taintNode: false } }, ITN).join(), /does not taint/);
            });

            it("a rebalance recommendation ahead of the warning: the save is triggered and written, the node drains, the run resumes from it on a replacement; attempt 1 ends 'spot reclaim'", () => {
                const r = spotReclaim(p, ITN, REBALANCE, { rebalanceLeadSeconds: 600, stepRemainingSeconds: 60, writeSeconds, replacementSeconds: 420 });
                assert.deepEqual(r.problems, [], timeline(r));
                assert.ok(r.triggeredAt !== undefined && r.triggeredAt < 0, timeline(r));
                assert.equal(r.resumedFromTriggeredSave, true, timeline(r));
                assert.match(timeline(r), /drain: evictions of the Ray pods refused by PDB/);
                assert.equal(r.attempts[0].endReason, "spot reclaim", JSON.stringify(r.attempts[0]));
                assert.match(r.attempts[0].endBasis, /rebalance-recommendation saved at .*resumes from the save written at/);
                assert.ok(r.attempts[0].excludedNodes.length > 0);
                // GPU-hours count from the Kueue admission (attempt 1) and, for the retry within the same admission, from attempt 1's end.
                assert.deepEqual(r.attempts.map((a) => a.gpusFromBasis), ["admission", "previous attempt"]);
                for (const w of r.waits) assert.ok(Number.isFinite(w.bound), `${w.what} waits without bound`);
            });

            it("the warning alone: the save is triggered within the window; it is written only if the step and the write end before the interruption, else the run resumes from its last periodic save and the stale sentinel is removed", () => {
                const fits = spotReclaim(p, ITN, REBALANCE, { stepRemainingSeconds: 20, writeSeconds: 40, replacementSeconds: 420 });
                assert.deepEqual(fits.problems, [], timeline(fits));
                assert.ok(fits.triggeredAt! <= SPOT_NOTICE_SECONDS - 60, `triggered at ${fits.triggeredAt} s: ${timeline(fits)}`);
                assert.equal(fits.resumedFromTriggeredSave, true, timeline(fits));
                assert.match(fits.attempts[0].endBasis, /spot-interruption saved at/);
                // With the stack's own checkpoint write time (the plan's storage sizing).
                const plan = spotReclaim(p, ITN, REBALANCE, { stepRemainingSeconds: 20, writeSeconds, replacementSeconds: 420 });
                assert.equal(plan.resumedFromTriggeredSave, 20 + writeSeconds < SPOT_NOTICE_SECONDS - (plan.triggeredAt ?? 0), timeline(plan));
                if (!plan.resumedFromTriggeredSave) {
                    assert.match(timeline(plan), /did not save before the deadline/);
                    assert.match(plan.attempts[0].endBasis, /spot-interruption not-saved at .*resumes from the last periodic save/);
                }
                assert.equal(plan.attempts[0].endReason, "spot reclaim");
            });

            it("negative control: without the watcher, the drain and the preStop alone never save (the PDB keeps the pods until EC2 takes the node)", () => {
                const r = spotReclaim(p, ITN, REBALANCE, { rebalanceLeadSeconds: 600, stepRemainingSeconds: 20, writeSeconds: 40, replacementSeconds: 420, withoutWatcher: true });
                assert.equal(r.triggeredAt, undefined, timeline(r));
                assert.equal(r.resumedFromTriggeredSave, false);
                assert.notEqual(r.attempts[0].endReason, "spot reclaim", "without the watcher's events the record cannot tell a reclaim");
            });
        });
    }

    it("label selectors as the watcher writes them (negative control for `selects`)", () => {
        assert.ok(selects("a=1,b in (x,y)", { a: "1", b: "y" }));
        assert.ok(!selects("a=1,b in (x,y)", { a: "1", b: "z" }));
        assert.ok(!selects("a=1", { a: "2" }));
    });
});

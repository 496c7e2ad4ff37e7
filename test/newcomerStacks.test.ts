/**
 * Issue 21, "Done when": seven stacks a newcomer wrote from README.md and docs/ only
 * (test/fixtures/newcomer-stacks/, each file names the doc sections it used and the tries it took)
 * plan without a problem, and each plan states what a first `pulumi up` does, in order, ending with
 * the RayJob of every run. The files are read the way `plan --config-file` reads them (the project's
 * namespace, the keys Pulumi.yaml requires) and planned in process, once each.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { NAMESPACE } from "../config";
import { plan, type Plan } from "../plan/run";
import type { FirstDeployStep } from "../plan/firstDeploy";
import { missingProjectKeys, projectNameFor, readStackFile } from "../plan/stackFile";
import { ROOT } from "./harness";

const DIR = path.join(ROOT, "test", "fixtures", "newcomer-stacks");

/**
 * The stacks of issue 21, the runs each must start, and whether its first deployment builds the EFA
 * image (docs/first-deployment.md step 7: a run spanning several EFA nodes of a cluster the stack creates).
 */
const STACKS: Record<string, { runs: string[]; efaBuild: boolean }> = {
    "qwen3-8b-spot": { runs: ["qwen3-8b-grpo"], efaBuild: true },
    "glm-air-block": { runs: ["glm45-air-fp8"], efaBuild: true },
    "dsv3-int4": { runs: ["dsv3-int4-qat"], efaBuild: true },
    "llama-onpolicy": { runs: ["llama31-8b-onpolicy"], efaBuild: false },
    "byo-pvc": { runs: ["qwen3-4b-byo"], efaBuild: false },
    "moe-fewest": { runs: ["qwen3-235b-fewest"], efaBuild: true },
    "two-queued": { runs: ["grpo-baseline", "grpo-kl"], efaBuild: false },
};

/** As `plan --config-file` does (cli/main.ts): the file's project namespace, then the keys Pulumi.yaml requires. */
async function planFile(name: string): Promise<Plan> {
    const file = path.join(DIR, `Pulumi.${name}.yaml`);
    const raw = readStackFile(file, projectNameFor(file, NAMESPACE));
    const p = await plan(name, raw);
    return { ...p, problems: [...missingProjectKeys(file, raw), ...p.problems] };
}

/** Every step `n` comes after, directly or through other steps. */
function earlierSteps(steps: FirstDeployStep[], n: number): Set<number> {
    const byN = new Map(steps.map((s) => [s.n, s]));
    const seen = new Set<number>();
    const todo = [...(byN.get(n)?.after ?? [])];
    while (todo.length > 0) {
        const m = todo.pop()!;
        if (seen.has(m)) continue;
        seen.add(m);
        todo.push(...(byN.get(m)?.after ?? []));
    }
    return seen;
}

const isRunStep = (s: FirstDeployStep) => s.type.startsWith("miles-cluster:training:") || s.type === "kubernetes:ray.io/v1:RayJob";

describe("newcomer stacks (issue 21): written from the docs, each plans and states its first deployment", function () {
    const plans = new Map<string, Plan>();
    before(async function () {
        this.timeout(120000);
        // Planned once each (about 1 s per stack on an idle machine; moe-fewest runs the layout search).
        for (const name of Object.keys(STACKS)) plans.set(name, await planFile(name));
    });

    for (const [name, { runs, efaBuild }] of Object.entries(STACKS)) {
        it(`${name}: plans with no problem, and its first \`pulumi up\` ends with the RayJob of ${runs.join(" and ")}`, () => {
            const p = plans.get(name)!;
            assert.deepEqual(p.problems.map((x) => `${x.path}: ${x.message}`), [], `${name} should plan (exit 0)`);
            const steps = p.summary?.firstDeploy.steps ?? [];
            assert.ok(steps.length > 0, "the plan states the first deployment's steps");
            assert.deepEqual(steps.map((s) => s.n), steps.map((_, i) => i + 1), "steps are numbered in order");

            const rayJobs = steps.filter((s) => s.type === "kubernetes:ray.io/v1:RayJob");
            assert.equal(rayJobs.length, runs.length, `one RayJob step per run: ${rayJobs.map((s) => s.step).join(", ")}`);
            const runSteps = steps.filter(isRunStep);
            assert.deepEqual(runSteps.slice(-rayJobs.length), rayJobs, "the RayJobs are the last run steps");

            const build = steps.find((s) => s.type === "miles-cluster:images:EfaImageBuild");
            assert.equal(build !== undefined, efaBuild, efaBuild ? "the deployment builds its EFA image" : "no EFA image build");
            for (const rj of rayJobs) {
                const prefix = rj.step.replace(/^RayJob /, "").replace(/-rayjob$/, "");
                const prep = steps.find((s) => s.step === `ModelPrep ${prefix}-prep`);
                assert.ok(prep, `${rj.step}: its run has a model preparation step`);
                const earlier = earlierSteps(steps, rj.n);
                assert.ok(earlier.has(prep.n), `${rj.step} comes after its model preparation (step ${prep.n})`);
                // The EFA image the deployment builds comes before anything that pulls it.
                if (build) assert.ok(earlierSteps(steps, prep.n).has(build.n), `${prep.step} waits for ${build.step}`);
            }
        });
    }

    it("byo-pvc on both EFA nodes: the plain-image warning gives a fix a bring-your-own cluster accepts (not efa-build, which it refuses)", async () => {
        const file = path.join(DIR, "Pulumi.byo-pvc.yaml");
        const raw = readStackFile(file, projectNameFor(file, NAMESPACE));
        const training = JSON.parse(raw.values["miles-cluster:training"]) as { layout: Record<string, unknown> };
        training.layout.actorNodes = 2;
        const p = await plan("byo-pvc-two", { ...raw, values: { ...raw.values, "miles-cluster:training": JSON.stringify(training) } });
        assert.deepEqual(p.problems, []);
        const w = (p.summary?.warnings ?? []).find((x) => x.includes("NCCL will fall back to TCP"));
        assert.ok(w, "the plain image on two EFA nodes is flagged");
        assert.doesNotMatch(w, /source: efa-build/);
        assert.match(w, /images\/miles-efa .*training\.image\.source: named/);
        // The fix it names no longer is one plan refuses: efa-build on cluster.existing.
        (training as { image?: unknown }).image = { source: "efa-build" };
        const refused = await plan("byo-pvc-two", { ...raw, values: { ...raw.values, "miles-cluster:training": JSON.stringify(training) } });
        assert.match(refused.problems.map((x) => `${x.path}: ${x.message}`).join("\n"), /training\.image\.source: "efa-build" .*use source "named"/);
    });

    it("refuses what the docs say miles cannot do: try 1 of llama-onpolicy (true on-policy on Llama-3.1-8B), with the upstream reason", async () => {
        const file = path.join(DIR, "Pulumi.llama-onpolicy.yaml");
        const raw = readStackFile(file, projectNameFor(file, NAMESPACE));
        const training = JSON.parse(raw.values["miles-cluster:training"]) as { features: Record<string, unknown> };
        training.features = { trueOnPolicy: true };
        const p = await plan("llama-onpolicy-try1", { ...raw, values: { ...raw.values, "miles-cluster:training": JSON.stringify(training) } });
        const refusal = p.problems.find((x) => x.path === "training.features.trueOnPolicy");
        assert.ok(refusal, `true on-policy on Llama-3.1-8B is refused: ${p.problems.map((x) => x.message).join("; ")}`);
        // miles v0.1.0 miles/true_on_policy/model_profiles.py: QWEN3_DENSE_PROFILE is the only profile.
        assert.match(refusal.message, /model_profiles\.py.*qwen3-0\.6B, qwen3-4B, qwen3-4B-Instruct-2507/);
    });
});

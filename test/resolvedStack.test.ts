/**
 * Resolve once (issue 20): the run validation judged, the objects the program registered and the plan's
 * summary are one resolution, for every committed stack and run; and the defects partial resolutions
 * caused (a run resolved without its platform or monitoring) stay fixed.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { parseConfig } from "../validation";
import { NAMESPACE } from "../config";
import { readStackFile } from "../plan/stackFile";
import { runMemoryFit } from "../domain/training/memoryFitRun";
import { resolveStack } from "../domain/stack";
import { UNKNOWN } from "../plan/evaluate";
import { ROOT } from "./harness";
import { STACKS, objectsOf, stackPlan } from "./sim/world";

type Obj = Record<string, any>;

/** A committed stack file's raw config with some sections replaced (plain objects, as Pulumi passes them). */
function stackRaw(name: string, change: (values: Record<string, Obj>) => void) {
    const raw = readStackFile(path.join(ROOT, "stacks", `Pulumi.${name}.yaml`), NAMESPACE);
    const values: Record<string, Obj> = Object.fromEntries(Object.entries(raw.values).map(([k, v]) => [k, (() => { try { return JSON.parse(v); } catch { return v; } })()]));
    change(values);
    return { ...raw, values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])) };
}

const problemsOf = (name: string, change: (v: Record<string, Obj>) => void) => parseConfig(stackRaw(name, change), { project: NAMESPACE, stack: name }).problems;

describe("resolve once: validation, the registered objects and the plan agree (issue 20)", () => {
    for (const name of STACKS) {
        it(`${name}: every run's argv, image, node groups and log stream prefix are the same in validation, the RayJob and the plan`, async function () {
            const p = await stackPlan(name);
            const resolved = p.resolved!;
            assert.ok(resolved, `${name}: the plan carries validation's resolution`);
            const rayJobs = objectsOf(p, "RayJob");
            assert.equal(rayJobs.length, resolved.runs.length, `${name}: one RayJob per enabled run`);
            const summary = p.summary!.training as Obj;
            const planned: Obj[] = summary.runs ?? [summary];
            assert.equal(planned.length, resolved.runs.length, `${name}: the plan lists every run validation judged`);
            const records = new Map(objectsOf(p, "ConfigMap").filter((c) => (c.data as Obj)?.["record.json"]).map((c) => [c.metadata.name, JSON.parse((c.data as Obj)["record.json"])]));
            for (const { run } of resolved.runs) {
                const job = rayJobs.find((j) => j.metadata.name === run.runName);
                assert.ok(job, `${name}: a RayJob named ${run.runName}`);
                const shown = planned.find((x) => x.runName === run.runName);
                assert.ok(shown, `${name}: the plan shows run ${run.runName}`);
                // argv: what validation judged = what the plan shows = what the run record of the deployed run says.
                assert.deepEqual(shown.argv, [run.command.script, ...run.command.argv], `${name}/${run.runName}: plan argv`);
                const record = records.get(`${run.runName}-run-record`);
                assert.ok(record, `${name}/${run.runName}: a run-record ConfigMap`);
                assert.deepEqual(record.argv, run.command.argv, `${name}/${run.runName}: deployed argv`);
                // image: every container of the head and workers runs the run's image (or, for the EFA build, the repository output).
                const spec = job.spec as Obj;
                const pods = [spec.rayClusterSpec.headGroupSpec.template, ...spec.rayClusterSpec.workerGroupSpecs.map((g: Obj) => g.template)];
                const ray = pods.map((t: Obj) => t.spec.containers[0].image as string);
                const expected = run.imageChoice.ecrRepositoryName ? UNKNOWN : run.imageName;
                for (const img of ray) assert.ok(img === expected || img.startsWith(`${UNKNOWN}`), `${name}/${run.runName}: Ray container image ${img}, resolved ${run.imageName}`);
                assert.equal(shown.image, run.imageName, `${name}/${run.runName}: plan image`);
                // node groups: one worker group per group the run spans, selecting that group's nodes, with the resolved pod count.
                const groups = spec.rayClusterSpec.workerGroupSpecs as Obj[];
                const want = run.groups.length > 1 ? run.groups.map((g) => ({ sel: g.group.selector, n: g.nodes })) : [{ sel: run.group?.selector, n: run.nodesNeeded }];
                assert.deepEqual(groups.map((g) => ({ sel: g.template.spec.nodeSelector, n: g.replicas })), want, `${name}/${run.runName}: worker groups`);
                assert.equal(shown.workerPods, run.nodesNeeded, `${name}/${run.runName}: plan worker pods`);
                // log stream prefix: the shipper names streams after the run; the plan's command reads that prefix.
                const shipper = (spec.rayClusterSpec.headGroupSpec.template.spec.initContainers ?? []).find((c: Obj) => c.name === "log-shipper");
                if (shipper) {
                    const env = Object.fromEntries((shipper.env as Obj[]).map((e) => [e.name, e.value]));
                    assert.ok(JSON.stringify(env).includes(run.runName), `${name}/${run.runName}: log shipper streams named after the run`);
                }
            }
            const logsLine = p.summary!.lines.addons.find(([k]) => k.includes("read a run's logs"));
            if (logsLine) assert.ok(logsLine[1].includes(`--log-stream-name-prefix ${resolved.runs[0].run.runName}/`), `${name}: the plan's logs command reads the first run's streams (${logsLine[1]})`);
            if (p.outputs.runLogsCommand && logsLine) assert.equal(p.outputs.runLogsCommand, logsLine[1], `${name}: the stack output and the plan give one logs command`);
        });
    }
});

describe("resolve once: what partial resolutions let through (issue 20, failed on main at d6ff07c)", () => {
    it("image.source efa-build on a bring-your-own cluster is refused (validation now resolves with the platform)", () => {
        const problems = problemsOf("byo", (v) => {
            v[`${NAMESPACE}:training`] = { ...v[`${NAMESPACE}:training`], image: { source: "efa-build" } };
        });
        assert.ok(problems.some((x) => x.path === "training.image.source" && /ECR repository an EKS stack creates/.test(x.message)), JSON.stringify(problems));
    });

    it("extraArgs --use-prometheus is refused where monitoring generates it (it was passed twice)", () => {
        const problems = problemsOf("dev", (v) => {
            v[`${NAMESPACE}:training`] = { ...v[`${NAMESPACE}:training`], extraArgs: ["--use-prometheus"] };
        });
        assert.ok(problems.some((x) => x.path === "training.extraArgs[0]" && /already generated/.test(x.message)), JSON.stringify(problems));
    });

    it("a run stack's runs are resolved with the cluster stack's monitoring: miles' exporter is on, as on the cluster stack", async () => {
        const p = await stackPlan("prod-runs");
        for (const { run } of p.resolved!.runs) assert.ok(run.command.argv.includes("--use-prometheus"), `${run.runName}: --use-prometheus`);
    });

    it("the memory fit reads recompute given in extraArgs (the rules did, the estimate did not)", async () => {
        const dev = (await stackPlan("dev")).config!;
        // The dev stack recomputes through its field; start from the same run without it.
        const { recompute: _r, ...noRecompute } = dev.training.parallelism;
        const training = { ...dev.training, parallelism: noRecompute as typeof dev.training.parallelism };
        const cfg = { ...dev, training, runs: [{ path: "training", training }] };
        const withExtra = { ...cfg, training: { ...cfg.training, extraArgs: ["--recompute-granularity", "full", "--recompute-method", "uniform", "--recompute-num-layers", "1"] } };
        const viaExtra = resolveStack({ ...withExtra, runs: [{ path: "training", training: withExtra.training }] }).runs[0].run;
        const withField = { ...cfg.training, parallelism: { ...cfg.training.parallelism, recompute: { granularity: "full" as const, method: "uniform" as const, numLayers: 1 } } };
        const viaField = resolveStack({ ...cfg, training: withField, runs: [{ path: "training", training: withField }] }).runs[0].run;
        const none = resolveStack(cfg).runs[0].run;
        const act = (r: typeof none) => runMemoryFit(r)!.train.items.find((i) => /activation/i.test(i.label))!.bytes;
        assert.equal(viaExtra.effective.recomputeFrom, "extraArgs");
        assert.equal(act(viaExtra), act(viaField), "recompute in extraArgs counts as the field does");
        assert.ok(act(viaExtra) < act(none), "and lowers the activation estimate");
    });
});

/**
 * Deployment simulation (issue 20): what `pulumi up` waits for can finish, and objects reach the
 * API server after what must admit them — for every committed stack, on a first deploy into an
 * empty cluster and on an update (a learning-rate change) while the run holds every GPU of its
 * group. The model and its upstream sources are test/sim/awaits.ts.
 *
 * "an update that changes only a hyper-parameter does not re-create the fabric gate" fails on main
 * at d6ff07c: the gate's pod-template hash covered the whole training config, so the gate Job was
 * replaced and waited for the GPUs the running RayJob holds (domain/fabric/gateJob.ts gateIdentity).
 *
 * "first deploy … every awaited object can finish" fails for multi-run at 3898c0f: three one-node
 * runs on two nodes, each RayJob ordered only after its own gate and conversion, so two admitted
 * RayJobs held both nodes while the third run's gate and conversion waited (program.ts deployRuns now
 * orders every RayJob after the other runs' GPU Jobs on its node groups). "admission order" fails for
 * every stack with Kueue at 3898c0f: the KubeRay CRD Job and the pre-replacement save Jobs were not
 * ordered against the Kueue release, whose Job webhooks (failurePolicy Fail) select their namespaces.
 */
import { strict as assert } from "node:assert";
import type { Plan } from "../../plan/run";
import type { RecordedResource } from "../../plan/evaluate";
import { STACKS, stackPlan } from "./world";
import { admissionOrder, after, awaitOf, graph, holdingWholeGroups, imageSteps, keyOf, kindOf, needsOf, planEdited, queued, queueHoldsBack, runningRuns, steps, update, walk, worldOf, type Blocked, type World } from "./awaits";
import { GATE_RUN_HASH_ANNOTATION } from "../../domain/fabric/gateJob";
import { firstDeploySequence, type FirstDeploy } from "../../plan/firstDeploy";
import { renderJson, renderText } from "../../plan/render";

const show = (stack: string, bs: Blocked[]) => bs.map((b) => `${stack}: ${b.resource.split("::").pop()} (${b.resource.split("::")[0]}): ${b.reason}`).join("\n");
const lr = (v: Record<string, unknown>) => {
    const t = v["miles-cluster:training"] as { algorithm?: Record<string, unknown> };
    t.algorithm = { ...(t.algorithm ?? {}), lr: 7e-6 };
};

describe("deployment simulation: awaits and admission order (issue 20)", function () {
    this.timeout(120000);

    for (const stack of STACKS) {
        describe(stack, () => {
            let p: Plan;
            let w: World;
            before(async () => {
                p = await stackPlan(stack);
                w = await worldOf(p);
            });

            it("first deploy into an empty cluster: every awaited object can finish", () => {
                const r = walk(p, w);
                assert.deepEqual(r.blocked, [], show(stack, r.blocked));
                // Every pod pulling the stack's own ECR image comes after the step that pushes it (issue 21).
                assert.deepEqual(r.findings, [], r.findings.map((f) => `${stack}: ${f.resource}: ${f.note}`).join("\n"));
            });

            it("admission order: queued jobs, RayJobs and operator objects come after their webhook's release or CRDs", () => {
                const a = admissionOrder(p.resources, w);
                assert.deepEqual(a.blocked, [], show(stack, a.blocked));
                // Every other Job of a namespace Kueue's Job webhooks (failurePolicy Fail) select is ordered against
                // the release too: the KubeRay CRD Job and the pre-replacement save Jobs come after it.
                assert.deepEqual(a.findings, [], a.findings.map((f) => `${stack}: ${f.resource}: ${f.note}`).join("\n"));
            });

            it("an update that changes only a hyper-parameter does not re-create the fabric gate, and every await finishes while the run holds its GPUs", async () => {
                const next = await planEdited(stack, lr);
                const u = update(p, next, w);
                const gates = [...u.steps].filter(([k]) => /-fabric-job$/.test(k));
                for (const [k, s] of gates) assert.equal(s, "same", `${stack}: ${k.split("::")[1]} is ${s}d by a learning-rate change; its new pods would wait for the GPUs the running RayJob holds`);
                assert.deepEqual(u.blocked, [], show(stack, u.blocked));
                // The run itself is replaced after its save (the point of the change).
                assert.ok([...u.steps].some(([k, s]) => k.startsWith("kubernetes:ray.io/v1:RayJob::") && s === "replace"), `${stack}: the learning-rate change does not replace a RayJob`);
            });
        });
    }

    const gateChange = (v: Record<string, unknown>) => {
        const t = v["miles-cluster:training"] as Record<string, any>;
        t.fabricGate = { ...(t.fabricGate ?? {}), minBusBandwidthGBps: 123 };
    };
    const noKueue = (v: Record<string, unknown>) => {
        v["miles-cluster:addons"] = { ...((v["miles-cluster:addons"] as object) ?? {}), kueue: { enabled: false } };
    };
    let devOffPlan: Promise<Plan> | undefined;
    const devWithoutKueue = () => (devOffPlan ??= planEdited("dev", noKueue));
    const GATE = "kubernetes:batch/v1:Job::training-fabric-job";
    const RAYJOB = "kubernetes:ray.io/v1:RayJob::training-rayjob";

    describe("a change of what the gate tests while the run holds its GPUs (issue 22: queue-native)", () => {
        it("with Kueue: the new gate Job is submitted to the queue, `pulumi up` finishes, the gate waits behind the running run", async () => {
            const prev = await stackPlan("dev");
            const w = await worldOf(prev);
            const next = await planEdited("dev", gateChange);
            const u = update(prev, next, w);
            assert.equal(u.steps.get(GATE), "replace");
            assert.deepEqual(u.blocked, [], show("dev", u.blocked));
            const gate = next.resources.find((r) => keyOf(r) === GATE)!;
            assert.ok(queued(gate, w), "the gate Job carries the queue label");
            assert.equal(awaitOf(gate).until, "none", "pulumi up does not wait for a queued gate");
            // It does wait in the queue: the running run holds the quota and the nodes.
            const running = runningRuns(prev, w).map((r) => holdingWholeGroups(r, w));
            assert.match(queueHoldsBack(gate, running, w) ?? "", /hold|Kueue admits it only when/);
            // Bounded once admitted: the Job controller fails it after activeDeadlineSeconds.
            assert.ok(Number((gate.inputs.spec as any).activeDeadlineSeconds) > 0);
            // The running RayJob is left alone (it depends on the gate, so it is not replaced before it).
            assert.ok(graph(next.resources).deps.get(RAYJOB)!.has(GATE));
            assert.notEqual(u.steps.get(RAYJOB), "replace");
        });

        it("without Kueue (the previous policy): the awaited gate cannot start and fails within its timeout, never waits forever", async () => {
            const prev = await devWithoutKueue();
            const w = await worldOf(prev);
            const next = await planEdited("dev", (v) => (noKueue(v), gateChange(v)));
            const u = update(prev, next, w);
            assert.equal(u.steps.get(GATE), "replace");
            const gate = u.blocked.find((b) => b.resource === GATE);
            assert.ok(gate, show("dev", u.blocked));
            const job = next.resources.find((r) => keyOf(r) === gate.resource)!;
            // Bounded: activeDeadlineSeconds (the Job controller fails it) equals Pulumi's create timeout.
            assert.equal(gate.failsAfterSeconds, Number((job.inputs.spec as any).activeDeadlineSeconds));
            assert.equal(gate.failsAfterSeconds, awaitOf(job).timeoutSeconds);
            assert.ok(graph(next.resources).deps.get(RAYJOB)!.has(gate.resource));
            assert.notEqual(u.steps.get(RAYJOB), "replace");
        });
    });

    describe("a second run added while the first holds every GPU (issue 22)", () => {
        // Deployed: multi-run with only its first run, which holds both nodes; then the committed
        // multi-run adds grpo-lr-2e-6 and dapo-clip-higher (priority high: the queue never preempts).
        const firstOnly = (v: Record<string, unknown>) => {
            const t = v["miles-cluster:training"] as { runs: Record<string, unknown> };
            t.runs = { "grpo-baseline": t.runs["grpo-baseline"] };
        };
        let prev: Plan;
        let next: Plan;
        let w: World;
        before(async () => {
            prev = await planEdited("multi-run", firstOnly);
            next = await stackPlan("multi-run");
            w = await worldOf(prev);
        });
        const added = (p: { resources: RecordedResource[] }) => p.resources.filter((r) => /^run-(grpo-lr-2e-6|dapo-clip-higher)-/.test(r.name) && r.custom && needsOf(r, w.groups).gpus > 0);

        it("the deploy finishes: the new runs' gates, conversions and RayJobs are submitted to the queue, none awaited", () => {
            const u = update(prev, next, w);
            assert.deepEqual(u.blocked, [], show("multi-run", u.blocked));
            const a = added(next);
            assert.deepEqual(a.map((r) => kindOf(r)).sort(), ["Job", "Job", "Job", "Job", "RayJob", "RayJob"], a.map((r) => r.name).join(", "));
            for (const r of a) {
                assert.equal(u.steps.get(keyOf(r)), "create");
                assert.ok(queued(r, w), `${r.name} is not in the queue`);
                assert.equal(awaitOf(r).until, "none", `pulumi up waits for ${r.name}`);
            }
        });

        it("the new runs wait in the queue while the first holds the GPUs, and each fits once they are free", () => {
            const running = runningRuns(prev, w).map((r) => holdingWholeGroups(r, w));
            assert.equal(running.length, 1);
            for (const r of added(next)) {
                assert.ok(queueHoldsBack(r, running, w), `${r.name} would start beside a run that holds every GPU`);
                assert.equal(queueHoldsBack(r, [], w), undefined, `${r.name} never fits, even on free GPUs: it would wait forever`);
            }
        });

        it("negative control: the same Jobs awaited by Pulumi (no skipAwait) block the deploy", () => {
            const names = new Set(added(next).filter((r) => kindOf(r) === "Job").map((r) => r.name));
            const awaited = { resources: next.resources.map((r) => (names.has(r.name) ? (() => { const c = structuredClone(r); delete (c.inputs.metadata as any).annotations["pulumi.com/skipAwait"]; return c; })() : r)) };
            const running = runningRuns(prev, w).map((r) => holdingWholeGroups(r, w));
            const b = walk(awaited, w, { running, steps: steps(prev.resources, awaited.resources) }).blocked;
            assert.ok(b.some((x) => /run-(grpo-lr-2e-6|dapo-clip-higher)-(fabric-job|prep-convert)$/.test(x.resource)), show("multi-run", b));
        });
    });

    describe("negative controls", () => {
        let dev: Plan;
        let prod: Plan;
        let w: World;
        let wp: World;
        // The awaited-Job paths (the gate and the conversion are awaited only without Kueue).
        let devOff: Plan;
        let wOff: World;
        before(async () => {
            dev = await stackPlan("dev");
            prod = await stackPlan("prod");
            w = await worldOf(dev);
            wp = await worldOf(prod);
            devOff = await devWithoutKueue();
            wOff = await worldOf(devOff);
        });
        const edit = (p: { resources: RecordedResource[] }, name: string, f: (r: RecordedResource) => RecordedResource) => ({ resources: p.resources.map((r) => (r.name === name || keyOf(r) === name ? f(structuredClone(r)) : r)) });

        it("a RayJob not ordered after the gate holds the GPUs the awaited gate needs: blocked", () => {
            const bad = edit(devOff, "kubernetes:ray.io/v1:RayJob::training-rayjob", (r) => ({ ...r, dependsOn: r.dependsOn!.filter((d) => !d.name.endsWith("-fabric-job")) }));
            const b = walk(bad, wOff).blocked;
            assert.ok(b.some((x) => x.resource.endsWith("::training-fabric-job") && /training-rayjob hold/.test(x.reason)), show("dev", b));
            assert.deepEqual(walk(devOff, wOff).blocked, []);
        });

        it("the old gate hash (changes with the learning rate) replaces the gate during an update: blocked", async () => {
            const next = await planEdited("dev", (v) => (noKueue(v), lr(v)));
            const bad = {
                ...next,
                resources: next.resources.map((r) =>
                    r.name === "training-fabric-job" ? (() => { const c = structuredClone(r); (c.inputs.spec as any).template.metadata.annotations[GATE_RUN_HASH_ANNOTATION] = "changed-by-lr"; return c; })() : r,
                ),
            };
            const u = update(devOff, bad, wOff);
            assert.equal(u.steps.get("kubernetes:batch/v1:Job::training-fabric-job"), "replace");
            assert.ok(u.blocked.some((b) => b.resource.endsWith("::training-fabric-job")), show("dev", u.blocked));
        });

        it("issue 21: the EFA image exists only after the build step; a consumer not ordered after it pulls an image nothing pushed: found", async () => {
            const moe = await stackPlan("moe-fp8");
            const wm = await worldOf(moe);
            const g = graph(moe.resources);
            const { producers } = imageSteps(moe.resources, g);
            assert.equal(producers.length, 1, "moe-fp8 has one image-build Job");
            const build = keyOf(producers[0]);
            // Every preparation Job, the gate and the RayJob come after it.
            const consumers = moe.resources.filter((r) => /-(prep-download|prep-convert|fabric-job|rayjob)$/.test(r.name) && r.custom);
            assert.ok(consumers.length >= 3, consumers.map((r) => r.name).join(", "));
            for (const c of consumers) assert.ok(after(g, keyOf(c), build), `${c.name} is not created after ${build}`);
            // Negative controls: without the build's Job in their dependsOn, or without the build at all, the finding is back.
            const cut = { resources: moe.resources.map((r) => ({ ...r, dependsOn: r.dependsOn?.filter((d) => keyOf(d) !== build && !d.name.startsWith("efa-build")) })) };
            const f = walk(cut, wm).findings;
            assert.ok(f.some((x) => /prep-download$/.test(x.resource) && /issue 21/.test(x.note)), f.map((x) => x.resource).join(", "));
            const none = { resources: moe.resources.filter((r) => !r.name.startsWith("efa-build")) };
            assert.ok(walk(none, wm).findings.some((x) => /rayjob$/.test(x.resource)));
        });

        it("a Job whose ServiceAccount is created only after it: blocked", () => {
            const bad = edit(devOff, "kubernetes:core/v1:ServiceAccount::training-fabric-sa", (r) => ({ ...r, dependsOn: [{ type: "kubernetes:batch/v1:Job", name: "training-fabric-job" }] }));
            bad.resources = bad.resources.map((r) => (r.name === "training-fabric-rolebinding" ? { ...r, dependsOn: [] } : r));
            const b = walk(bad, wOff).blocked;
            assert.ok(b.some((x) => x.resource.endsWith("::training-fabric-job") && /ServiceAccount .*created only after/.test(x.reason)), show("dev", b));
        });

        it("multi-run: a RayJob ordered only after its own run's gate and conversion holds a node the other runs' awaited Jobs need: blocked", async () => {
            const mr = await planEdited("multi-run", noKueue);
            const wm = await worldOf(mr);
            const own = (r: RecordedResource) => ({ ...r, dependsOn: r.dependsOn!.filter((d) => !/-(fabric-job|prep-convert)$/.test(d.name) || d.name.startsWith(r.name.replace(/-rayjob$/, "-"))) });
            let bad = { resources: mr.resources };
            for (const r of mr.resources.filter((x) => keyOf(x).startsWith("kubernetes:ray.io/v1:RayJob::"))) bad = edit(bad, keyOf(r), own);
            const b = walk(bad, wm).blocked;
            assert.ok(b.some((x) => /-(fabric-job|prep-convert)$/.test(x.resource) && /rayjob.* hold/.test(x.reason)), show("multi-run", b));
            assert.deepEqual(walk(mr, wm).blocked, []);
        });

        it("the KubeRay CRD Job and a save Job not ordered against the Kueue release: found", () => {
            const cut = (r: RecordedResource) => ({ ...r, dependsOn: (r.dependsOn ?? []).filter((d) => !d.name.startsWith("addons-kueue")) });
            const presave = dev.resources.find((r) => /-lifecycle-presave-[0-9a-f]+$/.test(r.name))!;
            const bad = edit(edit(dev, "kubernetes:batch/v1:Job::addons-kuberay-crds", cut), keyOf(presave), (r) => ({ ...r, dependsOn: (r.dependsOn ?? []).filter((d) => !d.name.startsWith("addons-")) }));
            const f = admissionOrder(bad.resources, w).findings.map((x) => x.resource.split("::")[1]);
            assert.deepEqual(f.sort(), ["addons-kuberay-crds", presave.name].sort());
            assert.deepEqual(admissionOrder(dev.resources, w).findings, []);
        });

        it("a PVC whose PersistentVolume comes after it, and a Service awaited before the pods behind it: blocked", () => {
            let bad = edit(dev, "kubernetes:core/v1:PersistentVolume::storage-volume-pv", (r) => ({ ...r, dependsOn: [{ type: "kubernetes:core/v1:PersistentVolumeClaim", name: "storage-volume-pvc" }] }));
            bad = { resources: bad.resources.map((r) => (keyOf(r) === "kubernetes:core/v1:PersistentVolumeClaim::storage-volume-pvc" ? { ...r, dependsOn: [] } : r)) };
            assert.ok(walk(bad, w).blocked.some((x) => /PersistentVolume .*only after/.test(x.reason)));
            const svc = edit(prod, "kubernetes:core/v1:Service::training-fabric-svc", (r) => {
                delete (r.inputs.metadata as any).annotations;
                (r.inputs.spec as any).clusterIP = undefined;
                return r;
            });
            const b = walk(svc, wp).blocked;
            assert.ok(b.some((x) => x.resource === "kubernetes:core/v1:Service::training-fabric-svc" && /endpoints/.test(x.reason)), show("prod", b));
            assert.deepEqual(walk(prod, wp).blocked, []);
        });

        it("a queued RayJob, a Kueue object and a PodMonitor not ordered after their release: blocked", () => {
            const strip = (chart: string) => (r: RecordedResource) => ({ ...r, dependsOn: (r.dependsOn ?? []).filter((d) => !d.name.includes(chart)) });
            // The RayJob reaches the release through the LocalQueue and the preparation Jobs too: cut them all.
            const bad = edit(edit(edit(prod, "kubernetes:ray.io/v1:RayJob::training-rayjob", (r) => ({ ...strip("kueue")(r), dependsOn: [] })), "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue::addons-kueue-local-queue", (r) => ({ ...r, dependsOn: [] })), "kubernetes:monitoring.coreos.com/v1:PodMonitor::addons-monitoring-podmonitor-miles-ray", (r) => ({ ...r, dependsOn: [] }));
            const b = admissionOrder(bad.resources, wp).blocked.map((x) => x.resource.split("::")[1]);
            for (const name of ["training-rayjob", "addons-kueue-local-queue", "addons-monitoring-podmonitor-miles-ray"]) assert.ok(b.includes(name), `${name} not flagged: ${b.join(", ")}`);
        });

        it("steps: a Job template change replaces, a ConfigMap change updates, replaceOnChanges replaces, ignoreChanges hides", () => {
            const job = dev.resources.find((r) => r.name === "training-fabric-job")!;
            const cm = dev.resources.find((r) => r.name === "training-run-record")!;
            const ray = dev.resources.find((r) => keyOf(r) === "kubernetes:ray.io/v1:RayJob::training-rayjob")!;
            const j2 = structuredClone(job);
            (j2.inputs.spec as any).template.metadata.labels.x = "y";
            const c2 = structuredClone(cm);
            (c2.inputs as any).data = { x: "y" };
            const r2 = structuredClone(ray);
            (r2.inputs.spec as any).suspend = !(r2.inputs.spec as any).suspend;
            const r3 = structuredClone(ray);
            (r3.inputs.spec as any).entrypoint = "other";
            const s = steps([job, cm, ray], [j2, c2, r2]);
            assert.equal(s.get(keyOf(job)), "replace");
            assert.equal(s.get(keyOf(cm)), "update");
            assert.equal(s.get(keyOf(ray)), ray.options?.ignoreChanges?.includes("spec.suspend") ? "same" : "update");
            assert.equal(steps([ray], [r3]).get(keyOf(ray)), "replace");
        });

        it("awaitOf: Jobs until complete with their customTimeouts, skipAwait and CustomResources at once, waitFor honoured", () => {
            const job = devOff.resources.find((r) => r.name === "training-fabric-job")!;
            assert.equal(awaitOf(job).until, "job-complete");
            assert.equal(awaitOf(job).timeoutSeconds, Number((job.inputs.spec as any).activeDeadlineSeconds));
            const skip = structuredClone(job);
            (skip.inputs.metadata as any).annotations = { "pulumi.com/skipAwait": "true" };
            assert.equal(awaitOf(skip).until, "none");
            const ray = dev.resources.find((r) => keyOf(r) === "kubernetes:ray.io/v1:RayJob::training-rayjob")!;
            assert.equal(awaitOf(ray).until, "none");
            const wf = structuredClone(ray);
            (wf.inputs.metadata as any).annotations = { "pulumi.com/waitFor": "jsonpath={.status.jobStatus}=SUCCEEDED" };
            assert.equal(awaitOf(wf).until, "waitFor");
            const noTimeout = { ...job, customTimeouts: undefined };
            assert.equal(awaitOf(noTimeout).timeoutSeconds, 600);
        });
    });
});

describe("plan: what a first `pulumi up` does, in order (issue 21), against the simulation's creation order", function () {
    this.timeout(120000);
    const stepOfKey = (f: FirstDeploy) => new Map(f.steps.flatMap((s) => s.keys.map((k) => [k, s.n] as const)));
    const stepIndex = (f: FirstDeploy, re: RegExp) => f.steps.find((s) => re.test(s.type + " " + s.step))?.n;

    for (const stack of ["moe-fp8", "dev", "byo"]) {
        it(`${stack}: every resource in one step; no step listed before one it waits for (dependsOn, as the sim orders them); image build → model preparation → fabric gate → RayJob`, async () => {
            const p = await stackPlan(stack);
            const f = p.summary!.firstDeploy;
            const pos = stepOfKey(f);
            const customs = p.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
            assert.deepEqual(customs.filter((r) => !pos.has(keyOf(r))).map(keyOf), []);
            assert.equal(pos.size, customs.length);
            // The sim's creation graph (dependsOn): a step never comes before a step holding one of its resources' prerequisites.
            const g = graph(p.resources);
            for (const r of customs) for (const d of g.deps.get(keyOf(r)) ?? []) if (pos.has(d)) assert.ok(pos.get(d)! <= pos.get(keyOf(r))!, `${stack}: step ${pos.get(keyOf(r))} (${r.name}) is listed before step ${pos.get(d)} (${d}) it waits for`);
            const prep = stepIndex(f, /ModelPrep/)!;
            const gate = stepIndex(f, /FabricGate/)!;
            const run = stepIndex(f, /RayJob/)!;
            assert.ok(prep < gate && gate < run, `${stack}: prep ${prep}, gate ${gate}, run ${run}`);
            const build = stepIndex(f, /EfaImageBuild/);
            const w = await worldOf(p);
            const order = walk(p, w).order;
            if (stack === "moe-fp8") {
                assert.ok(build !== undefined && build < prep, `image build step ${build}, prep ${prep}`);
                const { producers } = imageSteps(p.resources, g);
                // Every step with a pod pulling the stack's ECR image comes after the image step, in the plan and in the sim's order
                // (the pullers: what the image model flags once no edge orders anything).
                const unordered = p.resources.map((r) => ({ ...r, dependsOn: [] }));
                const pullers = customs.filter((r) => imageSteps(unordered, graph(unordered)).unproduced(r) !== undefined);
                assert.ok(pullers.length >= 4, pullers.map((r) => r.name).join(", "));
                for (const r of pullers) {
                    assert.ok(pos.get(keyOf(r))! > build!, `${r.name} in step ${pos.get(keyOf(r))}, before the image build ${build}`);
                    assert.ok(order.indexOf(keyOf(r)) > order.indexOf(keyOf(producers[0])), `sim creates ${r.name} before the image build`);
                }
                assert.match(f.steps[build! - 1].waits.map((x) => `${x.resource} ${x.timeoutMinutes}`).join(), /Job efa-build-job \d+/);
            } else assert.equal(build, undefined, `${stack} pulls no image of its own: no build step`);
        });
    }

    it("derived from the edges, not a list: without the prep Jobs' dependsOn on the build, the image step is no longer before them (negative control)", async () => {
        const p = await stackPlan("moe-fp8");
        const cut = p.resources.map((r) => (r.name.startsWith("training-prep") ? { ...r, dependsOn: r.dependsOn?.filter((d) => !d.name.startsWith("efa-build")) } : r));
        const f = firstDeploySequence(undefined, { resources: cut });
        const build = stepIndexOf(f, /EfaImageBuild/)!;
        const prep = f.steps.find((s) => /ModelPrep/.test(s.type))!;
        const reach = (ff: FirstDeploy, n: number, seen = new Set<number>()): Set<number> => {
            for (const a of ff.steps[n - 1].after) if (!seen.has(a)) (seen.add(a), reach(ff, a, seen));
            return seen;
        };
        assert.ok(!reach(f, prep.n).has(build), "the preparation still waits for the image build");
        const full = p.summary!.firstDeploy;
        assert.ok(reach(full, stepIndexOf(full, /ModelPrep/)!).has(stepIndexOf(full, /EfaImageBuild/)!));
    });

    it("text and --json show the sequence", async () => {
        const p = await stackPlan("moe-fp8");
        const text = renderText(p);
        assert.match(text, /First `pulumi up`, in order/);
        assert.match(text, /EfaImageBuild efa-build: creates .*Project.*\n.*Job efa-build-job until Complete \(≤ \d+ min\)/);
        const json = JSON.parse(renderJson(p));
        assert.equal(json.summary.firstDeploy.steps.length, p.summary!.firstDeploy.steps.length);
    });
});

const stepIndexOf = (f: FirstDeploy, re: RegExp) => f.steps.find((s) => re.test(s.type + " " + s.step))?.n;

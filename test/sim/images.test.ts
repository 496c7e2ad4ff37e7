/**
 * Deployment simulation, images (issue 20): every container of every pod every committed stack makes
 * the cluster run names an image a node can pull (test/sim/images.ts says what that means).
 */
import { strict as assert } from "node:assert";
import type { Plan } from "../../plan/run";
import { UNKNOWN } from "../../plan/evaluate";
import { STACKS, stackPlan, k8sObjects, objectsOf, type K8sObject } from "./world";
import { checkImages, clusterPlanOf, runsOf, containersOf, imagePolicy, imageProblem, parseImage, podTemplatesOf, unmodelledContainers, type ImagePolicy } from "./images";

describe("sim: images", () => {
    describe("reference normalisation (distribution/reference splitDockerDomain)", () => {
        const cases: Array<[string, string, string]> = [
            ["radixark/miles:v0.1.0", "docker.io", "radixark/miles"],
            ["busybox:1.36", "docker.io", "library/busybox"],
            ["registry.k8s.io/kubectl:v1.34.1", "registry.k8s.io", "kubectl"],
            ["cr.fluentbit.io/fluent/fluent-bit:5.0.3", "cr.fluentbit.io", "fluent/fluent-bit"],
            ["123456789012.dkr.ecr.us-east-1.amazonaws.com/miles-cluster/prod/miles-efa:v0.1.0-efa1.49.0", "123456789012.dkr.ecr.us-east-1.amazonaws.com", "miles-cluster/prod/miles-efa"],
            ["localhost:5000/x:1", "localhost:5000", "x"],
            ["miles-cluster/prod/miles-efa:v0.1.0-efa1.49.0", "docker.io", "miles-cluster/prod/miles-efa"],
        ];
        for (const [ref, registry, repository] of cases) {
            it(`${ref} → ${registry} ${repository}`, () => {
                const n = parseImage(ref)!;
                assert.deepEqual([n.registry, n.repository], [registry, repository]);
            });
        }
        it("rejects what is no reference (uppercase path, empty component)", () => {
            assert.equal(parseImage("docker.io/Radixark/miles:v1"), undefined);
            assert.equal(parseImage("a//b:1"), undefined);
        });
    });

    for (const stack of STACKS) {
        describe(`stack ${stack}`, () => {
            let objects: K8sObject[] = [];
            let policy: ImagePolicy;
            before(async function () {
                const p = await stackPlan(stack);
                objects = k8sObjects(p);
                policy = imagePolicy(p, await clusterPlanOf(p));
            });
            it("every container of the stack's objects is reached through a pod template this layer models", () => {
                assert.deepEqual(unmodelledContainers(objects), []);
                assert.ok(objects.some((o) => podTemplatesOf(o).length > 0), "the stack runs no pod at all");
            });
            it("every container and init container names an image a node can pull", () => {
                const findings = checkImages(objects, policy);
                assert.ok(findings.length > 0);
                const bad = findings.filter((f) => f.problem).map((f) => `${f.template} ${f.init ? "initContainer" : "container"} ${f.container}: ${f.problem}`);
                assert.deepEqual(bad, []);
            });
            it("a run on the EFA build pulls it from the stack's ECR repository in every container that runs the miles image (head, probe, workers, submitter, prep, gate)", async function () {
                const p = await stackPlan(stack);
                const efaRuns = runsOf(p).filter((r) => r.imageChoice.source === "efa-build");
                if (efaRuns.length === 0) return this.skip();
                for (const r of efaRuns) {
                    assert.ok(policy.ecrRuns.has(r.runName), `${r.runName}: the stack registers no ECR repository ${r.imageChoice.ecrRepositoryName} with an unknown URL`);
                    const rayJob = objectsOf(p, "RayJob").find((o) => o.metadata.name === r.runName)!;
                    const roles = podTemplatesOf(rayJob).map((t) => t.role);
                    assert.ok(roles.includes("submitter") && roles.includes("head"), roles.join(","));
                    for (const t of podTemplatesOf(rayJob)) {
                        const main = containersOf(t).filter(({ container }) => ["ray-head", "ray-worker", "checkpoint-probe", "ray-job-submitter"].includes(container.name));
                        assert.ok(main.length > 0, t.id);
                        for (const { container } of main) assert.equal(container.image, UNKNOWN, `${t.id} ${container.name} pulls ${String(container.image)}, not the ECR repository's reference`);
                    }
                }
            });
        });
    }

    describe("negative controls: an image a node cannot pull fails", () => {
        let prod: Plan;
        let policy: ImagePolicy;
        before(async () => {
            prod = await stackPlan("prod");
            policy = imagePolicy(prod);
        });
        const run = () => runsOf(prod)[0];
        it("the bare ECR repository name of the EFA build (the issue-20 submitter/probe defect): Docker Hub", () => {
            assert.match(imageProblem(run().imageName, run().runName, policy) ?? "", /resolves to Docker Hub \(docker\.io\/miles-cluster\/prod\/miles-efa/);
        });
        it("the prod RayJob with the submitter's and the probe's image as main had them (r.image) fails, naming both", () => {
            const rayJob = structuredClone(objectsOf(prod, "RayJob")[0]) as any;
            const bare = run().imageName;
            rayJob.spec.submitterPodTemplate.spec.containers[0].image = bare;
            const head = rayJob.spec.rayClusterSpec.headGroupSpec.template.spec;
            head.containers.find((c: any) => c.name === "checkpoint-probe").image = bare;
            const bad = checkImages([rayJob], policy).filter((f) => f.problem).map((f) => f.container);
            assert.deepEqual(bad.sort(), ["checkpoint-probe", "ray-job-submitter"]);
        });
        it("an unknown image in a run that does not use the EFA build (dev), or outside any run", async () => {
            const dev = await stackPlan("dev");
            const devPolicy = imagePolicy(dev);
            assert.equal(devPolicy.ecrRuns.size, 0);
            const devRun = runsOf(dev)[0].runName;
            assert.match(imageProblem(UNKNOWN, devRun, devPolicy) ?? "", /known only after deploy/);
            assert.match(imageProblem(UNKNOWN, undefined, policy) ?? "", /known only after deploy/);
        });
        it("an unpinned image, an unpinned tag of a pinned repository, a registry nothing is pinned in, no tag", () => {
            assert.match(imageProblem("docker.io/library/busybox:1.36", undefined, policy) ?? "", /neither a catalog pin/);
            assert.match(imageProblem("registry.k8s.io/kubectl:v1.30.0", undefined, policy) ?? "", /neither a catalog pin/);
            assert.match(imageProblem("quay.io/foo/bar:1", undefined, policy) ?? "", /registry quay\.io/);
            assert.match(imageProblem("registry.k8s.io/kubectl", undefined, policy) ?? "", /neither tag nor digest/);
        });
        it("the pinned images themselves pass, familiar (radixark/miles) and fully qualified (docker.io/radixark/miles) alike", () => {
            for (const ok of ["radixark/miles:v0.1.0", "docker.io/radixark/miles:v0.1.0", "registry.k8s.io/kubectl:v1.34.1", "curlimages/curl:8.15.0"]) assert.equal(imageProblem(ok, undefined, policy), undefined, ok);
        });
        it("a kind this layer does not model is reported, not skipped", () => {
            const odd = { apiVersion: "apps/v1", kind: "Foo", metadata: { name: "x" }, spec: { template: { spec: { containers: [{ name: "c", image: "busybox" }] } } } } as unknown as K8sObject;
            assert.equal(unmodelledContainers([odd]).length, 1);
        });
    });
});

import { resolveStack } from "../domain/stack";
/**
 * Pod hardening, Pod Security admission levels, NetworkPolicies and Ray token authentication
 * (issue 16), on the pure manifests (milliseconds); the whole-stack view is in stacks.test.ts.
 */
import { strict as assert } from "node:assert";
import { parseConfig } from "../validation";
import { runOf } from "../domain/stack";
import { rayJobManifest } from "../domain/training/rayJob";
import { convertJobManifest, downloadJobManifest } from "../domain/training/prepJobs";
import { trainingProblems } from "../domain/training/rules";
import { trainingPodSecurity } from "../domain/training/podSecurity";
import { containerSecurityContext, hardenPodSpec, podSecurityLabels } from "../domain/security/pods";
import { IMDS_CIDR, namespacePolicies, runPolicy } from "../domain/security/networkPolicy";
import type { TrainingContext } from "../domain/training/pod";
import { rawConfig } from "./harness";

const CTX: TrainingContext = { namespace: "miles", claimName: "shared", serviceAccountName: "miles-training", submitterServiceAccountName: "run-submitter" };
const cluster = { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] };

function configOf(training: Record<string, unknown> = {}) {
    const r = parseConfig(rawConfig({ "aws:region": "us-east-1", "miles-cluster:cluster": cluster, "miles-cluster:training": { model: { preset: "qwen3-4B" }, ...training } }), { stack: "t" });
    assert.deepEqual(r.problems, []);
    return r.config!;
}

/** Every pod spec of a run: head, workers, submitter, download and convert Jobs. */
function podsOf(training: Record<string, unknown> = {}) {
    const r = runOf(configOf(training));
    const spec = rayJobManifest(r, CTX).spec as any;
    return {
        head: spec.rayClusterSpec.headGroupSpec.template.spec,
        worker: spec.rayClusterSpec.workerGroupSpecs[0].template.spec,
        submitter: spec.submitterPodTemplate.spec,
        download: (downloadJobManifest(r, CTX).spec.template as any).spec,
        convert: (convertJobManifest(r, CTX).spec.template as any).spec,
        spec,
    };
}

describe("pod hardening", () => {
    it("every pod of a run: RuntimeDefault seccomp, no privilege escalation, all capabilities dropped, no API token, no service links", () => {
        const pods = podsOf();
        for (const name of ["head", "worker", "submitter", "download", "convert"] as const) {
            const p = (pods as any)[name];
            assert.deepEqual(p.securityContext.seccompProfile, { type: "RuntimeDefault" }, name);
            assert.equal(p.automountServiceAccountToken, false, name);
            assert.equal(p.enableServiceLinks, false, name);
            for (const c of [...p.containers, ...(p.initContainers ?? [])]) {
                assert.equal(c.securityContext.allowPrivilegeEscalation, false, `${name}/${c.name}`);
                assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"], `${name}/${c.name}`);
                assert.deepEqual(c.securityContext.seccompProfile, { type: "RuntimeDefault" }, `${name}/${c.name}`);
            }
        }
    });

    it("IPC_LOCK only on workers that get EFA devices", () => {
        const efa = podsOf().worker.containers[0];
        assert.deepEqual(efa.securityContext.capabilities.add, ["IPC_LOCK"]);
        assert.ok(Number(efa.resources.limits["vpc.amazonaws.com/efa"]) > 0);
        const noEfa = podsOf({ network: { efa: false } }).worker.containers[0];
        assert.equal(noEfa.securityContext.capabilities.add, undefined);
        assert.equal(noEfa.resources.limits["vpc.amazonaws.com/efa"], undefined);
        for (const p of Object.values(podsOf()).filter((x: any) => x.containers && x !== podsOf().worker)) {
            for (const c of (p as any).containers) if (c.name !== "ray-worker") assert.equal(c.securityContext.capabilities.add, undefined, c.name);
        }
    });

    it("hardenPodSpec keeps what a container already sets and overrides only the hardening fields", () => {
        const s = hardenPodSpec({ containers: [{ name: "a", securityContext: { readOnlyRootFilesystem: true, capabilities: { add: ["SYS_ADMIN"] } } }], securityContext: { fsGroup: 1000 } } as any);
        assert.equal((s.containers as any)[0].securityContext.readOnlyRootFilesystem, true);
        assert.deepEqual((s.containers as any)[0].securityContext.capabilities, { drop: ["ALL"] });
        assert.equal((s.securityContext as any).fsGroup, 1000);
        assert.equal(hardenPodSpec({ containers: [] } as any, { apiAccess: true }).automountServiceAccountToken, true);
        assert.deepEqual(containerSecurityContext(["IPC_LOCK"]).capabilities, { drop: ["ALL"], add: ["IPC_LOCK"] });
    });

    it("the submitter runs as its own service account, KubeRay's container name and default resources, no command (KubeRay fills it)", () => {
        const { submitter, spec } = podsOf();
        assert.equal(submitter.serviceAccountName, "run-submitter");
        assert.equal(submitter.restartPolicy, "Never");
        assert.equal(submitter.containers[0].name, "ray-job-submitter");
        assert.equal(submitter.containers[0].command, undefined);
        assert.deepEqual(submitter.containers[0].resources, { requests: { cpu: "500m", memory: "200Mi" }, limits: { cpu: "1", memory: "1Gi" } });
        assert.equal(spec.submitterPodTemplate.metadata.labels["app.kubernetes.io/instance"], spec.rayClusterSpec.headGroupSpec.template.metadata.labels["app.kubernetes.io/instance"]);
    });
});

describe("Pod Security admission", () => {
    it("the training namespace enforces privileged only with RDMA workers, baseline otherwise; warn/audit restricted", () => {
        const runs = (cfg: ReturnType<typeof configOf>) => resolveStack(cfg).runs.map((x) => x.run);
        assert.equal(trainingPodSecurity(runs(configOf())), "privileged");
        assert.equal(trainingPodSecurity(runs(configOf({ network: { efa: false } }))), "baseline");
        const l = podSecurityLabels("baseline");
        assert.equal(l["pod-security.kubernetes.io/enforce"], "baseline");
        assert.equal(l["pod-security.kubernetes.io/warn"], "restricted");
        assert.equal(l["pod-security.kubernetes.io/audit"], "restricted");
    });
});

describe("NetworkPolicies", () => {
    it("the namespace denies all ingress and egress, then allows DNS, the namespace and outside the cluster except IMDS", () => {
        const [deny, egress] = namespacePolicies("miles");
        assert.deepEqual(deny.spec, { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
        const rules = egress.spec.egress as any[];
        assert.deepEqual(rules[0].ports.map((p: any) => `${p.protocol}/${p.port}`), ["UDP/53", "TCP/53"]);
        assert.deepEqual(rules[2].to[0].ipBlock, { cidr: "0.0.0.0/0", except: [IMDS_CIDR] });
        assert.equal(egress.spec.ingress, undefined);
    });

    it("a run admits its own pods on every port and the operator namespace only on the dashboard port", () => {
        const m = runPolicy({ runName: "r", namespace: "miles", runSelector: { "app.kubernetes.io/instance": "r" }, operatorNamespace: "miles-system", metricsNamespaces: ["monitoring"], metricsPorts: [8080], labels: {} });
        const ingress = m.spec.ingress as any[];
        assert.deepEqual(ingress[0], { from: [{ podSelector: { matchLabels: { "app.kubernetes.io/instance": "r" } } }] });
        assert.deepEqual(ingress[1].ports, [{ protocol: "TCP", port: 8265 }]);
        assert.deepEqual(ingress[1].from, [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "miles-system" } } }]);
        assert.deepEqual(ingress[2].ports, [{ protocol: "TCP", port: 8080 }]);
        const none = runPolicy({ runName: "r", namespace: "miles", runSelector: { a: "b" }, metricsNamespaces: [], metricsPorts: [8080], labels: {} });
        assert.equal((none.spec.ingress as any[]).length, 1, "no operator, no scrapers: only the run itself");
    });
});

describe("Ray token authentication", () => {
    it("on only when the image's Ray version is known to be 2.52.0 or newer; a warning otherwise", () => {
        assert.deepEqual(podsOf({ image: { rayVersion: "2.52.0" } }).spec.rayClusterSpec.authOptions, { mode: "token" });
        assert.deepEqual(podsOf({ image: { rayVersion: "3.0.1" } }).spec.rayClusterSpec.authOptions, { mode: "token" });
        assert.equal(podsOf({ image: { rayVersion: "2.49.0" } }).spec.rayClusterSpec.authOptions, undefined);
        assert.equal(podsOf().spec.rayClusterSpec.authOptions, undefined);
        const w = trainingProblems(runOf(configOf())).filter((p) => p.path === "training.image.rayVersion");
        assert.equal(w.length, 1);
        assert.equal(w[0].severity, "warning");
        assert.match(w[0].message, /token authentication stays off/);
        assert.equal(trainingProblems(runOf(configOf({ image: { rayVersion: "2.52.0" } }))).filter((p) => p.path === "training.image.rayVersion").length, 0);
    });
});

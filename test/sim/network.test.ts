/**
 * The network layer of the deployment simulation (issue 20): every committed stack's pods, as the
 * controllers at our pins create them, under the NetworkPolicies the stack (and, for a run stack,
 * its cluster stack) creates, evaluated with Kubernetes NetworkPolicy semantics (test/sim/network.ts).
 * Each flow a run needs is one case; the negative controls prove the evaluator denies.
 */
import { strict as assert } from "node:assert";
import { STACKS, stackPlan } from "./world";
import { CLUSTER_FACTS_OUTPUT, CLUSTER_FACTS_VERSION, clusterFactsProblem, type ClusterFacts } from "../../domain/runStack";
import { runNetworkPolicy } from "../../domain/security/networkPolicy";
import {
    endpointName,
    evaluate,
    explain,
    groupParams,
    headPorts,
    IMDS,
    inCidr,
    INTERNET,
    KUBE_DNS,
    rayJobsOf,
    rayNodePorts,
    rayPodLabels,
    runPods,
    scrapeTargets,
    selects,
    stackWorld,
    STRANGER,
    type Flow,
    type NetworkPolicy,
    type Pod,
    type World,
} from "./network";

type Case = Flow & { what: string };

/** Asserts every flow has the expected verdict, naming each one that has not; a case with no flow fails (it would check nothing). */
function expectFlows(w: World, flows: Case[], allowed: boolean): void {
    assert.ok(flows.length > 0, "no flow to check: the case would pass by checking nothing");
    const wrong = flows.map((f) => ({ f, v: evaluate(w, f) })).filter((x) => x.v.allowed !== allowed);
    assert.deepEqual(
        wrong.map((x) => `${x.f.what}: ${explain(x.f, x.v)}`),
        [],
        `${wrong.length} of ${flows.length} flows ${allowed ? "denied" : "allowed"} that must be ${allowed ? "allowed" : "denied"}`,
    );
}

const pod = (name: string, namespace: string, labels: Record<string, string>, ports: Pod["ports"] = []): Pod => ({ kind: "pod", name, namespace, labels, ports, role: "test", from: "test" });

function synthetic(policies: NetworkPolicy[], pods: Pod[]): World {
    const namespaces = new Map<string, Record<string, string>>();
    for (const p of pods) namespaces.set(p.namespace, { "kubernetes.io/metadata.name": p.namespace, ...(p.namespace === "mon" ? { team: "obs" } : {}) });
    return { stack: "t", stacks: ["t"], namespaces, pods, policies, objects: [], releaseServices: [] };
}

describe("network sim: NetworkPolicy semantics (synthetic)", () => {
    const a = pod("a", "ns", { app: "a" }, [{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    const b = pod("b", "ns", { app: "b" });
    const m = pod("m", "mon", { app: "prom" });
    const mOther = pod("x", "mon", { app: "other" });
    const elsewhere = pod("e", "other", { app: "prom" });
    const np = (name: string, spec: NetworkPolicy["spec"], namespace = "ns"): NetworkPolicy => ({ metadata: { name, namespace }, spec });

    it("a pod no policy selects is not isolated; an empty-rule policy isolates (deny all)", () => {
        const w0 = synthetic([], [a, b]);
        assert.ok(evaluate(w0, { from: b, to: a, port: 1 }).allowed);
        const w = synthetic([np("deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] })], [a, b]);
        const v = evaluate(w, { from: b, to: a, port: 1 });
        assert.ok(!v.allowed && v.egress.isolated && v.ingress.isolated);
    });

    it("policyTypes defaults to Ingress, plus Egress only with an egress section", () => {
        const w = synthetic([np("i", { podSelector: { matchLabels: { app: "a" } } })], [a, b]);
        assert.ok(!evaluate(w, { from: b, to: a, port: 1 }).allowed, "ingress isolated by default");
        assert.ok(evaluate(w, { from: a, to: b, port: 1 }).allowed, "egress not isolated without an egress section");
    });

    it("a flow needs egress at the source and ingress at the destination; rules of several policies add up", () => {
        const egressOnly = np("e", { podSelector: { matchLabels: { app: "b" } }, policyTypes: ["Egress"], egress: [{ to: [{ podSelector: { matchLabels: { app: "a" } } }] }] });
        const denyIn = np("d", { podSelector: {}, policyTypes: ["Ingress"] });
        const allowIn = np("x", { podSelector: { matchLabels: { app: "a" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "b" } } }] }] });
        assert.ok(!evaluate(synthetic([egressOnly, denyIn], [a, b]), { from: b, to: a, port: 1 }).allowed);
        const v = evaluate(synthetic([egressOnly, denyIn, allowIn], [a, b]), { from: b, to: a, port: 1 });
        assert.ok(v.allowed);
        assert.deepEqual(v.ingress.admittedBy, ["ns/x"]);
    });

    it("namespaceSelector and podSelector in one peer are ANDed, in two peers ORed; podSelector alone is the policy's namespace", () => {
        const and = np("and", { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "obs" } }, podSelector: { matchLabels: { app: "prom" } } }] }] });
        const or = np("or", { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "obs" } } }, { podSelector: { matchLabels: { app: "prom" } } }] }] });
        const pods = [a, m, mOther, elsewhere];
        assert.ok(evaluate(synthetic([and], pods), { from: m, to: a, port: 1 }).allowed);
        assert.ok(!evaluate(synthetic([and], pods), { from: mOther, to: a, port: 1 }).allowed);
        assert.ok(!evaluate(synthetic([and], pods), { from: elsewhere, to: a, port: 1 }).allowed);
        assert.ok(evaluate(synthetic([or], pods), { from: mOther, to: a, port: 1 }).allowed, "any pod of the selected namespace");
        assert.ok(!evaluate(synthetic([or], pods), { from: elsewhere, to: a, port: 1 }).allowed, "podSelector alone: only the policy's own namespace");
    });

    it("ipBlock with except; ipBlock matches external addresses only", () => {
        const e = np("e", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["169.254.169.254/32"] } }] }] });
        const w = synthetic([e], [a, b]);
        assert.ok(evaluate(w, { from: a, to: INTERNET, port: 443 }).allowed);
        assert.ok(!evaluate(w, { from: a, to: IMDS, port: 80 }).allowed);
        assert.ok(!evaluate(w, { from: a, to: b, port: 80 }).allowed);
        assert.ok(inCidr("10.1.2.3", "10.0.0.0/8") && !inCidr("11.0.0.1", "10.0.0.0/8") && inCidr("1.2.3.4", "0.0.0.0/0"));
    });

    it("ports: protocol defaults to TCP, named ports resolve on the destination, endPort is a range, no port is every port", () => {
        const rule = (ports: NetworkPolicy["spec"]["ingress"]) => synthetic([np("p", { podSelector: {}, policyTypes: ["Ingress"], ingress: ports })], [a, b]);
        assert.ok(evaluate(rule([{ ports: [{ port: 53 }] }]), { from: b, to: a, port: 53 }).allowed);
        assert.ok(!evaluate(rule([{ ports: [{ port: 53 }] }]), { from: b, to: a, port: 53, protocol: "UDP" }).allowed, "TCP by default");
        assert.ok(evaluate(rule([{ ports: [{ port: "http" }] }]), { from: b, to: a, port: 8080 }).allowed, "a's http is 8080");
        assert.ok(!evaluate(rule([{ ports: [{ port: "http" }] }]), { from: a, to: b, port: 8080 }).allowed, "b has no port named http");
        assert.ok(evaluate(rule([{ ports: [{ port: 30000, endPort: 32000 }] }]), { from: b, to: a, port: 32000 }).allowed);
        assert.ok(!evaluate(rule([{ ports: [{ port: 30000, endPort: 32000 }] }]), { from: b, to: a, port: 32001 }).allowed);
        assert.ok(evaluate(rule([{ ports: [{ protocol: "UDP" }] }]), { from: b, to: a, port: 5, protocol: "UDP" }).allowed);
        assert.ok(evaluate(rule([{}]), { from: b, to: a, port: 5, protocol: "SCTP" }).allowed, "no ports: everything");
    });

    it("label selectors: matchExpressions In/NotIn/Exists/DoesNotExist, {} selects all", () => {
        assert.ok(selects({}, { x: "1" }));
        assert.ok(selects({ matchExpressions: [{ key: "x", operator: "In", values: ["1", "2"] }] }, { x: "2" }));
        assert.ok(!selects({ matchExpressions: [{ key: "x", operator: "NotIn", values: ["2"] }] }, { x: "2" }));
        assert.ok(selects({ matchExpressions: [{ key: "y", operator: "DoesNotExist" }] }, { x: "2" }));
        assert.ok(!selects({ matchExpressions: [{ key: "y", operator: "Exists" }], matchLabels: { x: "2" } }, { x: "2" }));
    });

    it("KubeRay's pod labels: template labels override its defaults, never node-type, group or cluster", () => {
        const l = rayPodLabels("worker", "c-x", "gpu", { "app.kubernetes.io/name": "miles", "ray.io/group": "evil", "ray.io/node-type": "head" });
        assert.equal(l["app.kubernetes.io/name"], "miles");
        assert.equal(l["ray.io/group"], "gpu");
        assert.equal(l["ray.io/node-type"], "worker");
        assert.equal(l["ray.io/cluster"], "c-x");
        assert.equal(l["ray.io/is-ray-node"], "yes");
    });
});

for (const stack of STACKS) {
    describe(`network sim: ${stack}`, function () {
        this.timeout(120000);
        let w: World;
        let runs: ReturnType<typeof rayJobsOf>;
        before(async () => {
            w = await stackWorld(stack);
            runs = rayJobsOf(w);
        });

        const ray = (r: (typeof runs)[number]) => {
            const pods = runPods(w, r);
            return { pods, head: pods.find((p) => p.role === "ray-head")!, workers: pods.filter((p) => p.role === "ray-worker"), submitter: pods.find((p) => p.role === "ray-submitter") };
        };

        it("has runs, and its namespace denies by default", () => {
            assert.ok(runs.length > 0, `${stack} has no RayJob`);
            for (const r of runs) {
                const { head } = ray(r);
                assert.ok(head, `${r.metadata.name}: no head pod`);
                const v = evaluate(w, { from: STRANGER, to: head, port: 1 });
                assert.ok(v.ingress.isolated, `${endpointName(head)} is not isolated for ingress: no NetworkPolicy selects it`);
            }
        });

        it("worker → head: GCS (the head's --port)", () => {
            expectFlows(w, runs.flatMap((r) => ray(r).workers.map((x) => ({ what: `${r.metadata.name} worker → head GCS`, from: x, to: ray(r).head, port: headPorts(r).gcs }))), true);
        });

        it("head ↔ worker and worker ↔ worker: raylet, object manager, node manager, agents, worker processes (Ray's ports)", () => {
            const flows: Case[] = [];
            for (const r of runs) {
                const { head, workers } = ray(r);
                const nodes = [head, ...workers];
                for (const from of nodes)
                    for (const to of nodes) {
                        if (from === to) continue;
                        const ports = rayNodePorts(groupParams(r, to.group!));
                        for (const port of ports.node) flows.push({ what: `${r.metadata.name} ${from.role} → ${to.role} ${ports.what[port]}`, from, to, port });
                    }
            }
            expectFlows(w, flows, true);
        });

        it("submitter → head: dashboard (job submission)", () => {
            expectFlows(
                w,
                runs.map((r) => {
                    const { head, submitter } = ray(r);
                    assert.ok(submitter, `${r.metadata.name}: no submitter pod (K8sJobMode)`);
                    return { what: `${r.metadata.name} submitter → head dashboard`, from: submitter, to: head, port: headPorts(r).dashboard };
                }),
                true,
            );
        });

        it("KubeRay operator → head: dashboard (job status)", () => {
            const op = w.pods.find((p) => p.role === "kuberay-operator");
            assert.ok(op, `no KubeRay operator in ${w.stacks.join(" + ")}`);
            expectFlows(w, runs.map((r) => ({ what: `${r.metadata.name} operator → head dashboard`, from: op, to: ray(r).head, port: headPorts(r).dashboard })), true);
        });

        it("NCCL bootstrap and sockets: worker ↔ worker on any TCP port", function () {
            const samples = [1024, 29500, 32768, 45000, 60999, 65535];
            const flows = runs.flatMap((r) => {
                const { workers } = ray(r);
                return workers.flatMap((from) => workers.filter((to) => to !== from).flatMap((to) => samples.map((port) => ({ what: `${r.metadata.name} worker → worker NCCL`, from, to, port }))));
            });
            if (flows.length === 0) {
                // Every run of the stack has one worker pod: NCCL stays inside it.
                assert.ok(runs.every((r) => ray(r).workers.length === 1));
                console.log(`      (${stack}: every run has one worker pod; no pod-to-pod NCCL)`);
                return;
            }
            expectFlows(w, flows, true);
        });

        it("a run's headless Services: the pods they select reach each other on the target port (torchrun rendezvous of convert and fabric gate)", function () {
            const flows: Case[] = [];
            for (const svc of w.objects.filter((o) => o.kind === "Service" && o.stack === w.stack)) {
                const spec = svc.spec as { selector?: Record<string, string>; ports?: Array<{ name?: string; port: number; targetPort?: number }> };
                const pods = w.pods.filter((p) => p.namespace === svc.metadata.namespace && spec.selector && selects({ matchLabels: spec.selector }, p.labels));
                for (const from of pods) for (const to of pods) for (const sp of spec.ports ?? []) if (from !== to) flows.push({ what: `Service ${svc.metadata.name} ${sp.name ?? sp.port}`, from, to, port: Number(sp.targetPort ?? sp.port) });
            }
            if (flows.length === 0) return this.skip();
            expectFlows(w, flows, true);
        });

        it("DNS: every run pod → kube-system kube-dns 53/UDP and 53/TCP", () => {
            const flows = runs.flatMap((r) => ray(r).pods.flatMap((from) => (["UDP", "TCP"] as const).map((protocol) => ({ what: `${r.metadata.name} ${from.role} ${from.name} DNS/${protocol}`, from, to: KUBE_DNS, port: 53, protocol }))));
            expectFlows(w, flows, true);
        });

        it("download: the prep download Job → the internet (0.0.0.0/0) on 443", function () {
            const flows = runs.flatMap((r) =>
                ray(r)
                    .pods.filter((p) => p.role === "job" && p.labels["app.kubernetes.io/component"] === "download")
                    .map((from) => ({ what: `${r.metadata.name} download → ${INTERNET.ip}:443`, from, to: INTERNET, port: 443 })),
            );
            if (flows.length === 0) return this.skip();
            expectFlows(w, flows, true);
        });

        it("Prometheus → every PodMonitor/ServiceMonitor target on its named port", function () {
            const { targets, unscraped } = scrapeTargets(w);
            const monitors = w.objects.filter((o) => o.kind === "PodMonitor" || o.kind === "ServiceMonitor");
            if (monitors.length === 0) return this.skip();
            assert.deepEqual(unscraped, []);
            // Every monitor of the world has a target, and every run of this stack is scraped.
            for (const m of monitors) assert.ok(targets.some((t) => t.monitor.startsWith(`${m.kind} ${m.metadata.namespace}/${m.metadata.name} `)), `${m.kind} ${m.metadata.name} selects no pod`);
            for (const r of runs) assert.ok(targets.some((t) => t.pod.rayJob === r.metadata.name && t.pod.stack === r.stack), `no monitor scrapes run ${r.metadata.name}`);
            expectFlows(w, targets.map((t) => ({ what: `${t.monitor} → ${t.pod.role} ${t.pod.name} (${t.portName})`, from: t.prometheus, to: t.pod, port: t.port })), true);
        });

        it("negative control: a pod of another namespace → head GCS and dashboard is denied", () => {
            expectFlows(w, runs.flatMap((r) => [headPorts(r).gcs, headPorts(r).dashboard].map((port) => ({ what: `stranger → ${r.metadata.name} head`, from: STRANGER, to: ray(r).head, port }))), false);
        });

        it("negative control: another run's pod → this run's head GCS is denied", function () {
            const all = w.objects.filter((o) => o.kind === "RayJob");
            const flows = runs.flatMap((r) =>
                all.filter((o) => o !== r && o.metadata.namespace === r.metadata.namespace).map((o) => ({ what: `${o.metadata.name} worker → ${r.metadata.name} head GCS`, from: runPods(w, o).find((p) => p.role === "ray-worker")!, to: ray(r).head, port: headPorts(r).gcs })),
            );
            if (flows.length === 0) return this.skip();
            expectFlows(w, flows, false);
        });

        it("negative control: a run pod → the instance metadata service is denied", () => {
            expectFlows(w, runs.flatMap((r) => ray(r).pods.map((from) => ({ what: `${r.metadata.name} ${from.role} → IMDS`, from, to: IMDS, port: 80 }))), false);
        });
    });
}

describe("network sim: a run stack's runs get the cluster stack's run NetworkPolicy (issue 20)", function () {
    this.timeout(120000);

    it("the cluster stack exports the settings it gives its own runs; the run stack creates the same policy for each of its runs", async () => {
        const prod = await stackPlan("prod");
        const facts = prod.outputs[CLUSTER_FACTS_OUTPUT] as ClusterFacts;
        assert.equal(facts.version, CLUSTER_FACTS_VERSION);
        assert.deepEqual(facts.networkPolicy, runNetworkPolicy(prod.config!));
        assert.equal(facts.networkPolicy?.operatorNamespace, prod.config!.addons.namespace);
        assert.ok(facts.networkPolicy?.metricsNamespaces.includes(prod.config!.addons.monitoring.namespace));
        const w = await stackWorld("prod-runs");
        const mine = w.objects.filter((o) => o.stack === "prod-runs");
        const policies = mine.filter((o) => o.kind === "NetworkPolicy");
        const runs = mine.filter((o) => o.kind === "RayJob").map((o) => o.metadata.name);
        assert.deepEqual(policies.map((p) => p.metadata.name).sort(), runs.map((r) => `${r}-ingress`).sort());
        const own = w.objects.find((o) => o.stack === "prod" && o.kind === "NetworkPolicy" && o.metadata.name!.endsWith("-ingress"))!;
        const from = (o: typeof own) => ((o.spec as { ingress: Array<{ from: unknown }> }).ingress.slice(1) as unknown[]);
        for (const p of policies) assert.deepEqual(from(p).map((r) => (r as { from: unknown }).from), from(own).map((r) => (r as { from: unknown }).from), `${p.metadata.name}: not the cluster stack's operator and metrics peers`);
    });

    it("clusterFactsProblem: versions 1 and 2 are refused (no networkPolicy; no node-watch account), version 3 needs networkPolicy (null or settings) and the node watchers' account", () => {
        const base = { version: 3, stack: "prod", platform: "eks", monitoring: true, namespace: "miles", claimName: "c", serviceAccount: "s", nodeWatchServiceAccount: "miles-node-watch", queue: null, gpuNodeGroups: [], runs: [] };
        assert.equal(clusterFactsProblem({ ...base, networkPolicy: null }), undefined);
        assert.equal(clusterFactsProblem({ ...base, networkPolicy: { metricsNamespaces: [] } }), undefined);
        assert.equal(clusterFactsProblem({ ...base, networkPolicy: { operatorNamespace: "miles-system", metricsNamespaces: ["m"] } }), undefined);
        assert.match(clusterFactsProblem({ ...base, version: 1 })!, /version 1, this miles-cluster reads version 3: update the cluster stack first/);
        assert.match(clusterFactsProblem({ ...base, version: 2, networkPolicy: null })!, /version 2, this miles-cluster reads version 3: update the cluster stack first/);
        const { nodeWatchServiceAccount: _sa, ...noAccount } = base;
        assert.match(clusterFactsProblem({ ...noAccount, networkPolicy: null })!, /lacks .*nodeWatchServiceAccount/);
        assert.match(clusterFactsProblem(base)!, /no valid networkPolicy/);
        assert.match(clusterFactsProblem({ ...base, networkPolicy: { metricsNamespaces: "m" } })!, /no valid networkPolicy/);
        assert.match(clusterFactsProblem({ ...base, networkPolicy: { operatorNamespace: 1, metricsNamespaces: [] } })!, /no valid networkPolicy/);
    });

    it("a cluster stack without NetworkPolicies exports null (its run stacks create none)", async () => {
        const cfg = (await stackPlan("prod")).config!;
        assert.equal(runNetworkPolicy({ ...cfg, addons: { ...cfg.addons, networkPolicies: { ...cfg.addons.networkPolicies, enabled: false } } }), undefined);
        assert.equal(runNetworkPolicy({ ...cfg, addons: { ...cfg.addons, kuberay: { ...cfg.addons.kuberay, enabled: false } } })?.operatorNamespace, undefined);
    });
});

/**
 * Deployment simulation, scheduling and scale from zero (issue 20): every pod every committed stack
 * makes the cluster run lands on a node of a group it may use and fits it, the GPU workers of a run
 * have a node each, and a GPU group that scales from zero is scaled up by the Cluster Autoscaler for
 * every GPU pod that waits for it (test/sim/scheduling.ts says how each is modelled, and from where).
 */
import { strict as assert } from "node:assert";
import type { Plan } from "../../plan/run";
import { STACKS, stackPlan, k8sObjects, type K8sObject } from "./world";
import { clusterPlanOf, podTemplatesOf, type PodTemplate } from "./images";
import {
    allocatableOf,
    asgTagsOf,
    autoscalerOf,
    blockScheduled,
    caTagged,
    caTemplateNode,
    daemonSetsOf,
    discovered,
    fitAll,
    helmDaemonSetsOf,
    fitPod,
    kubeReservedCpuMillis,
    kubeReservedMemoryMi,
    nodeGroupsOf,
    parseQuantity,
    podRequests,
    podsPerNode,
    scaleUpProblems,
    undeclaredStartupTaints,
    type NodeGroupModel,
} from "./scheduling";

interface World {
    plan: Plan;
    cluster: Plan;
    objects: K8sObject[];
    groups: NodeGroupModel[];
    templates: PodTemplate[];
}

const worlds = new Map<string, Promise<World>>();
function world(stack: string): Promise<World> {
    let w = worlds.get(stack);
    if (!w) {
        w = (async () => {
            const plan = await stackPlan(stack);
            const cluster = await clusterPlanOf(plan);
            const objects = k8sObjects(plan);
            return { plan, cluster, objects, groups: nodeGroupsOf(cluster), templates: objects.flatMap((o) => podTemplatesOf(o)) };
        })();
        worlds.set(stack, w);
    }
    return w;
}

const GIB = 2 ** 30;

/** The kinds of pod a stack runs, one named case per stack and kind (the templates themselves are known only once planned). */
const POD_KINDS = ["Ray head", "Ray GPU worker", "RayJob submitter", "model prep Job (download, convert)", "fabric gate Job", "run lifecycle Job/CronJob", "cluster Job", "node agent DaemonSet"] as const;
function podKind(t: PodTemplate): (typeof POD_KINDS)[number] {
    if (t.role === "head") return "Ray head";
    if (t.role.startsWith("worker:")) return "Ray GPU worker";
    if (t.role === "submitter") return "RayJob submitter";
    // Our DaemonSets on GPU nodes (the node check): they belong there, one pod per node.
    if (t.object.kind === "DaemonSet") return "node agent DaemonSet";
    const name = t.object.metadata.name ?? "";
    if (/-(download|convert)$/.test(name)) return "model prep Job (download, convert)";
    if (/-fabric$/.test(name)) return "fabric gate Job";
    if (t.object.kind === "CronJob" || t.labels["app.kubernetes.io/instance"] !== undefined || /-presave-|-lifecycle/.test(name)) return "run lifecycle Job/CronJob";
    return "cluster Job";
}
const requestsGpu = (t: PodTemplate) => (podRequests(t)["nvidia.com/gpu"] ?? 0) > 0;

describe("sim: scheduling", () => {
    describe("kubelet reservations of the EKS AL2023 AMI (nodeadm config.go at v20260724)", () => {
        it("CPU: 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% of the rest", () => {
            assert.equal(kubeReservedCpuMillis(1), 60);
            assert.equal(kubeReservedCpuMillis(2), 70);
            assert.equal(kubeReservedCpuMillis(4), 80);
            assert.equal(kubeReservedCpuMillis(192), 80 + (192000 - 4000) * 0.0025);
        });
        it("memory: 255 MiB + 11 MiB per pod, plus 100 MiB hard eviction; pre-allocated huge pages leave memory too", () => {
            assert.equal(kubeReservedMemoryMi(58), 893);
            const a = allocatableOf({ cpu: 4, memory: 16 * GIB, pods: 58 });
            assert.equal(a.memory, 16 * GIB - (893 + 100) * 2 ** 20);
            const h = allocatableOf({ cpu: 192, memory: 2048 * GIB, pods: 100, "hugepages-2Mi": 10256 * 2 ** 20 });
            assert.equal(h.memory, 2048 * GIB - (1355 + 100 + 10256) * 2 ** 20);
        });
        it("quantities", () => {
            assert.deepEqual(["500m", "184", "1802Gi", "5120Mi", "1k"].map(parseQuantity), [0.5, 184, 1802 * GIB, 5120 * 2 ** 20, 1000]);
        });
    });

    for (const stack of STACKS) {
        describe(`stack ${stack}`, () => {
            let w: World;
            before(async () => {
                w = await world(stack);
            });
            it("has node groups to schedule on, and pods to schedule", () => {
                assert.ok(w.groups.some((g) => g.role === "gpu"), "no GPU node group");
                assert.ok(w.templates.length > 0);
                assert.ok(w.templates.some((t) => podKind(t) === "Ray head") && w.templates.some((t) => podKind(t) === "Ray GPU worker"), "no Ray head or worker");
            });
            // One named case per pod template: the templates are known only after planning, so the
            // cases are generated inside one `it` per kind of pod with every template's verdict listed.
            for (const kind of POD_KINDS) {
                it(`every ${kind} pod lands on a node group it may use and fits its node's allocatable (after kubelet reservations and DaemonSets)`, function () {
                    const ts = w.templates.filter((t) => podKind(t) === kind);
                    if (ts.length === 0) return this.skip();
                    const systemKnown = w.groups.some((g) => g.role === "system");
                    const ds = [...daemonSetsOf(w.objects), ...helmDaemonSetsOf(w.cluster)];
                    const bad: string[] = [];
                    for (const t of ts) {
                        // On a bring-your-own cluster the untainted nodes are the user's: CPU pods are not modelled there.
                        if (!systemKnown && !requestsGpu(t) && !t.spec.nodeSelector) continue;
                        const f = fitPod(t, w.groups, ds);
                        if (f.problems.length > 0) bad.push(`${t.id}: ${f.problems.join(" | ")}`);
                        // CPU pods of a run's control plane run on the system group only (the GPU taint keeps them off GPU nodes).
                        if (systemKnown && (kind === "Ray head" || kind === "RayJob submitter" || kind === "run lifecycle Job/CronJob" || kind === "cluster Job")) {
                            const off = f.groups.filter((g) => w.groups.find((x) => x.name === g)?.role !== "system");
                            if (off.length > 0) bad.push(`${t.id}: may land on GPU group(s) ${off.join(", ")}`);
                        }
                    }
                    assert.deepEqual(bad, []);
                });
            }
            it("each GPU worker of a run has a node of its own (gpusPerNode GPUs), and the run's groups have nodes for all of them", () => {
                const bad: string[] = [];
                for (const o of w.objects.filter((x) => x.kind === "RayJob")) {
                    const perGroup = new Map<string, number>();
                    for (const t of podTemplatesOf(o).filter((x) => x.role.startsWith("worker:"))) {
                        const f = fitPod(t, w.groups);
                        for (const gName of f.fits) {
                            const g = w.groups.find((x) => x.name === gName)!;
                            // On a bring-your-own node of unknown type only its GPUs (and EFA/RDMA) are known.
                            const req = g.partial ? Object.fromEntries(Object.entries(f.request).filter(([k]) => k in g.allocatable)) : f.request;
                            if (podsPerNode(req, g.allocatable) !== 1) bad.push(`${t.id}: ${podsPerNode(req, g.allocatable)} workers fit one ${gName} node`);
                            if ((f.request["nvidia.com/gpu"] ?? 0) !== g.capacity["nvidia.com/gpu"]) bad.push(`${t.id}: requests ${f.request["nvidia.com/gpu"]} GPUs of a ${g.capacity["nvidia.com/gpu"]}-GPU node`);
                        }
                        if (f.fits.length !== 1) bad.push(`${t.id}: a worker group lands on ${f.fits.length} node groups (${f.fits.join(", ")}), expected its own`);
                        else perGroup.set(f.fits[0], (perGroup.get(f.fits[0]) ?? 0) + t.pods);
                    }
                    for (const [gName, n] of perGroup) {
                        const g = w.groups.find((x) => x.name === gName)!;
                        if (n > g.maxNodes) bad.push(`RayJob ${o.metadata.name}: ${n} workers on ${gName}, which has ${g.maxNodes} node(s)`);
                    }
                }
                assert.deepEqual(bad, []);
            });
        });
    }

    describe("scale from zero: the Cluster Autoscaler 1.35 template node admits every GPU pod of the group", () => {
        for (const stack of STACKS) {
            it(`stack ${stack}: every GPU group with min 0 is discovered, and every pod that waits for it fits its template node`, async function () {
                const w = await world(stack);
                const atZero = w.groups.filter((g) => g.role === "gpu" && g.minNodes === 0 && g.nodeGroup);
                // A group at 0 is scaled up either by the CA (its ASG carries our tags) or by the Capacity Block's scheduled start.
                const orphans = atZero.filter((g) => !caTagged(w.cluster, g.name) && !blockScheduled(w.cluster, g.name)).map((g) => g.name);
                assert.deepEqual(orphans, [], "groups at min 0 that nothing scales up");
                const zero = atZero.filter((g) => caTagged(w.cluster, g.name));
                if (zero.length === 0) return this.skip();
                const ca = autoscalerOf(w.cluster);
                assert.ok(ca, "a group scales from zero but the stack installs no Cluster Autoscaler");
                const bad: string[] = [];
                let checked = 0;
                for (const g of zero) {
                    const tags = asgTagsOf(w.cluster, g.name, ca.clusterName);
                    const missing = discovered(tags, ca);
                    if (missing.length > 0) bad.push(`${g.name}: its ASG lacks the discovery tag(s) ${missing.join(", ")}`);
                    const undeclared = undeclaredStartupTaints(g, ca);
                    if (undeclared.length > 0) bad.push(`${g.name}: startup taint(s) ${undeclared.join(", ")} not declared to the autoscaler (--startup-taint)`);
                    const node = caTemplateNode(g, tags, ca);
                    for (const t of w.templates.filter((x) => fitPod(x, w.groups).groups.includes(g.name))) {
                        checked++;
                        const p = scaleUpProblems(t, node);
                        if (p.length > 0) bad.push(`${t.id} on ${g.name}: ${p.join("; ")}`);
                    }
                }
                assert.ok(checked > 0, "no pod waits for the groups that scale from zero");
                assert.deepEqual(bad, []);
            });
        }
    });

    describe("negative controls: a pod that does not fit fails", () => {
        let dev: World;
        before(async () => {
            dev = await world("dev");
        });
        const worker = () => structuredClone(dev.templates.find((t) => t.role.startsWith("worker:"))!);
        it("a worker asking for more memory than a p5 node has left after the kubelet", () => {
            const t = worker();
            t.spec.containers[0].resources!.requests!.memory = "2040Gi";
            assert.match(fitPod(t, dev.groups).problems.join("\n"), /memory: requests .* the node has/);
        });
        it("a GPU pod without the GPU toleration lands nowhere", () => {
            const t = worker();
            t.spec.tolerations = [];
            assert.match(fitPod(t, dev.groups).problems.join("\n"), /lands on no node group.*no toleration for taint nvidia\.com\/gpu=true:NoSchedule/);
        });
        it("a head that selects a GPU group (without the toleration) lands nowhere", () => {
            const t = structuredClone(dev.templates.find((x) => x.role === "head")!);
            t.spec.nodeSelector = { "miles-cluster.io/node-group": "h100" };
            assert.match(fitPod(t, dev.groups).problems.join("\n"), /lands on no node group/);
        });
        it("more workers than the group has nodes", () => {
            const t = worker();
            t.pods = 3;
            assert.match(fitPod(t, dev.groups).problems.join("\n"), /3 pod\(s\) need 3 node\(s\) at once, the groups it fits \(h100\) have 1/);
        });
        it("a DaemonSet of 8 CPUs on every node leaves the worker (184 CPUs) no room on a p5", () => {
            const ds = { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "hog" }, spec: { template: { spec: { tolerations: [{ operator: "Exists" }], containers: [{ name: "c", image: "x", resources: { requests: { cpu: "8" } } }] } } } } as unknown as K8sObject;
            assert.equal(fitAll([...dev.objects], dev.groups).filter((f) => f.problems.length > 0).length, 0);
            const bad = fitAll([...dev.objects, ds], dev.groups).filter((f) => f.problems.length > 0).map((f) => f.template);
            assert.ok(bad.some((b) => b.includes("/worker")), bad.join(","));
        });
        it("a Helm DaemonSet chart whose values request 8 CPUs, on the GPU nodes by its chart's placement, does too; the stack's own charts request nothing", async () => {
            const helm = helmDaemonSetsOf(dev.plan);
            assert.deepEqual(helm.map((d) => d.name.split(" ")[0]).sort(), ["aws-efa-k8s-device-plugin", "dcgm-exporter", "nvidia-device-plugin"]);
            assert.ok(helm.every((d) => Object.keys(d.request).length === 0));
            // The plan with that one release's values changed (copies only what changes; the plan itself is shared).
            const resources = dev.plan.resources.map((r) => (r.inputs.chart === "nvidia-device-plugin" ? { ...r, inputs: { ...r.inputs, values: { ...(r.inputs.values as object), resources: { requests: { cpu: "8" } } } } } : r));
            const plan = { ...dev.plan, resources };
            const bad = fitAll(dev.objects, dev.groups, helmDaemonSetsOf(plan)).filter((f) => f.problems.length > 0).map((f) => f.template);
            assert.ok(bad.some((b) => b.includes("/worker")), bad.join(","));
        });
        it("the ASG tags main had (no node-template/resources/hugepages-2Mi): the CA never scales dev's h100 group up for the worker", () => {
            const ca = autoscalerOf(dev.plan)!;
            const g = dev.groups.find((x) => x.name === "h100")!;
            const tags = asgTagsOf(dev.plan, "h100", ca.clusterName);
            assert.equal(tags["k8s.io/cluster-autoscaler/node-template/resources/hugepages-2Mi"], "10256Mi");
            delete tags["k8s.io/cluster-autoscaler/node-template/resources/hugepages-2Mi"];
            assert.match(scaleUpProblems(worker(), caTemplateNode(g, tags, ca)).join("\n"), /hugepages-2Mi: requests 5120Mi, the node has 0Mi \(no such resource\)/);
        });
        it("a template node without the EFA resource tag, or with a taint the pod does not tolerate; a startup taint the CA is not told about; an ASG the CA does not discover", () => {
            const ca = autoscalerOf(dev.plan)!;
            const g = dev.groups.find((x) => x.name === "h100")!;
            const tags = asgTagsOf(dev.plan, "h100", ca.clusterName);
            assert.deepEqual(scaleUpProblems(worker(), caTemplateNode(g, tags, ca)), []);
            const noEfa = { ...tags };
            delete noEfa["k8s.io/cluster-autoscaler/node-template/resources/vpc.amazonaws.com/efa"];
            assert.match(scaleUpProblems(worker(), caTemplateNode(g, noEfa, ca)).join("\n"), /vpc\.amazonaws\.com\/efa/);
            const tainted = { ...tags, "k8s.io/cluster-autoscaler/node-template/taint/dedicated": "x:NoSchedule" };
            assert.match(scaleUpProblems(worker(), caTemplateNode(g, tainted, ca)).join("\n"), /no toleration for taint dedicated=x:NoSchedule/);
            // A startup-taint prefix is removed from the template (taints.go), so it does not block.
            const startup = { ...tags, "k8s.io/cluster-autoscaler/node-template/taint/startup-taint.cluster-autoscaler.kubernetes.io/x": "y:NoExecute" };
            assert.deepEqual(scaleUpProblems(worker(), caTemplateNode(g, startup, ca)), []);
            // A startup taint the autoscaler is not told about (what the chart values had before this branch).
            assert.ok((g.nodeGroup!.taints as Array<{ key: string }>).some((x) => x.key === "fsx.csi.aws.com/agent-not-ready"), "dev's GPU nodes start with the FSx taint");
            assert.deepEqual(undeclaredStartupTaints(g, ca), []);
            assert.deepEqual(undeclaredStartupTaints(g, { ...ca, startupTaints: [] }), ["fsx.csi.aws.com/agent-not-ready", "miles-cluster.io/health-pending"]);
            // The node check's startup taint: on the group's nodes, told to the autoscaler, not on the template node.
            assert.ok((g.nodeGroup!.taints as Array<{ key: string }>).some((x) => x.key === "miles-cluster.io/health-pending"), "dev's GPU nodes start with the health-pending taint");
            assert.deepEqual(undeclaredStartupTaints(g, { ...ca, startupTaints: ca.startupTaints.filter((k) => k !== "miles-cluster.io/health-pending") }), ["miles-cluster.io/health-pending"]);
            assert.ok(!caTemplateNode(g, tags, ca).taints.some((x) => x.key === "miles-cluster.io/health-pending"), "the CA template node drops the declared startup taint");
            const undiscovered = { ...tags };
            delete undiscovered["miles-cluster/autoscale"];
            assert.deepEqual(discovered(undiscovered, ca), ["miles-cluster/autoscale"]);
        });
    });
});

import { strict as assert } from "node:assert";
import { blockingTaints, daemonSetLandsOn, matchesRequirement, matchesRequiredNodeAffinity, matchesTerm, nodeLabelsOf, toleratesTaint, type Toleration } from "../domain/scheduling";
import { dcgmExporterPlacement, efaDevicePluginPlacement, helmMerge, nvidiaDevicePluginPlacement } from "../domain/chartPlacement";
import type { Taint } from "../catalog/nodeLabels";
import type { GpuNodeGroupInfo } from "../domain/gpuNodes";

const gpuTaint: Taint = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" };

describe("scheduling rules (Kubernetes semantics)", () => {
    describe("tolerations", () => {
        it("Exists on the key tolerates any value; Equal needs the same value", () => {
            assert.equal(toleratesTaint({ key: "nvidia.com/gpu", operator: "Exists" }, gpuTaint), true);
            assert.equal(toleratesTaint({ key: "nvidia.com/gpu", operator: "Equal", value: "true" }, gpuTaint), true);
            // k8s-device-plugin #1934: NFD's worker tolerates nvidia.com/gpu=present only.
            assert.equal(toleratesTaint({ key: "nvidia.com/gpu", operator: "Equal", value: "present", effect: "NoSchedule" }, gpuTaint), false);
        });
        it("the operator defaults to Equal (no value = empty value)", () => {
            assert.equal(toleratesTaint({ key: "nvidia.com/gpu" }, gpuTaint), false);
            assert.equal(toleratesTaint({ key: "nvidia.com/gpu" }, { ...gpuTaint, value: "" }), true);
        });
        it("an effect, when set, must match; an empty key with Exists tolerates everything", () => {
            assert.equal(toleratesTaint({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoExecute" }, gpuTaint), false);
            assert.equal(toleratesTaint({ operator: "Exists" }, gpuTaint), true);
            assert.equal(toleratesTaint({ key: "other", operator: "Exists" }, gpuTaint), false);
        });
        it("PreferNoSchedule never blocks; NoSchedule and NoExecute do", () => {
            const taints: Taint[] = [
                { key: "a", value: "1", effect: "PreferNoSchedule" },
                { key: "b", value: "1", effect: "NoExecute" },
                gpuTaint,
            ];
            assert.deepEqual(
                blockingTaints([], taints).map((t) => t.key),
                ["b", "nvidia.com/gpu"],
            );
            const tol: Toleration[] = [{ key: "b", operator: "Exists" }];
            assert.deepEqual(
                blockingTaints(tol, taints).map((t) => t.key),
                ["nvidia.com/gpu"],
            );
        });
    });

    describe("node affinity", () => {
        const labels = { "kubernetes.io/os": "linux", zone: "a", cpus: "192" };
        it("In / NotIn / Exists / DoesNotExist, with absent labels", () => {
            assert.equal(matchesRequirement({ key: "zone", operator: "In", values: ["a", "b"] }, labels), true);
            assert.equal(matchesRequirement({ key: "missing", operator: "In", values: ["a"] }, labels), false);
            assert.equal(matchesRequirement({ key: "zone", operator: "NotIn", values: ["a"] }, labels), false);
            assert.equal(matchesRequirement({ key: "missing", operator: "NotIn", values: ["auto"] }, labels), true);
            assert.equal(matchesRequirement({ key: "zone", operator: "Exists" }, labels), true);
            assert.equal(matchesRequirement({ key: "zone", operator: "DoesNotExist" }, labels), false);
            assert.equal(matchesRequirement({ key: "missing", operator: "DoesNotExist" }, labels), true);
        });
        it("Gt / Lt compare integers", () => {
            assert.equal(matchesRequirement({ key: "cpus", operator: "Gt", values: ["96"] }, labels), true);
            assert.equal(matchesRequirement({ key: "cpus", operator: "Lt", values: ["96"] }, labels), false);
            assert.equal(matchesRequirement({ key: "zone", operator: "Gt", values: ["1"] }, labels), false);
        });
        it("expressions in a term are AND'ed; an empty term matches nothing", () => {
            assert.equal(matchesTerm({ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }, { key: "missing", operator: "Exists" }] }, labels), false);
            assert.equal(matchesTerm({ matchExpressions: [] }, labels), false);
        });
        it("terms are OR'ed; no required affinity allows every node", () => {
            const affinity = {
                nodeAffinity: {
                    requiredDuringSchedulingIgnoredDuringExecution: {
                        nodeSelectorTerms: [{ matchExpressions: [{ key: "missing", operator: "Exists" as const }] }, { matchExpressions: [{ key: "zone", operator: "In" as const, values: ["a"] }] }],
                    },
                },
            };
            assert.equal(matchesRequiredNodeAffinity(affinity, labels), true);
            assert.equal(matchesRequiredNodeAffinity(undefined, labels), true);
            assert.equal(matchesRequiredNodeAffinity({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } }, labels), false);
        });
    });

    describe("DaemonSet placement", () => {
        const node = { labels: { "nvidia.com/gpu.present": "true" }, taints: [gpuTaint] };
        it("a DaemonSet without the GPU toleration gets no pod on a tainted GPU node, and says why", () => {
            const v = daemonSetLandsOn({}, node);
            assert.equal(v.lands, false);
            assert.match(v.reasons.join(";"), /no toleration for taint nvidia\.com\/gpu=true:NoSchedule/);
        });
        it("nodeSelector must match every key", () => {
            const tol = [{ key: "nvidia.com/gpu", operator: "Exists" as const }];
            assert.equal(daemonSetLandsOn({ tolerations: tol, nodeSelector: { "nvidia.com/gpu.present": "true" } }, node).lands, true);
            assert.equal(daemonSetLandsOn({ tolerations: tol, nodeSelector: { "nvidia.com/gpu.present": "true", x: "y" } }, node).lands, false);
        });
        it("the controller's own tolerations cover a not-ready node", () => {
            assert.equal(daemonSetLandsOn({}, { labels: {}, taints: [{ key: "node.kubernetes.io/not-ready", value: "", effect: "NoExecute" }] }).lands, true);
        });
    });

    describe("node labels", () => {
        const group: GpuNodeGroupInfo = {
            name: "h100",
            instanceType: "p5.48xlarge",
            nodes: 2,
            gpusPerNode: 8,
            efaPerNode: 32,
            amiFamily: "al2023",
            labels: { "miles-cluster.io/node-group": "h100" },
            selector: { "miles-cluster.io/node-group": "h100" },
            taints: [gpuTaint],
        };
        it("adds what the kubelet and EKS set, and no eks.amazonaws.com/compute-type on managed node groups", () => {
            const l = nodeLabelsOf(group);
            assert.equal(l["node.kubernetes.io/instance-type"], "p5.48xlarge");
            assert.equal(l["kubernetes.io/os"], "linux");
            assert.equal(l["kubernetes.io/arch"], "amd64");
            assert.equal(l["eks.amazonaws.com/nodegroup"], "h100");
            assert.equal("eks.amazonaws.com/compute-type" in l, false);
            assert.equal(l["miles-cluster.io/node-group"], "h100");
        });
        it("assumes no instance type or arch on a bring-your-own group", () => {
            const l = nodeLabelsOf({ ...group, instanceType: undefined, amiFamily: undefined });
            assert.equal("node.kubernetes.io/instance-type" in l, false);
            assert.equal("kubernetes.io/arch" in l, false);
            assert.equal("eks.amazonaws.com/nodegroup" in l, false);
        });
    });
});

describe("chart placement models", () => {
    it("Helm merge: maps merge, lists replace, null deletes", () => {
        assert.deepEqual(helmMerge({ a: { b: 1, c: 2 }, l: [1, 2], d: 1 }, { a: { c: 3 }, l: [9], d: null }), { a: { b: 1, c: 3 }, l: [9] });
    });

    it("nvidia-device-plugin defaults: GPU toleration and the gpu.present affinity term", () => {
        const p = nvidiaDevicePluginPlacement({});
        const al2023 = { labels: { "nvidia.com/gpu.present": "true" }, taints: [gpuTaint] };
        assert.equal(daemonSetLandsOn(p, al2023).lands, true);
        // A GPU node nobody labelled: the default affinity needs NFD's or our label (eksctl PR #8866).
        assert.equal(daemonSetLandsOn(p, { labels: {}, taints: [gpuTaint] }).lands, false);
    });

    it("aws-efa-k8s-device-plugin defaults: no GPU toleration, so DESIRED 0 on tainted p5 nodes", () => {
        const p = efaDevicePluginPlacement({});
        const p5 = { labels: { "node.kubernetes.io/instance-type": "p5.48xlarge" }, taints: [gpuTaint] };
        assert.equal(daemonSetLandsOn(p, p5).lands, false);
        assert.equal(daemonSetLandsOn(p, { ...p5, taints: [] }).lands, true);
    });

    it("aws-efa-k8s-device-plugin: compute-type NotIn [auto] lands in the last term only", () => {
        const p = efaDevicePluginPlacement({ supportedInstanceLabels: { keys: ["a", "b"], values: ["x"] }, tolerations: [{ key: "nvidia.com/gpu", operator: "Exists" }] });
        const terms = p.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms;
        assert.equal(terms.length, 2);
        assert.equal(terms[0].matchExpressions!.length, 1);
        assert.deepEqual(terms[1].matchExpressions![1], { key: "eks.amazonaws.com/compute-type", operator: "NotIn", values: ["auto"] });
        // Auto Mode node (eks-charts #1358) matched through the first term still gets a pod; through the last, not.
        assert.equal(daemonSetLandsOn(p, { labels: { a: "x", "eks.amazonaws.com/compute-type": "auto" }, taints: [] }).lands, true);
        assert.equal(daemonSetLandsOn(p, { labels: { b: "x", "eks.amazonaws.com/compute-type": "auto" }, taints: [] }).lands, false);
    });

    it("dcgm-exporter defaults: no GPU toleration (dcgm-exporter #731)", () => {
        assert.equal(daemonSetLandsOn(dcgmExporterPlacement({}), { labels: { "nvidia.com/gpu.present": "true" }, taints: [gpuTaint] }).lands, false);
    });
});

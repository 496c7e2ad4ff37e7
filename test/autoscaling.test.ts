/**
 * No idle paid GPUs: on-demand/spot groups scale 0..max with the pinned Cluster Autoscaler and the
 * scale-from-zero tags; reserved groups stay fixed; the cost line is honest about its basis.
 */
import { strict as assert } from "node:assert";
import { planConfig, ofType, one } from "./harness";
import type { Plan } from "../plan/run";
import { GpuNodeGroupSchema } from "../config/cluster";
import { groupCost } from "../domain/lifecycle/cost";
import { autoscales, autoscalingAsgTags, clusterAutoscalerValues } from "../domain/lifecycle/autoscaling";
import { CHARTS } from "../catalog/versions";

const group = (g: Record<string, unknown>) => GpuNodeGroupSchema.parse({ name: "g", instanceType: "p5.48xlarge", nodes: 2, ...g });

describe("autoscaling and idle cost (pure)", () => {
    it("on-demand and spot autoscale by default, unless scaling: fixed; reservations never", () => {
        assert.equal(autoscales(group({})), true);
        assert.equal(autoscales(group({ capacity: { type: "spot" } })), true);
        assert.equal(autoscales(group({ scaling: "fixed" })), false);
        assert.equal(autoscales(group({ capacity: { type: "capacity-reservation", reservationId: "cr-0123456789abcdef0" } })), false);
        assert.equal(autoscales(group({ capacity: { type: "capacity-block", reservationId: "cr-0123456789abcdef0" } })), false);
    });

    it("scale-from-zero node template: GPUs, EFA devices and huge pages of the instance type, the group's labels and taint", () => {
        const t = autoscalingAsgTags(group({ instanceType: "p5en.48xlarge" }));
        assert.equal(t["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"], "8");
        assert.equal(t["k8s.io/cluster-autoscaler/node-template/resources/vpc.amazonaws.com/efa"], "16");
        // The EFA node's pre-allocated huge pages, which the worker and gate pods request (test/sim/scheduling.test.ts: scale from zero).
        assert.equal(t["k8s.io/cluster-autoscaler/node-template/resources/hugepages-2Mi"], "10256Mi");
        assert.equal(t["k8s.io/cluster-autoscaler/node-template/label/miles-cluster.io/node-group"], "g");
        assert.equal(t["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"], "true:NoSchedule");
    });

    it("startup taints reach the autoscaler as one --startup-taint each (the chart's key_suffix form), none by default", () => {
        const extra = (v: Record<string, unknown>) => v.extraArgs as Record<string, unknown>;
        assert.equal(Object.keys(extra(clusterAutoscalerValues("c", "us-east-1", "sa"))).some((k) => k.startsWith("startup-taint")), false);
        const e = extra(clusterAutoscalerValues("c", "us-east-1", "sa", ["fsx.csi.aws.com/agent-not-ready", "x/y"]));
        assert.deepEqual([e["startup-taint"], e["startup-taint_1"]], ["fsx.csi.aws.com/agent-not-ready", "x/y"]);
    });

    it("idle cost per group: $0 when autoscaled, the full rate when fixed or reserved; spot at a labelled assumption or your figure; a block at its own price", () => {
        const od = groupCost(group({}));
        assert.deepEqual([od.canIdle, od.usdPerHourIdle, od.usdPerHourRunning], [true, 0, 2 * 55.04]);
        const fixed = groupCost(group({ scaling: "fixed" }));
        assert.equal(fixed.usdPerHourIdle, 2 * 55.04);
        assert.match(fixed.idle, /run all the time/);
        const spot = groupCost(group({ capacity: { type: "spot" } }));
        assert.ok(Math.abs(spot.usdPerNodeHour - 55.04 * 0.4) < 1e-9);
        assert.match(spot.basis, /ASSUMED at 40% of on-demand/);
        assert.equal(groupCost(group({ capacity: { type: "spot", usdPerHour: 20 } })).usdPerNodeHour, 20);
        const cb = groupCost(group({ capacity: { type: "capacity-block", reservationId: "cr-0123456789abcdef0", window: { start: "2026-12-07T11:30:00Z", end: "2026-12-08T11:30:00Z" }, upfrontPriceUsd: 1200 } }));
        assert.equal(cb.usdPerHourRunning, 50); // $1200 over 24 h
        assert.deepEqual([cb.canIdle, cb.usdPerHourIdle], [false, 50]);
        assert.match(groupCost(group({ capacity: { type: "capacity-block", reservationId: "cr-0123456789abcdef0" } })).basis, /price unknown offline .* reference only/);
    });
});

describe("Cluster Autoscaler in the plan of an on-demand stack", function () {
    this.timeout(120000);
    let p: Plan;
    before(async () => {
        p = await planConfig({
            "aws:region": "us-east-1",
            "miles-cluster:cluster": {
                availabilityZone: "us-east-1a",
                endpoint: { publicAccessCidrs: ["203.0.113.0/24"] },
                gpuNodeGroups: [
                    { name: "od", instanceType: "p5.48xlarge", nodes: 2 },
                    { name: "cb", instanceType: "p5.48xlarge", nodes: 2, capacity: { type: "capacity-block", reservationId: "cr-0123456789abcdef0" } },
                ],
            },
            "miles-cluster:training": { enabled: false },
        });
        assert.deepEqual(p.problems, []);
    });

    it("the pinned chart, discovering only the groups tagged for it, with least-privilege IAM", () => {
        const rel = ofType(p, "kubernetes:helm.sh/v3:Release").find((r) => r.inputs.chart === "cluster-autoscaler")!;
        assert.deepEqual([rel.inputs.version, (rel.inputs.repositoryOpts as any).repo], [CHARTS.clusterAutoscaler.version, CHARTS.clusterAutoscaler.repo]);
        const v = rel.inputs.values as any;
        assert.deepEqual(v.autoDiscovery.tags, ["k8s.io/cluster-autoscaler/enabled", "k8s.io/cluster-autoscaler/miles-test", "miles-cluster/autoscale"]);
        assert.equal(v.awsRegion, "us-east-1");
        const policy = JSON.parse(String(one(p, "aws:iam/rolePolicy:RolePolicy", "cluster-autoscaler-policy").inputs.policy));
        const scale = policy.Statement.find((s: any) => s.Sid === "ScaleAutoscaledGroups");
        assert.deepEqual(scale.Condition, { StringEquals: { "aws:ResourceTag/miles-cluster/autoscale": "true" } });
    });

    it("tags only the on-demand group's ASG; the Capacity Block group stays out of the autoscaler", () => {
        const tagged = new Set(ofType(p, "aws:autoscaling/tag:Tag").map((t) => t.name.split("-tag-")[0]));
        assert.deepEqual([...tagged], ["cluster-autoscaler-od"]);
        const od = one(p, "aws:eks/nodeGroup:NodeGroup", "cluster-gpu-od-ng");
        assert.deepEqual((od.inputs as any).scalingConfig, { minSize: 0, desiredSize: 0, maxSize: 2 });
        assert.deepEqual(od.options?.ignoreChanges, ["scalingConfig.desiredSize"]);
        const lines = Object.fromEntries(p.summary!.lines.cluster);
        assert.match(lines["cluster autoscaler"], /scales od 0\.\.2 from zero/);
        assert.match(lines["  cb idle"], /fixed for the block/);
        assert.match(lines["  od idle"], /idle \$0\/h/);
    });

    it("the cost line includes the system nodes and the NAT gateway", () => {
        const items = p.summary!.cost.items.map((i) => i.item);
        assert.ok(items.includes("2 × m7i.xlarge system nodes"));
        assert.ok(items.some((i) => i.startsWith("1 NAT gateway")));
        assert.ok(items.includes("2 × p5.48xlarge (od) while running, $0 idle"));
    });
});

/** One capacity plan per GPU node group (issue 20): the node group, the autoscaler wiring and the plan render it. */
import { strict as assert } from "node:assert";
import { GpuNodeGroupSchema } from "../config/cluster";
import { capacityPlanOf } from "../domain/capacity";
import { stackPlan } from "./sim/world";

const group = (capacity: Record<string, unknown>, extra: Record<string, unknown> = {}) => GpuNodeGroupSchema.parse({ name: "g", instanceType: "p5.48xlarge", nodes: 4, capacity, ...extra });

describe("capacity plan of a GPU node group", () => {
    it("says who owns the size after creation, and scales from that owner's starting point", () => {
        const spot = capacityPlanOf(group({ type: "spot" }));
        assert.equal(spot.sizeOwner, "cluster-autoscaler");
        assert.deepEqual(spot.scaling, { minSize: 0, desiredSize: 0, maxSize: 4 });
        // The autoscaler builds a node from these tags when the group is at 0 (p5.48xlarge: 8 H100s, 32 EFA interfaces).
        assert.equal(spot.asgTags["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"], "8");
        assert.equal(spot.asgTags["k8s.io/cluster-autoscaler/node-template/resources/vpc.amazonaws.com/efa"], "32");
        const fixed = capacityPlanOf(group({ type: "on-demand" }, { scaling: "fixed" }));
        assert.equal(fixed.sizeOwner, "pulumi");
        assert.deepEqual(fixed.scaling, { minSize: 4, desiredSize: 4, maxSize: 4 });
        assert.deepEqual(fixed.asgTags, {});
        const block = capacityPlanOf(group({ type: "capacity-block", reservationId: "cr-0123456789abcdef0" }));
        assert.equal(block.sizeOwner, "block-schedule");
        assert.equal(block.capacityType, "CAPACITY_BLOCK");
        assert.equal(block.instanceTypes, undefined, "a Capacity Block node group names its instance type in the launch template only");
        assert.deepEqual(block.scaling, { minSize: 0, desiredSize: 0, maxSize: 4 });
        assert.equal(block.block?.reservationId, "cr-0123456789abcdef0");
        assert.equal(block.placement.kind, "none", "reserved capacity is placed by AWS");
    });

    it("is what the deployed node groups carry, for every GPU group of the prod, moe-fp8 and multi-group stacks", async () => {
        for (const name of ["prod", "moe-fp8", "multi-group"]) {
            const p = await stackPlan(name);
            for (const g of p.config!.cluster.gpuNodeGroups) {
                const cap = capacityPlanOf(g);
                const ng = p.resources.find((r) => r.type === "aws:eks/nodeGroup:NodeGroup" && r.inputs.nodeGroupName === g.name);
                assert.ok(ng, `${name}: node group ${g.name}`);
                assert.equal(ng.inputs.capacityType, cap.capacityType, `${name}/${g.name}: capacity type`);
                assert.deepEqual(ng.inputs.scalingConfig, cap.scaling, `${name}/${g.name}: scaling`);
                assert.deepEqual(ng.options?.ignoreChanges ?? [], cap.sizeOwner === "pulumi" ? [] : ["scalingConfig.desiredSize"], `${name}/${g.name}: Pulumi leaves the size to its owner`);
            }
        }
    });
});

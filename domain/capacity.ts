/**
 * One capacity plan per GPU node group: how its instances are bought (capacity type), where they sit
 * (placement group), who owns the group's size after creation (Pulumi, the Cluster Autoscaler, or the
 * Capacity Block's scheduled actions), the Auto Scaling group tags the autoscaler builds its template
 * node from, and the block window. The node group component, the cluster's autoscaler wiring and the
 * plan render this object; none of them decides these again.
 */
import type { GpuNodeGroupConfig } from "../config/cluster";
import { blockScalingOf, capacityTypeOf, interconnectDomain, isReservedCapacity, placementGroupOf, scalingOf } from "./cluster";
import { autoScalingOf, autoscales, autoscalingAsgTags } from "./lifecycle/autoscaling";

export interface CapacityPlan {
    /** The node group's name. */
    group: string;
    /** `aws.eks.NodeGroup.capacityType`. */
    capacityType: "ON_DEMAND" | "SPOT" | "CAPACITY_BLOCK";
    /** `instanceTypes` of the node group; undefined for a Capacity Block (the launch template names it, EKS requires that). */
    instanceTypes?: string[];
    /** ODCR or Capacity Block: paid whether used or not. */
    reserved: boolean;
    /** The placement group the launch template names. */
    placement: ReturnType<typeof placementGroupOf>;
    /** Where AWS promises low latency between this group's instances and another's (domain/cluster.ts interconnectDomain). */
    interconnect: ReturnType<typeof interconnectDomain>;
    /** The scaling config the node group is created with. */
    scaling: { minSize: number; desiredSize: number; maxSize: number };
    /**
     * Who sets the desired size after creation: `pulumi` (fixed groups: min = desired = max), the
     * `cluster-autoscaler` (on-demand/spot with scaling auto: created at 0), or the Capacity Block's
     * `block-schedule` (our scale-up at the block start, EKS's scale-down at T-40 min). Pulumi ignores
     * later changes of the desired size unless it owns it.
     */
    sizeOwner: "pulumi" | "cluster-autoscaler" | "block-schedule";
    /** Tags the group's Auto Scaling group needs for the Cluster Autoscaler (discovery and node template); {} when it does not autoscale. */
    asgTags: Record<string, string>;
    /** The Capacity Block (reservation, window when known, how long before its end the run saves). */
    block?: { reservationId: string; window?: { start: string; end: string }; saveLeadMinutes: number };
}

export function capacityPlanOf(g: GpuNodeGroupConfig): CapacityPlan {
    const c = g.capacity;
    const isBlock = c.type === "capacity-block";
    const auto = autoscales(g);
    return {
        group: g.name,
        capacityType: capacityTypeOf(c),
        instanceTypes: isBlock ? undefined : [g.instanceType],
        reserved: isReservedCapacity(c),
        placement: placementGroupOf(g),
        interconnect: interconnectDomain(g),
        scaling: isBlock ? blockScalingOf(g.nodes) : auto ? autoScalingOf(g.nodes) : scalingOf(g.nodes),
        sizeOwner: isBlock ? "block-schedule" : auto ? "cluster-autoscaler" : "pulumi",
        asgTags: auto ? autoscalingAsgTags(g) : {},
        ...(c.type === "capacity-block" ? { block: { reservationId: c.reservationId, window: c.window, saveLeadMinutes: c.saveLeadMinutes } } : {}),
    };
}

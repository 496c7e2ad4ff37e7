/**
 * Cross-field rules of `miles-cluster:cluster` that the schema alone cannot express.
 */
import type { MilesConfig } from "../config";
import type { GpuNodeGroupConfig } from "../config/cluster";
import { SYSTEM_NODE_GROUP_NAME } from "../config/cluster";
import type { Problem } from "../config/problems";
import { CAPACITY_BLOCK_MAX_INSTANCES } from "../catalog/aws";

/** Whether `az` is a zone of `region` (`us-east-1a` of `us-east-1`): compared as text, never as a pattern built from input. */
export function isZoneOf(az: string, region: string): boolean {
    return az.length === region.length + 1 && az.startsWith(region) && az.charCodeAt(region.length) >= 97 && az.charCodeAt(region.length) <= 122;
}

function gpuGroupChecks(g: GpuNodeGroupConfig, i: number): Problem[] {
    const problems: Problem[] = [];
    const at = `cluster.gpuNodeGroups[${i}]`;
    if (g.name === SYSTEM_NODE_GROUP_NAME) problems.push({ path: `${at}.name`, message: `"${SYSTEM_NODE_GROUP_NAME}" is the name of the system node group; choose another name` });
    if (g.capacity.type === "capacity-block") {
        const w = g.capacity.window;
        if (w && Date.parse(w.end) <= Date.parse(w.start)) problems.push({ path: `${at}.capacity.window.end`, message: `${w.end} is not after the start ${w.start}` });
        else if (w && Date.parse(w.end) - Date.parse(w.start) < (g.capacity.saveLeadMinutes + 40) * 60_000) {
            problems.push({ path: `${at}.capacity.saveLeadMinutes`, message: `${g.capacity.saveLeadMinutes} minutes before the drain (40 min before the end) is before the block even starts; shorten it` });
        }
        if (g.nodes > CAPACITY_BLOCK_MAX_INSTANCES) {
            problems.push({ path: `${at}.nodes`, message: `${g.nodes} nodes on a Capacity Block: a Capacity Block holds at most ${CAPACITY_BLOCK_MAX_INSTANCES} instances; split the group across blocks` });
        }
        if (g.placementGroup !== undefined && g.placementGroup !== false) {
            problems.push({
                path: `${at}.placementGroup`,
                message: `a Capacity Block (${g.capacity.reservationId}) cannot use a placement group: its instances are already co-located, and a placement group the block was not created in makes launches fail; remove placementGroup`,
            });
        }
    }
    if (g.capacity.type === "capacity-reservation" && g.placementGroup === true) {
        problems.push({
            path: `${at}.placementGroup`,
            message: `a new placement group would not hold the reserved capacity of ${g.capacity.reservationId}; give the placement group the reservation was created in as { name: "<group>" }, or remove placementGroup`,
        });
    }
    return problems;
}

function networkChecks(cfg: MilesConfig): Problem[] {
    const c = cfg.cluster;
    const problems: Problem[] = [];
    const n = c.network;
    if (n.type === "existing") {
        if (!n.privateSubnetIds.includes(n.gpuSubnetId)) {
            problems.push({ path: "cluster.network.gpuSubnetId", message: `"${n.gpuSubnetId}" is not one of privateSubnetIds (${n.privateSubnetIds.join(", ")})` });
        }
        const dup = n.privateSubnetIds.findIndex((s, j) => n.privateSubnetIds.indexOf(s) !== j);
        if (dup >= 0) problems.push({ path: `cluster.network.privateSubnetIds[${dup}]`, message: `"${n.privateSubnetIds[dup]}" is listed twice` });
    } else if (n.availabilityZones) {
        n.availabilityZones.forEach((az, j) => {
            const path = `cluster.network.availabilityZones[${j}]`;
            if (cfg.region && !isZoneOf(az, cfg.region)) problems.push({ path, message: `"${az}" is not an availability zone of region ${cfg.region}` });
            else if (az === c.availabilityZone) problems.push({ path, message: `"${az}" is already the GPU availability zone; list other zones` });
            else if (n.availabilityZones!.indexOf(az) !== j) problems.push({ path, message: `"${az}" is listed twice` });
        });
    }
    return problems;
}

function existingChecks(cfg: MilesConfig): Problem[] {
    const c = cfg.cluster;
    const problems: Problem[] = [];
    if (c.gpuNodeGroups.length > 0) {
        problems.push({ path: "cluster.gpuNodeGroups", message: `must be empty with cluster.existing (got ${c.gpuNodeGroups.length} group${c.gpuNodeGroups.length === 1 ? "" : "s"}); describe the existing GPU nodes in cluster.existing.gpuNodes` });
    }
    if (c.availabilityZone) problems.push({ path: "cluster.availabilityZone", message: `is only for a cluster miles-cluster creates; remove it with cluster.existing` });
    if (c.adminRoleArns.length > 0) problems.push({ path: "cluster.adminRoleArns", message: `is only for a cluster miles-cluster creates; remove it with cluster.existing` });
    return problems;
}

/** Cross-field rules that zod's per-field schema cannot express. */
export function clusterChecks(cfg: MilesConfig): Problem[] {
    const problems: Problem[] = [];
    const c = cfg.cluster;
    if (c.existing) return existingChecks(cfg);
    if (!cfg.region) problems.push({ path: "aws:region", message: "is required to create an EKS cluster (set it with `pulumi config set aws:region us-east-1`), unless cluster.existing is set" });
    if (cfg.region && /^(cn|us-gov|us-iso[a-z]*)-/.test(cfg.region)) {
        // IAM managed-policy and EKS access-policy ARNs are written for the `aws` partition.
        problems.push({ path: "aws:region", message: `"${cfg.region}" is outside the commercial AWS partition; miles-cluster creates EKS clusters in commercial regions only (use cluster.existing for a cluster elsewhere)` });
    }
    if (!c.availabilityZone) problems.push({ path: "cluster.availabilityZone", message: "is required: the one availability zone of the GPU nodes (where the capacity or reservation is), e.g. us-east-1a" });
    if (cfg.region && c.availabilityZone && !isZoneOf(c.availabilityZone, cfg.region)) {
        problems.push({ path: "cluster.availabilityZone", message: `"${c.availabilityZone}" is not an availability zone of region ${cfg.region} (expected ${cfg.region}a, ${cfg.region}b, ...)` });
    }
    if (c.gpuNodeGroups.length === 0) problems.push({ path: "cluster.gpuNodeGroups", message: "needs at least one GPU node group (or set cluster.existing to use a cluster you already have)" });
    const seen = new Map<string, number>();
    c.gpuNodeGroups.forEach((g, i) => {
        if (seen.has(g.name)) problems.push({ path: `cluster.gpuNodeGroups[${i}].name`, message: `"${g.name}" is already the name of gpuNodeGroups[${seen.get(g.name)}]; names must be unique` });
        else seen.set(g.name, i);
        problems.push(...gpuGroupChecks(g, i));
    });
    problems.push(...networkChecks(cfg));
    return problems;
}

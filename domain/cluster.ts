/**
 * Decisions about the cluster made from its config: names, zones, placement groups, capacity and
 * scaling of the node groups.
 */
import type { MilesConfig } from "../config";
import type { CapacityConfig, GpuNodeGroupConfig } from "../config/cluster";
import type { Taint } from "../catalog/nodeLabels";

/** The EKS cluster name of a stack: `cluster.name`, or `miles-<stack>`. */
export function clusterNameOf(cfg: { cluster: Pick<MilesConfig["cluster"], "name">; stack: string }): string {
    return cfg.cluster.name ?? `miles-${cfg.stack}`;
}

/** Whether the group's capacity is a reservation (ODCR or Capacity Block). */
export function isReservedCapacity(c: CapacityConfig): c is Extract<CapacityConfig, { reservationId: string }> {
    return c.type === "capacity-reservation" || c.type === "capacity-block";
}

/**
 * The placement group a GPU group uses: `create` a new cluster placement group, use an existing one
 * by `name`, or none. Default: create for on-demand/spot, none for reserved capacity.
 */
export function placementGroupOf(g: GpuNodeGroupConfig): { kind: "create" } | { kind: "existing"; name: string } | { kind: "none" } {
    const pg = g.placementGroup;
    if (pg === undefined) return isReservedCapacity(g.capacity) ? { kind: "none" } : { kind: "create" };
    if (pg === false) return { kind: "none" };
    if (pg === true) return { kind: "create" };
    return { kind: "existing", name: pg.name };
}

/**
 * Where a GPU group's instances sit relative to each other, as far as AWS promises anything: "A
 * cluster placement group is a logical grouping of instances within a single Availability Zone that
 * benefit from low network latency, high network throughput" (EC2 API reference,
 * CreatePlacementGroup); "Instances that run inside a Capacity Block are automatically placed close
 * together inside Amazon EC2 UltraClusters" (EC2 API reference, CapacityBlock). Nothing is promised
 * between two placement groups, two blocks, or groups without one. Groups with the same `id` share
 * one such domain.
 */
export function interconnectDomain(g: GpuNodeGroupConfig): { id: string; describe: string } {
    if (g.capacity.type === "capacity-block") return { id: `block:${g.capacity.reservationId}`, describe: `Capacity Block ${g.capacity.reservationId}` };
    const pg = placementGroupOf(g);
    if (pg.kind === "existing") return { id: `pg:${pg.name}`, describe: `placement group ${pg.name}` };
    if (pg.kind === "create") return { id: `pg-new:${g.name}`, describe: "its own new placement group" };
    return { id: `none:${g.name}`, describe: "no placement group" };
}

/** The extra availability zones of a created VPC (besides the GPU zone). */
export function extraAvailabilityZones(gpuAz: string, explicit: readonly string[] | undefined): string[] {
    if (explicit && explicit.length > 0) return [...explicit];
    const region = gpuAz.slice(0, -1);
    return [gpuAz.endsWith("b") ? `${region}a` : `${region}b`];
}

/** `aws.eks.NodeGroup.capacityType` of a capacity config. */
export function capacityTypeOf(c: CapacityConfig): "ON_DEMAND" | "SPOT" | "CAPACITY_BLOCK" {
    if (c.type === "spot") return "SPOT";
    if (c.type === "capacity-block") return "CAPACITY_BLOCK";
    return "ON_DEMAND";
}

/** EKS API spelling of a Kubernetes taint effect. */
export function eksTaintEffect(effect: Taint["effect"]): "NO_SCHEDULE" | "NO_EXECUTE" | "PREFER_NO_SCHEDULE" {
    return effect === "NoSchedule" ? "NO_SCHEDULE" : effect === "NoExecute" ? "NO_EXECUTE" : "PREFER_NO_SCHEDULE";
}

/**
 * min = desired = max = nodes: the group is sized by config, not autoscaled. EKS requires
 * maxSize >= 1 even for an empty group (e.g. a Capacity Block group created before the block starts).
 */
export function scalingOf(nodes: number): { minSize: number; desiredSize: number; maxSize: number } {
    return { minSize: nodes, desiredSize: nodes, maxSize: Math.max(nodes, 1) };
}

/**
 * A Capacity Block group: created empty (0 desired, 0 min), at most `nodes`. The block's own
 * scheduled actions size it: ours scales it to `nodes` when the block starts, EKS's to 0 at T-40 min.
 */
export function blockScalingOf(nodes: number): { minSize: number; desiredSize: number; maxSize: number } {
    return { minSize: 0, desiredSize: 0, maxSize: Math.max(nodes, 1) };
}

export interface ZoneSubnets {
    availabilityZone: string;
    privateCidr: string;
    publicCidr: string;
}

function ipToInt(ip: string): number {
    return ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}

function intToIp(n: number): string {
    return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/**
 * Subnet CIDRs of a created VPC, zone by zone (the GPU zone first): each private subnet is a
 * quarter of the VPC (a /18 of a /16: the VPC CNI gives every pod a VPC address), public subnets
 * (NAT gateway and load balancers only) are /22s of a /16 carved from the last quarter.
 */
export function subnetLayout(vpcCidr: string, zones: readonly string[]): ZoneSubnets[] {
    const [ip, prefixText] = vpcCidr.split("/");
    const prefix = Number(prefixText);
    if (zones.length > 3) throw new Error(`at most 3 availability zones fit the subnet layout, got ${zones.length}`);
    const base = ipToInt(ip) - (ipToInt(ip) % 2 ** (32 - prefix));
    const quarter = 2 ** (32 - (prefix + 2));
    const publicSize = 2 ** (32 - (prefix + 6));
    return zones.map((availabilityZone, i) => ({
        availabilityZone,
        privateCidr: `${intToIp(base + i * quarter)}/${prefix + 2}`,
        publicCidr: `${intToIp(base + 3 * quarter + i * publicSize)}/${prefix + 6}`,
    }));
}

import type { SectionProducer, SectionResult, CostItem } from "../types";
import type { MilesConfig } from "../../config";
import { clusterNameOf, extraAvailabilityZones } from "../../domain/cluster";
import { capacityPlanOf } from "../../domain/capacity";
import { type GpuNodeGroupConfig } from "../../config/cluster";
import { instanceFacts } from "../../catalog/instances";
import { efaDevicesPerNode } from "../../catalog/efaLayout";
import { gpuNodeGroupsFromConfig } from "../../domain/gpuNodes";
import { versionSupport } from "../../domain/lifecycle/versionSupport";
import { groupCost } from "../../domain/lifecycle/cost";
import { CHARTS } from "../../catalog/versions";
import { EKS_CONTROL_PLANE_PRICE_SOURCE, NAT_GATEWAY, SYSTEM_INSTANCE_PRICES } from "../../catalog/prices";


function capacityText(g: GpuNodeGroupConfig): string {
    const c = g.capacity;
    const pg = capacityPlanOf(g).placement;
    const pgText = pg.kind === "create" ? "new cluster placement group" : pg.kind === "existing" ? `placement group ${pg.name}` : "no placement group";
    switch (c.type) {
        case "capacity-block":
            return `Capacity Block ${c.reservationId} (CAPACITY_BLOCK; ${pgText})`;
        case "capacity-reservation":
            return `ODCR ${c.reservationId} (ON_DEMAND, targeted; ${pgText})`;
        case "spot":
            return `spot (SPOT; ${pgText})`;
        default:
            return `on-demand (ON_DEMAND; ${pgText})`;
    }
}

function existingSection(cfg: MilesConfig): SectionResult {
    const e = cfg.cluster.existing!;
    const [g] = gpuNodeGroupsFromConfig(cfg);
    const access = e.kubeconfig !== undefined ? `kubeconfig from the stack secret${e.context ? `, context ${e.context}` : ""}` : e.context ? `ambient kubeconfig, context ${e.context}` : "ambient kubeconfig ($KUBECONFIG or ~/.kube/config), current context";
    const selector = Object.entries(g.selector).map(([k, v]) => `${k}=${v}`).join(",");
    const taint = g.taints.length > 0 ? g.taints.map((t) => `${t.key}=${t.value}:${t.effect}`).join(", ") : "none";
    const lines: Array<[string, string]> = [
        ["cluster", `existing Kubernetes cluster (bring your own): no AWS resource is created; ${access}`],
        [`gpu nodes ${g.name}`, `${g.nodes} node${g.nodes === 1 ? "" : "s"} × ${g.gpusPerNode} GPUs${g.instanceType ? ` (${g.instanceType})` : ""}; selector ${selector}; taint ${taint}; ${g.efaPerNode > 0 ? `${g.efaPerNode} EFA devices/node` : "no EFA"}`],
        ["gpus total", String(g.nodes * g.gpusPerNode)],
    ];
    return {
        data: { mode: "existing", context: e.context, kubeconfig: e.kubeconfig !== undefined ? "secret" : "ambient", gpuNodeGroups: [g], totalGpus: g.nodes * g.gpusPerNode },
        lines,
    };
}

function eksSection(cfg: MilesConfig): SectionResult {
    const c = cfg.cluster;
    const name = clusterNameOf(cfg);
    const warnings: string[] = [];
    const groups = c.gpuNodeGroups.map((g) => {
        const f = instanceFacts(g.instanceType);
        return {
            name: g.name,
            instanceType: g.instanceType,
            gpuModel: f.gpuModel,
            gpuMemoryGiB: f.gpuMemoryGiB,
            nodes: g.nodes,
            gpus: g.nodes * f.gpus,
            efaInterfacesPerNode: efaDevicesPerNode(g.instanceType),
            efaGbpsPerNode: f.networkGbps,
            capacity: g.capacity.type,
            reservationId: "reservationId" in g.capacity ? g.capacity.reservationId : undefined,
            placementGroup: capacityPlanOf(g).placement.kind,
            sizeOwner: capacityPlanOf(g).sizeOwner,
            amiFamily: g.amiFamily,
        };
    });

    const n = c.network;
    const zones = c.availabilityZone && n.type === "create" ? [c.availabilityZone, ...extraAvailabilityZones(c.availabilityZone, n.availabilityZones)] : [];
    const networkText =
        n.type === "create"
            ? `new VPC ${n.vpcCidr}, private+public subnets in ${zones.join(", ")}, 1 NAT gateway (${c.availabilityZone}), S3 gateway endpoint`
            : `existing VPC ${n.vpcId}, GPU subnet ${n.gpuSubnetId}, ${n.privateSubnetIds.length} private subnets`;
    if (n.type === "create" && !n.availabilityZones?.length && zones[1]) {
        warnings.push(`cluster.network.availabilityZones: the second zone ${zones[1]} was chosen by name; if your account has no such zone, set cluster.network.availabilityZones`);
    }
    const cidrs = c.endpoint.publicAccessCidrs;
    const endpointText = cidrs.length === 0 ? "private only (run `pulumi up` from inside the VPC)" : `private + public from ${cidrs.join(", ")}`;
    if (cidrs.length === 0) warnings.push("cluster.endpoint: the Kubernetes API is private; `pulumi up` creates Kubernetes objects, so run it from inside the VPC or set cluster.endpoint.publicAccessCidrs");
    if (cidrs.includes("0.0.0.0/0")) warnings.push("cluster.endpoint.publicAccessCidrs includes 0.0.0.0/0: the Kubernetes API is reachable from the whole internet");

    const lines: Array<[string, string]> = [
        ["cluster", `${name} (EKS ${c.kubernetesVersion}, ${cfg.region ?? "region unset"}${c.availabilityZone ? `, GPU AZ ${c.availabilityZone}` : ""})`],
        ["network", networkText],
        ["api endpoint", endpointText],
        ["system nodes", `${c.systemNodeGroup.nodes} × ${c.systemNodeGroup.instanceType} (AL2023, on-demand, untainted)`],
    ];
    for (const [i, g] of groups.entries()) {
        lines.push([
            `gpu group ${g.name}`,
            `${g.nodes} × ${g.instanceType} = ${g.gpus} × ${g.gpuModel} ${g.gpuMemoryGiB}GB; ${g.efaInterfacesPerNode} EFA interfaces/node (${g.efaGbpsPerNode} Gbps); ${capacityText(c.gpuNodeGroups[i])}; ${g.amiFamily}`,
        ]);
        if (g.capacity === "capacity-block") {
            lines.push([`  ${g.name} scaling`, `created empty (0 of ${g.nodes}); an ASG scheduled action scales it to ${g.nodes} when the block starts, EKS scales it to 0 at T-40 min; fixed size in between (not autoscaled: the block is paid whether used or not)`]);
        }
        if ((g.capacity === "on-demand" || g.capacity === "spot") && g.nodes > 0) {
            warnings.push(`gpu group ${g.name}: ${g.capacity} ${g.instanceType} needs ${g.nodes * instanceFacts(g.instanceType).vcpus} vCPUs of P-instance ${g.capacity} quota in ${cfg.region}, and P5-family capacity is often short (InsufficientInstanceCapacity)`);
        }
    }
    const totalGpus = groups.reduce((s, g) => s + g.gpus, 0);
    lines.push(["gpus total", String(totalGpus)]);

    const cost: CostItem[] = [];
    let idleUsdPerHour = 0;
    for (const g of c.gpuNodeGroups.filter((x) => x.nodes > 0)) {
        const gc = groupCost(g);
        lines.push([`  ${g.name} idle`, gc.idle]);
        idleUsdPerHour += gc.usdPerHourIdle;
        cost.push({ item: `${g.nodes} × ${g.instanceType} (${g.name}) while running${gc.canIdle ? ", $0 idle" : ""}`, usdPerHour: gc.usdPerHourRunning, source: `${g.instanceType}: ${gc.basis} (group ${g.name})` });
    }
    const auto = c.gpuNodeGroups.filter((g) => capacityPlanOf(g).sizeOwner === "cluster-autoscaler");
    if (auto.length > 0) {
        lines.push([
            "cluster autoscaler",
            `${CHARTS.clusterAutoscaler.chart} ${CHARTS.clusterAutoscaler.version} (kube-system, system nodes): scales ${auto.map((g) => `${g.name} 0..${g.nodes}`).join(", ")} from zero (ASG node-template tags for nvidia.com/gpu, vpc.amazonaws.com/efa, labels and taints); never a Capacity Block or ODCR group`,
        ]);
    }
    const sys = c.systemNodeGroup;
    const sysPrice = SYSTEM_INSTANCE_PRICES[sys.instanceType];
    if (sysPrice) cost.push({ item: `${sys.nodes} × ${sys.instanceType} system nodes`, usdPerHour: sys.nodes * sysPrice.usdPerHour, source: sysPrice.source });
    else warnings.push(`cluster.systemNodeGroup.instanceType: no price for ${sys.instanceType} in catalog/prices.ts; the cost line leaves the system nodes out`);
    if (n.type === "create") cost.push({ item: "1 NAT gateway (hourly; data processed not estimated)", usdPerHour: NAT_GATEWAY.usdPerHour, source: NAT_GATEWAY.source });
    const support = versionSupport(c.kubernetesVersion, new Date());
    if (support.warning) warnings.push(support.warning);
    lines.push(["kubernetes support", support.standardSupportEnds ? `EKS ${c.kubernetesVersion}: standard support until ${support.standardSupportEnds}, extended until ${support.extendedSupportEnds} (${support.phase} now)` : `EKS ${c.kubernetesVersion}: not in the calendar`]);
    cost.push({
        item: `EKS control plane (${support.phase === "extended" || support.phase === "ended" ? "extended support" : "standard support"})`,
        usdPerHour: support.usdPerHour,
        source: EKS_CONTROL_PLANE_PRICE_SOURCE,
    });

    return {
        data: {
            mode: "eks",
            name,
            region: cfg.region,
            availabilityZone: c.availabilityZone,
            kubernetesVersion: c.kubernetesVersion,
            kubernetesSupport: support,
            network: n.type === "create" ? { type: "create", vpcCidr: n.vpcCidr, availabilityZones: zones } : { type: "existing", vpcId: n.vpcId, gpuSubnetId: n.gpuSubnetId },
            endpoint: { private: true, publicAccessCidrs: cidrs },
            systemNodeGroup: c.systemNodeGroup,
            gpuNodeGroups: groups,
            totalGpus,
            gpuIdleUsdPerHour: Math.round(idleUsdPerHour * 100) / 100,
        },
        lines,
        warnings,
        cost,
    };
}

/** The cluster: EKS (network, endpoint, system and GPU groups with EFA, capacity, cost) or a bring-your-own cluster. */
export const clusterSection: SectionProducer = ({ config: cfg }) => (cfg.cluster.existing ? existingSection(cfg) : eksSection(cfg));

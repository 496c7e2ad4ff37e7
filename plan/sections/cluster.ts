import type { SectionProducer } from "../types";
import { instanceFacts } from "../../lib/instances";

/** GPU node groups: instance type, GPU model, node and GPU counts, EFA interfaces and bandwidth, capacity. */
export const clusterSection: SectionProducer = (cfg) => {
    const c = cfg.cluster;
    const groups = c.gpuNodeGroups.map((g) => {
        const f = instanceFacts(g.instanceType);
        return {
            name: g.name,
            instanceType: g.instanceType,
            gpuModel: f.gpuModel,
            gpuMemoryGiB: f.gpuMemoryGiB,
            nodes: g.nodes,
            gpus: g.nodes * f.gpus,
            efaInterfacesPerNode: f.networkCards,
            efaGbpsPerNode: f.networkGbps,
            capacity: g.capacity.type,
            amiFamily: g.amiFamily,
        };
    });
    const lines: Array<[string, string]> = [
        ["cluster", `${c.name ?? `miles-${cfg.stack}`} (EKS ${c.kubernetesVersion}, ${cfg.region ?? "region unset"}${c.availabilityZone ? `, GPU AZ ${c.availabilityZone}` : ""})`],
    ];
    for (const g of groups) {
        lines.push([
            `gpu group ${g.name}`,
            `${g.nodes} × ${g.instanceType} = ${g.gpus} × ${g.gpuModel} ${g.gpuMemoryGiB}GB; ${g.efaInterfacesPerNode} EFA interfaces/node (${g.efaGbpsPerNode} Gbps); ${g.capacity}; ${g.amiFamily}`,
        ]);
    }
    const totalGpus = groups.reduce((s, g) => s + g.gpus, 0);
    lines.push(["gpus total", String(totalGpus)]);
    const cost = c.gpuNodeGroups
        .filter((g) => g.nodes > 0)
        .map((g) => {
            const price = instanceFacts(g.instanceType).onDemandUsdPerHour;
            const note = g.capacity.type === "spot" ? " (spot: on-demand price as an upper bound)" : g.capacity.type === "capacity-block" ? " (Capacity Block: price is set at purchase; on-demand shown for reference)" : "";
            return { item: `${g.nodes} × ${g.instanceType} (${g.name})${note}`, usdPerHour: g.nodes * price.usd, source: `${g.instanceType}: ${price.source}, ${price.asOf}${price.approximate ? ", approximate" : ""}` };
        });
    return { data: { name: c.name ?? `miles-${cfg.stack}`, region: cfg.region, availabilityZone: c.availabilityZone, kubernetesVersion: c.kubernetesVersion, gpuNodeGroups: groups, totalGpus }, lines, cost };
};

/**
 * What each GPU group costs an hour while the run runs and while nothing runs (idle), and what the
 * figure is based on — a Capacity Block at its own price, spot at the user's figure or a stated
 * assumption, never silently the on-demand price.
 */
import type { GpuNodeGroupConfig } from "../../config/cluster";
import { instanceFacts } from "../../catalog/instances";
import { SPOT_ASSUMED_FRACTION_OF_ON_DEMAND } from "../../catalog/prices";
import { autoscales } from "./autoscaling";
import { blockHours } from "./capacityBlock";

export interface GroupCost {
    /** Per node-hour. */
    usdPerNodeHour: number;
    /** The group while its nodes run. */
    usdPerHourRunning: number;
    /** The group while no pod needs it. */
    usdPerHourIdle: number;
    canIdle: boolean;
    basis: string;
    /**
     * What `usdPerNodeHour` is, in a few words, for every other line that prices this group's time (the
     * run's "at risk" line): one rate per group in the whole plan.
     */
    rate: string;
    /** One line for `plan`: can it idle, what idling costs. */
    idle: string;
}

export function groupCost(g: GpuNodeGroupConfig): GroupCost {
    const od = instanceFacts(g.instanceType).onDemandUsdPerHour;
    const c = g.capacity;
    let perNode = od.usd;
    let basis = `on-demand $${od.usd}/h (${od.source}, ${od.asOf}${od.approximate ? ", approximate" : ""})`;
    let rate = "the on-demand rate";
    let referenceOnly = false;
    if (c.type === "spot") {
        perNode = c.usdPerHour ?? od.usd * SPOT_ASSUMED_FRACTION_OF_ON_DEMAND;
        basis = c.usdPerHour ? `spot at your figure $${c.usdPerHour}/h (capacity.usdPerHour)` : `spot ASSUMED at ${SPOT_ASSUMED_FRACTION_OF_ON_DEMAND * 100}% of on-demand $${od.usd}/h (not a quote: set capacity.usdPerHour)`;
        rate = c.usdPerHour ? "your spot rate (capacity.usdPerHour)" : `the spot assumption (${SPOT_ASSUMED_FRACTION_OF_ON_DEMAND * 100}% of on-demand)`;
    } else if (c.type === "capacity-block") {
        if (c.upfrontPriceUsd && c.window) {
            const hours = blockHours(c.window);
            perNode = c.upfrontPriceUsd / hours / Math.max(g.nodes, 1);
            basis = `Capacity Block up-front $${c.upfrontPriceUsd} over ${hours} h (capacity.upfrontPriceUsd), paid whether used or not`;
            rate = "the Capacity Block rate (capacity.upfrontPriceUsd)";
        } else {
            basis = `Capacity Block price unknown offline (set capacity.upfrontPriceUsd and capacity.window): on-demand $${od.usd}/h shown as a reference only`;
            rate = "the on-demand REFERENCE price (the block's own price is unknown: set capacity.upfrontPriceUsd)";
            referenceOnly = true;
        }
    } else if (c.type === "capacity-reservation") {
        basis = `ODCR billed at the on-demand rate $${od.usd}/h for every reserved instance, used or not`;
        rate = "the ODCR's on-demand rate";
    }
    const running = perNode * g.nodes;
    const auto = autoscales(g);
    const canIdle = auto;
    const idleCost = auto ? 0 : running;
    const idle = auto
        ? `scales 0..${g.nodes} with the Cluster Autoscaler: idle $0/h (nodes start for a pending pod, minutes to launch and join; removed 10 min after they empty)`
        : c.type === "capacity-block"
          ? referenceOnly
              ? `fixed for the block: paid up front, idle or not (its price is unknown offline; $${running.toFixed(2)}/h is the on-demand reference price, not the block's)`
              : `fixed for the block: $${running.toFixed(2)}/h paid up front, idle or not`
          : c.type === "capacity-reservation"
            ? `fixed: the reservation bills $${running.toFixed(2)}/h used or not`
            : `fixed (scaling: fixed): ${g.nodes} node(s) run all the time, $${running.toFixed(2)}/h even when idle`;
    return { usdPerNodeHour: perNode, usdPerHourRunning: running, usdPerHourIdle: idleCost, canIdle, basis, rate, idle };
}

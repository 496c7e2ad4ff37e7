import type { ResolvedStack } from "../domain/stack";
import type { Evaluation } from "./evaluate";
import type { CostItem, SectionResult } from "./types";
import { PRICE_REGION } from "../catalog/prices";
import { clusterSection } from "./sections/cluster";
import { storageSection } from "./sections/storage";
import { addonsSection } from "./sections/addons";
import { trainingSection } from "./sections/training";
import { firstDeploySequence, type FirstDeploy } from "./firstDeploy";

export interface PlanSummary {
    cluster: Record<string, unknown>;
    storage: Record<string, unknown>;
    addons: Record<string, unknown>;
    training: Record<string, unknown>;
    cost: { usdPerHour: number; items: CostItem[]; sources: string[] };
    warnings: string[];
    /** What a first `pulumi up` does, in order (plan/firstDeploy.ts). */
    firstDeploy: FirstDeploy;
    /** Human lines per section, for the text renderer. */
    lines: Record<string, Array<[string, string]>>;
}

const PRODUCERS = { cluster: clusterSection, storage: storageSection, addons: addonsSection, training: trainingSection };

export function summarize(stack: ResolvedStack, ev: Evaluation): PlanSummary {
    const results = Object.fromEntries(Object.entries(PRODUCERS).map(([k, f]) => [k, f(stack, ev)])) as Record<keyof typeof PRODUCERS, SectionResult>;
    const items = Object.values(results).flatMap((r) => r.cost ?? []);
    const round = (n: number) => Math.round(n * 100) / 100;
    const region = stack.config.region;
    // catalog/prices.ts and the instance prices are us-east-1 figures: any other region says so, once.
    const regional = region && region !== PRICE_REGION && items.length > 0 ? [`all prices are ${PRICE_REGION} reference figures (no ${region} price table offline; ${region} prices differ): the estimate is a ${PRICE_REGION} fallback`] : [];
    return {
        cluster: results.cluster.data,
        storage: results.storage.data,
        addons: results.addons.data,
        training: results.training.data,
        cost: { usdPerHour: round(items.reduce((s, i) => s + i.usdPerHour, 0)), items: items.map((i) => ({ ...i, usdPerHour: round(i.usdPerHour) })), sources: [...new Set(items.map((i) => i.source)), ...regional] },
        warnings: Object.values(results).flatMap((r) => r.warnings ?? []),
        firstDeploy: firstDeploySequence(stack, ev),
        lines: Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.lines])),
    };
}

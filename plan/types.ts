import type { ResolvedStack } from "../domain/stack";
import type { Evaluation } from "./evaluate";

/** One line of the hourly cost estimate. */
export interface CostItem {
    item: string;
    usdPerHour: number;
    /** Where the price comes from (shown under the estimate). */
    source: string;
}

/** What each summary section contributes to the plan. */
export interface SectionResult {
    /** Machine-readable facts (the `summary.<section>` object of `plan --json`). */
    data: Record<string, unknown>;
    /** Human lines: [label, value]. */
    lines: Array<[string, string]>;
    warnings?: string[];
    cost?: CostItem[];
}

/** A section of the plan summary, from the stack resolved once (domain/stack.ts) and what the program registered. */
export type SectionProducer = (stack: ResolvedStack, ev: Evaluation) => SectionResult;

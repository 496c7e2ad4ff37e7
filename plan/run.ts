import { parseConfig } from "../validation";
import { isConfigError, NAMESPACE, type MilesConfig, type Problem, type RawConfig } from "../config";
import { program } from "../program";
import { evaluate, type Evaluation, type RecordedResource } from "./evaluate";
import { summarize, type PlanSummary } from "./summary";

export interface Plan {
    stack: string;
    config?: MilesConfig;
    summary?: PlanSummary;
    resources: RecordedResource[];
    outputs: Record<string, unknown>;
    problems: Problem[];
}

/**
 * Plans one stack offline: validates the config (every problem at once), then evaluates the same
 * program `pulumi up` runs under the mock runtime, and summarizes what it would create.
 */
export async function plan(stack: string, raw: RawConfig, run: () => Promise<Record<string, unknown>> = program): Promise<Plan> {
    const parsed = parseConfig(raw, { project: NAMESPACE, stack });
    if (!parsed.config) return { stack, resources: [], outputs: {}, problems: parsed.problems };
    let ev: Evaluation;
    try {
        ev = await evaluate({ project: NAMESPACE, stack, config: raw, run });
    } catch (e) {
        if (isConfigError(e)) return { stack, resources: [], outputs: {}, problems: e.problems };
        throw e;
    }
    return { stack, config: parsed.config, summary: summarize(parsed.config, ev), resources: ev.resources, outputs: ev.outputs, problems: [] };
}

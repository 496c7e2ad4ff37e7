/**
 * The nodes an attempt of a run did not use because they were unhealthy, for the run record
 * (issue 22: "which nodes were excluded and why"). A small addition kept apart from the record's own
 * file (domain/training/runRecord.ts, which the attempt-record work extends): it reads the nodes'
 * unhealthy taint and reason annotation (domain/health/nodeHealth.ts) and adds `excludedNodes`.
 */
import { UNHEALTHY_REASON_ANNOTATION, UNHEALTHY_TAINT } from "./nodeHealth";

export interface ExcludedNode {
    node: string;
    reason: string;
}

/** The nodes of a run's node groups that carry the unhealthy taint, with their recorded reason. */
export function excludedNodes(nodes: ReadonlyArray<{ name: string; taints: ReadonlyArray<{ key: string }>; annotations?: Record<string, string> }>): ExcludedNode[] {
    return nodes
        .filter((n) => n.taints.some((t) => t.key === UNHEALTHY_TAINT.key))
        .map((n) => ({ node: n.name, reason: n.annotations?.[UNHEALTHY_REASON_ANNOTATION] ?? "unhealthy (no reason recorded)" }));
}

/** A record with the excluded nodes of its attempt (unchanged when there are none). */
export function withExcludedNodes<R extends object>(record: R, excluded: ReadonlyArray<ExcludedNode>): R & { excludedNodes?: ExcludedNode[] } {
    return excluded.length === 0 ? record : { ...record, excludedNodes: [...excluded] };
}

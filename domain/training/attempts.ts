/**
 * The attempts of a run: one per run record (each start of train.py writes one, runRecord.ts), with
 * why it ended, which nodes were left out of the run and why, and the GPU-hours it held — counted
 * from the Kueue admission that gave it its GPUs, not from train.py's start (node start, image pull
 * and model load are paid GPU time too).
 *
 * Inputs are what a real cluster leaves behind: the records, the run events the run's watchers
 * write beside them (runRecord.ts RUN_EVENT_SCHEMA: a spot interruption or rebalance recommendation
 * on a node of the run, a node kept out as unhealthy, and what became of the save they triggered), and the run's Kueue Workload as
 * `kubectl get workload -o json` prints it. Kueue keeps one condition per type with its last
 * transition (kubernetes-sigs/kueue v0.19.2 apis/kueue/v1beta2/workload_types.go:929-1012 types,
 * :1081-1120 eviction reasons, :1163-1174 finished reasons), so a Workload names the cause of its
 * latest eviction only; earlier ends are told by the events and the records themselves.
 */

/** What one record of the run says (cli/runs.ts reads them). */
export interface AttemptRecord {
    file: string;
    startedAt: string;
    endedAt?: string;
    status: string;
    exitCode?: number;
    nodes: number;
    gpusPerNode: number;
    usdPerNodeHour?: number;
    /** What the deployment ran: image, git commit and argv (a change between attempts = a deploy change). */
    deployKey: string;
    /** Nodes the record itself lists as left out. */
    excludedNodes?: Array<{ node: string; reason: string }>;
}

/** A run event (runRecord.ts RUN_EVENT_SCHEMA). */
export interface RunEvent {
    run: string;
    kind: string;
    node: string;
    event: string;
    outcome: string;
    at: string;
}

/** A Kueue Workload condition (metav1.Condition). */
export interface WorkloadCondition {
    type: string;
    status: "True" | "False" | "Unknown";
    reason: string;
    message?: string;
    lastTransitionTime: string;
}

export type EndReason = "running" | "succeeded" | "failed" | "preempted" | "spot reclaim" | "block end" | "node failure" | "deploy change" | "evicted";

export interface Attempt {
    n: number;
    file: string;
    /** When the attempt's GPUs were taken: the Kueue admission, or the previous attempt's end within the same admission; train.py's start when neither is known. */
    gpusFrom: string;
    gpusFromBasis: "admission" | "previous attempt" | "train.py start";
    startedAt: string;
    endedAt?: string;
    endReason: EndReason;
    /** What the reason rests on (the event, the condition, the record). */
    endBasis: string;
    /** Nodes left out of the run from this attempt on, and why. */
    excludedNodes: Array<{ node: string; reason: string; at: string }>;
    gpuHours?: number;
    costUsdEstimate?: number;
}

const ms = (iso: string) => Date.parse(iso);

/** The Workload's conditions, from a Workload or a WorkloadList of one (`kubectl get workload(s) -o json`). */
export function workloadConditions(obj: unknown): WorkloadCondition[] {
    const o = obj as { kind?: string; items?: unknown[]; status?: { conditions?: unknown[] } };
    if (o?.kind === "WorkloadList") return (o.items ?? []).flatMap(workloadConditions);
    const cs = o?.status?.conditions ?? [];
    return cs.filter((c): c is WorkloadCondition => {
        const x = c as Partial<WorkloadCondition>;
        return typeof x.type === "string" && typeof x.reason === "string" && typeof x.lastTransitionTime === "string" && !Number.isNaN(ms(x.lastTransitionTime));
    });
}

/** Kueue's eviction reason (the Evicted condition's, with the Preempted condition's detail) → why the attempt ended. */
function evictionReason(evicted: WorkloadCondition, preempted?: WorkloadCondition): { reason: EndReason; basis: string } {
    const detail = `Workload condition Evicted=${evicted.status} reason ${evicted.reason} at ${evicted.lastTransitionTime}`;
    switch (evicted.reason) {
        case "Preempted":
            return { reason: "preempted", basis: `${detail}${preempted ? ` (${preempted.reason})` : ""}: ${evicted.message ?? ""}`.trim() };
        case "Deactivated":
            // The end-of-block stop deactivates the Workload (domain/lifecycle/scripts.ts DEACTIVATE_SCRIPT).
            return { reason: "block end", basis: `${detail}: the Workload was deactivated (the Capacity Block's end-of-block stop)` };
        case "NodeFailures":
            return { reason: "node failure", basis: detail };
        default:
            return { reason: "evicted", basis: `${detail}${evicted.message ? `: ${evicted.message}` : ""}` };
    }
}

const INTERRUPTION_KINDS: Record<string, string> = { "spot-interruption": "spot interruption notice", "rebalance-recommendation": "spot rebalance recommendation" };
/**
 * Kind of the run events of the run's node watcher about node health (domain/lifecycle/nodeWatch.ts):
 * `excluded` (the node is kept out; the reason in `event`), then for a node the run was on
 * `save-requested`, `saved` | `not-saved`, `restarted` (the run's pods on it deleted).
 */
export const NODE_HEALTH_EVENT_KIND = "node-health";
/** Outcomes that say what became of a save a watcher asked for. */
const SAVE_OUTCOMES = new Set(["saved", "not-saved"]);

/**
 * The attempts of one run, oldest first. `events` and `conditions` may be empty (a run outside a
 * queue, or records copied without the Workload): the reasons then rest on the records alone.
 */
export function runAttempts(records: readonly AttemptRecord[], events: readonly RunEvent[], conditions: readonly WorkloadCondition[]): Attempt[] {
    const recs = [...records].sort((a, b) => ms(a.startedAt) - ms(b.startedAt));
    const cond = (type: string) => conditions.find((c) => c.type === type);
    const admitted = cond("Admitted");
    const admittedAt = admitted?.status === "True" ? ms(admitted.lastTransitionTime) : undefined;
    const evicted = cond("Evicted");
    const finished = cond("Finished");
    const excluded: Attempt["excludedNodes"] = [];
    const out: Attempt[] = [];
    recs.forEach((rec, i) => {
        const next = recs[i + 1];
        const start = ms(rec.startedAt);
        // The attempt's window for what ends it: from its start to its end, or to the next attempt's start.
        const until = rec.endedAt ? ms(rec.endedAt) : next ? ms(next.startedAt) : Number.POSITIVE_INFINITY;
        const prevEnd = i > 0 ? ms(recs[i - 1].endedAt ?? rec.startedAt) : undefined;
        let gpusFrom = start;
        let gpusFromBasis: Attempt["gpusFromBasis"] = "train.py start";
        if (admittedAt !== undefined && admittedAt <= start && (prevEnd === undefined || admittedAt >= prevEnd)) {
            gpusFrom = admittedAt;
            gpusFromBasis = "admission";
        } else if (admittedAt !== undefined && prevEnd !== undefined && admittedAt < prevEnd && prevEnd <= start) {
            // A retry within the same admission (KubeRay's backoffLimit): the GPUs stayed held since the previous end.
            gpusFrom = prevEnd;
            gpusFromBasis = "previous attempt";
        }

        const inWindow = events.filter((e) => ms(e.at) >= start && ms(e.at) <= until + 60_000);
        const notice = inWindow.find((e) => e.kind === "spot-interruption");
        // Nodes are left out from the moment a watcher says so: an exclusion written after the previous
        // attempt but before this one's train.py started (pods starting, the model loading) is this attempt's.
        const prevUntil = i > 0 ? ms(recs[i - 1].endedAt ?? rec.startedAt) + 60_000 : Number.NEGATIVE_INFINITY;
        const exclusions = events.filter((e) => ms(e.at) > prevUntil && ms(e.at) <= until + 60_000);
        for (const e of exclusions) {
            if (excluded.some((x) => x.node === e.node)) continue;
            if (INTERRUPTION_KINDS[e.kind]) excluded.push({ node: e.node, reason: `${INTERRUPTION_KINDS[e.kind]} (${e.event}): cordoned by aws-node-termination-handler`, at: e.at });
            // Any other watcher (a node health check) reports a node it keeps out as outcome "excluded", the reason in `event`.
            else if (e.outcome === "excluded") excluded.push({ node: e.node, reason: `${e.kind}: ${e.event}`, at: e.at });
        }
        for (const x of rec.excludedNodes ?? []) if (!excluded.some((y) => y.node === x.node)) excluded.push({ ...x, at: rec.startedAt });
        // What the saves the notices asked for came to: the latest one written is what the next attempt resumes from.
        const outcomes = inWindow.filter((e) => (INTERRUPTION_KINDS[e.kind] || e.kind === NODE_HEALTH_EVENT_KIND) && SAVE_OUTCOMES.has(e.outcome));
        const lastSaved = [...outcomes].reverse().find((e) => e.outcome === "saved");
        // A node the run was on went unhealthy and the watcher deleted the run's pods on it.
        const restarted = inWindow.find((e) => e.kind === NODE_HEALTH_EVENT_KIND && e.outcome === "restarted");

        let endReason: EndReason;
        let endBasis: string;
        if (rec.status === "succeeded") {
            endReason = "succeeded";
            endBasis = `train.py exited 0${finished?.status === "True" ? `; Workload Finished (${finished.reason})` : ""}`;
        } else if (notice) {
            endReason = "spot reclaim";
            const saves = outcomes.map((e) => `${e.kind} ${e.outcome} at ${e.at}`).join(", ") || "no outcome recorded";
            endBasis = `spot interruption notice for node ${notice.node} at ${notice.at}; saves asked for: ${saves}; ${lastSaved ? `the next attempt resumes from the save written at ${lastSaved.at}` : "the next attempt resumes from the last periodic save"}`;
        } else if (restarted) {
            endReason = "node failure";
            const saves = outcomes.map((e) => `${e.outcome} at ${e.at}`).join(", ") || "no outcome recorded";
            endBasis = `node ${restarted.node} unhealthy (${restarted.event}): tainted and kept out; save asked for: ${saves}; the run's pods on it deleted at ${restarted.at} (KubeRay retries without it); ${lastSaved ? `the next attempt resumes from the save written at ${lastSaved.at}` : "the next attempt resumes from the last periodic save"}`;
        } else if (evicted?.status === "True" && ms(evicted.lastTransitionTime) >= start && ms(evicted.lastTransitionTime) <= until + 60_000) {
            const preempted = cond("Preempted");
            ({ reason: endReason, basis: endBasis } = evictionReason(evicted, preempted?.status === "True" ? preempted : undefined));
        } else if (next && next.deployKey !== rec.deployKey) {
            endReason = "deploy change";
            endBasis = "the next attempt runs another image, commit or argv (the RayJob was replaced)";
        } else if (!rec.endedAt && next) {
            endReason = "node failure";
            endBasis = "the head pod never wrote the record's end, and a later attempt started (KubeRay retried on new pods)";
        } else if (!rec.endedAt) {
            endReason = "running";
            endBasis = "no end written yet";
        } else {
            endReason = "failed";
            endBasis = `train.py exited ${rec.exitCode ?? "non-zero"}`;
        }

        const endMs = rec.endedAt ? ms(rec.endedAt) : next ? ms(next.startedAt) : undefined;
        const hours = endMs !== undefined ? Math.max(0, endMs - gpusFrom) / 3_600_000 : undefined;
        out.push({
            n: i + 1,
            file: rec.file,
            gpusFrom: new Date(gpusFrom).toISOString().replace(/\.000Z$/, "Z"),
            gpusFromBasis,
            startedAt: rec.startedAt,
            endedAt: rec.endedAt ?? (next ? next.startedAt : undefined),
            endReason,
            endBasis,
            excludedNodes: [...excluded],
            gpuHours: hours === undefined ? undefined : Math.round(hours * rec.nodes * rec.gpusPerNode * 1000) / 1000,
            costUsdEstimate: hours === undefined || rec.usdPerNodeHour === undefined ? undefined : Math.round(hours * rec.nodes * rec.usdPerNodeHour * 100) / 100,
        });
    });
    return out;
}

/**
 * `miles-cluster runs --dir DIR [--json]`: lists the run records (domain/training/runRecord.ts)
 * found under DIR — typically synced from the checkpoint bucket with the stack output
 * `runRecordsCommand`. Newest first; a record without an end is a run still going (or one whose
 * head pod died before it could write the end). Then each run's attempts (domain/training/
 * attempts.ts): why each ended, the nodes left out, GPU-hours from the Kueue admission — from the
 * records, the run events beside them and the Kueue Workloads copied next to them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { RUN_EVENT_SCHEMA, RUN_RECORD_SCHEMA } from "../domain/training/runRecord";
import { runAttempts, workloadConditions, type Attempt, type RunEvent, type WorkloadCondition } from "../domain/training/attempts";

export interface RunRecordRow {
    file: string;
    run: string;
    stack: string;
    status: string;
    startedAt: string;
    endedAt?: string;
    durationSeconds?: number;
    nodes: number;
    gpusPerNode: number;
    gpuHours?: number;
    costUsdEstimate?: number;
    image: string;
    gitCommit: string;
    exitCode?: number;
    usdPerNodeHour?: number;
    /** A hash of image, git commit and argv: what the deployment ran. */
    deployKey: string;
    /** Nodes the record lists as left out of its attempt (the run node watcher writes them as run events instead: domain/lifecycle/nodeWatch.ts). */
    excludedNodes?: Array<{ node: string; reason: string }>;
    /** This record as an attempt of its run: why it ended, the nodes left out, GPU-hours from the admission (domain/training/attempts.ts). */
    attempt?: Attempt;
}

function* jsonFiles(dir: string): Generator<string> {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) yield* jsonFiles(p);
        else if (e.isFile() && e.name.endsWith(".json")) yield p;
    }
}

function* jsonDocs(dir: string): Generator<{ file: string; doc: Record<string, any> }> {
    for (const file of jsonFiles(dir)) {
        try {
            yield { file, doc: JSON.parse(fs.readFileSync(file, "utf8")) };
        } catch {
            continue;
        }
    }
}

/** Every run record under `dir` (other JSON files are skipped), newest first. */
export function readRunRecords(dir: string): RunRecordRow[] {
    const rows: RunRecordRow[] = [];
    for (const { file, doc: rec } of jsonDocs(dir)) {
        // The static template (record.json of the ConfigMap) has no start: it is not a run.
        if (rec?.schema !== RUN_RECORD_SCHEMA || typeof rec.startedAt !== "string") continue;
        rows.push({
            file: path.relative(dir, file),
            run: rec.run,
            stack: rec.stack,
            status: rec.status,
            startedAt: rec.startedAt,
            endedAt: rec.endedAt,
            durationSeconds: rec.durationSeconds,
            nodes: rec.nodes,
            gpusPerNode: rec.gpusPerNode,
            gpuHours: rec.gpuHours,
            costUsdEstimate: rec.costUsdEstimate,
            image: rec.image,
            gitCommit: rec.gitCommit,
            exitCode: rec.exitCode,
            usdPerNodeHour: rec.usdPerNodeHour,
            deployKey: createHash("sha256").update(JSON.stringify([rec.image, rec.gitCommit, rec.argv])).digest("hex").slice(0, 12),
            ...(Array.isArray(rec.excludedNodes) ? { excludedNodes: rec.excludedNodes } : {}),
        });
    }
    for (const { attempts } of readRunAttempts(dir, rows)) {
        for (const a of attempts) {
            const row = rows.find((r) => r.file === a.file);
            if (row) row.attempt = a;
        }
    }
    return rows.sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
}

/** A run's attempts. */
export interface RunAttempts {
    run: string;
    attempts: Attempt[];
}

/**
 * Each run's attempts from what lies under `dir`: its records, the run events (RUN_EVENT_SCHEMA) and
 * its Kueue Workload (a Workload or WorkloadList whose owner is the run's RayJob, named as the run).
 */
export function readRunAttempts(dir: string, rows: RunRecordRow[]): RunAttempts[] {
    const events: RunEvent[] = [];
    const conditions = new Map<string, WorkloadCondition[]>();
    for (const { doc } of jsonDocs(dir)) {
        if (doc?.schema === RUN_EVENT_SCHEMA && typeof doc.run === "string" && typeof doc.at === "string") events.push(doc as RunEvent);
        const workloads = doc?.kind === "WorkloadList" ? (doc.items ?? []) : doc?.kind === "Workload" ? [doc] : [];
        for (const w of workloads) {
            const owner = (w?.metadata?.ownerReferences ?? []).find((o: { kind?: string }) => o.kind === "RayJob")?.name;
            if (typeof owner === "string") conditions.set(owner, workloadConditions(w));
        }
    }
    const runs = [...new Set(rows.map((r) => r.run))].sort();
    return runs.map((run) => ({
        run,
        attempts: runAttempts(
            rows.filter((r) => r.run === run),
            events.filter((e) => e.run === run),
            conditions.get(run) ?? [],
        ),
    }));
}

function hours(s?: number): string {
    return s === undefined ? "-" : `${(s / 3600).toFixed(2)} h`;
}

export function renderRunRecords(rows: RunRecordRow[]): string {
    if (rows.length === 0) return "no run records found\n";
    const table = [
        ["run", "status", "started (UTC)", "duration", "nodes x GPUs", "GPU-hours", "est. cost", "image", "commit", "attempt", "ended because", "GPU-h since GPUs held"],
        ...rows.map((r) => [
            r.run,
            r.status,
            r.startedAt,
            hours(r.durationSeconds),
            `${r.nodes} x ${r.gpusPerNode}`,
            r.gpuHours === undefined ? "-" : r.gpuHours.toFixed(1),
            r.costUsdEstimate === undefined ? "-" : `$${r.costUsdEstimate.toFixed(2)}`,
            r.image,
            r.gitCommit.slice(0, 12),
            r.attempt ? `#${r.attempt.n}` : "-",
            r.attempt?.endReason ?? "-",
            r.attempt?.gpuHours === undefined ? "-" : `${r.attempt.gpuHours.toFixed(1)} (from ${r.attempt.gpusFromBasis})`,
        ]),
    ];
    const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
    const text = table.map((row) => row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n") + "\n";
    // Why each attempt ended and which nodes it left out, oldest first per run.
    const notes = [...rows]
        .reverse()
        .filter((r) => r.attempt)
        .flatMap((r) => [`${r.run} #${r.attempt!.n} ${r.attempt!.endReason}: ${r.attempt!.endBasis}`, ...r.attempt!.excludedNodes.map((x) => `  excluded ${x.node} since ${x.at}: ${x.reason}`)]);
    return notes.length > 0 ? `${text}\n${notes.join("\n")}\n` : text;
}

/**
 * `miles-cluster runs --dir DIR [--json]`: lists the run records (domain/training/runRecord.ts)
 * found under DIR — typically synced from the checkpoint bucket with the stack output
 * `runRecordsCommand`. Newest first; a record without an end is a run still going (or one whose
 * head pod died before it could write the end).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { RUN_RECORD_SCHEMA } from "../domain/training/runRecord";

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
}

function* jsonFiles(dir: string): Generator<string> {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) yield* jsonFiles(p);
        else if (e.isFile() && e.name.endsWith(".json")) yield p;
    }
}

/** Every run record under `dir` (other JSON files are skipped), newest first. */
export function readRunRecords(dir: string): RunRecordRow[] {
    const rows: RunRecordRow[] = [];
    for (const file of jsonFiles(dir)) {
        let rec: Record<string, any>;
        try {
            rec = JSON.parse(fs.readFileSync(file, "utf8"));
        } catch {
            continue;
        }
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
        });
    }
    return rows.sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
}

function hours(s?: number): string {
    return s === undefined ? "-" : `${(s / 3600).toFixed(2)} h`;
}

export function renderRunRecords(rows: RunRecordRow[]): string {
    if (rows.length === 0) return "no run records found\n";
    const table = [
        ["run", "status", "started (UTC)", "duration", "nodes x GPUs", "GPU-hours", "est. cost", "image", "commit"],
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
        ]),
    ];
    const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
    return table.map((row) => row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n") + "\n";
}

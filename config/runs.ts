/**
 * Several named runs in one stack (`training.runs`): each run is the training section with the
 * run's own fields merged over it, parsed with the same schema, so every run gets every default
 * and every field problem — reported at `training.runs.<name>.<field>`. A stack without `runs`
 * has one run: the training section itself (path `training`), exactly as before.
 */
import { TrainingSchema, trainingSecretPaths, type TrainingConfig } from "./training";
import type { Problem } from "./problems";
import { problemsFromZod } from "./zodProblems";

/** One run of a stack: its validated training config and where its fields live in the stack file. */
export interface RunEntry {
    /** `training` for the single run of a stack without `runs`, else `training.runs.<name>`. */
    path: string;
    /** The run's training config (for a named run, `runName` is its key and `runs` is unset). */
    training: TrainingConfig;
}

/** Fields every run of a stack shares: the namespace holds the storage claim, the service account and the LocalQueue. */
const SHARED_ONLY = ["namespace", "runName", "runs"] as const;

function isMapping(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Whether a training section as written names its model (`model.preset` or `model.custom`): a
 * disabled section that names none describes no run at all (README "A stack with no run"), so
 * nothing of it is resolved, sized or kept.
 */
function namesModel(raw: Record<string, unknown>): boolean {
    const model = raw.model;
    return isMapping(model) && (model.preset !== undefined || model.custom !== undefined);
}

/** `over` merged onto `base`: mappings merge key by key, everything else (lists, scalars, null) replaces. */
export function mergeOverride(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = isMapping(v) && isMapping(out[k]) ? mergeOverride(out[k] as Record<string, unknown>, v) : v;
    return out;
}

function getAt(obj: unknown, path: ReadonlyArray<string>): unknown {
    let cur: unknown = obj;
    for (const p of path) {
        if (!isMapping(cur)) return undefined;
        cur = cur[p];
    }
    return cur;
}

/**
 * The runs of a parsed training section. `raw` is the section as written (before defaults), so a
 * run inherits what the user wrote, not the shared defaults' resolved values (e.g. a derived
 * checkpoint directory). `secret` says whether the training key is a Pulumi secret.
 */
export function expandRuns(raw: Record<string, unknown>, parsed: TrainingConfig, opts: { secret: boolean; key: string }): { runs: RunEntry[]; problems: Problem[] } {
    if (parsed.runs === undefined) {
        // A disabled section naming no model is a cluster with no run: nothing to create, nothing it keeps on the volume.
        if (parsed.enabled === false && !namesModel(raw)) return { runs: [], problems: [] };
        return { runs: [{ path: "training", training: parsed }], problems: [] };
    }
    const problems: Problem[] = [];
    const names = Object.keys(parsed.runs);
    if (names.length === 0) problems.push({ path: "training.runs", message: "is empty: name at least one run, or remove `runs` to run the training section itself" });
    if (parsed.runName !== undefined) {
        problems.push({ path: "training.runName", message: `cannot be set together with training.runs: each run is named by its key (${names.join(", ")})` });
    }
    const { runs: _runs, ...shared } = raw;
    const out: RunEntry[] = [];
    for (const name of names) {
        const path = `training.runs.${name}`;
        const override = parsed.runs[name];
        let bad = false;
        for (const f of SHARED_ONLY) {
            if (override[f] === undefined) continue;
            bad = true;
            const why = f === "runName" ? `the run's name is its key, "${name}"` : f === "runs" ? "runs do not nest" : "all runs of a stack share training.namespace (its storage claim, service account and LocalQueue)";
            problems.push({ path: `${path}.${f}`, message: `cannot be set per run: ${why}` });
        }
        if (!opts.secret) {
            for (const p of trainingSecretPaths) {
                if (getAt(override, p) === undefined) continue;
                bad = true;
                problems.push({ path: `${path}.${p.join(".")}`, message: `is a secret: set it with \`pulumi config set --secret --path '${opts.key}.runs.${name}.${p.join(".")}' <value>\`, never as plaintext` });
            }
        }
        if (bad) continue;
        const merged = mergeOverride(shared, { ...override, runName: name });
        if (merged.enabled === false && !namesModel(merged)) continue;
        const res = TrainingSchema.safeParse(merged);
        if (!res.success) {
            problems.push(...problemsFromZod(path, TrainingSchema, res.error.issues, merged, trainingSecretPaths));
            continue;
        }
        out.push({ path, training: res.data });
    }
    return { runs: out, problems };
}

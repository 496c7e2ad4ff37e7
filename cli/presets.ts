/**
 * `miles-cluster presets [filter] [--json]`: every model preset with its family, sizes and whether
 * `plan` accepts it (or why not). A filter keeps the presets whose name or family contains it; a
 * filter nothing contains lists the presets it most likely meant (config/presets.ts).
 *
 * Whether a preset plans is not decided here: each preset is put into one reference stack (one
 * p5.48xlarge, every other setting at its default) and the run's own rules (domain/training/rules.ts)
 * say what they say about `training.model.*`.
 */
import { filterPresets } from "../config/presets";
import type { ModelPreset } from "../catalog/modelPreset";
import type { MilesConfig } from "../config";
import { parseConfig } from "../validation";
import { runOf } from "../domain/stack";
import { trainingProblems } from "../domain/training/rules";

/**
 * yes: plans with the preset's defaults. settings: plans once the model settings the reason names are
 * set (a checkpoint repo, a BF16 copy, the FP8 cast). no: `plan` refuses the preset itself.
 */
export type PresetPlans = "yes" | "settings" | "no";

/** The reference stack every preset is judged in. */
const REFERENCE = {
    "aws:region": "us-east-1",
    "miles-cluster:cluster": JSON.stringify({ availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "gpu", instanceType: "p5.48xlarge", nodes: 1 }] }),
    "miles-cluster:training": JSON.stringify({}),
};

let reference: MilesConfig | undefined;

/** What the plan's rules say about the preset's model settings, in the reference stack. */
export function presetVerdict(p: ModelPreset): { plans: PresetPlans; reason?: string } {
    if (!reference) {
        const r = parseConfig({ values: REFERENCE, secretKeys: [] }, { stack: "presets" });
        if (!r.config) throw new Error(`the presets reference stack is invalid: ${r.problems.map((x) => `${x.path}: ${x.message}`).join("; ")}`);
        reference = r.config;
    }
    const t = reference.training;
    const cfg: MilesConfig = { ...reference, training: { ...t, model: { ...t.model, preset: p.preset } } };
    cfg.runs = cfg.runs.map((e) => (e.training === t ? { ...e, training: cfg.training } : e));
    const errors = trainingProblems(runOf(cfg)).filter((x) => x.severity === "error" && x.path.startsWith("training.model."));
    if (errors.length === 0) return { plans: "yes" };
    const reason = errors.map((x) => `${x.path}: ${x.message}`).join("; ");
    return { plans: errors.some((x) => x.path === "training.model.preset") ? "no" : "settings", reason };
}

export interface PresetRow {
    preset: string;
    family: string;
    /** Total / active parameters in billions; undefined for pruned test slices and unstated sizes. */
    totalParamsB?: number;
    activeParamsB?: number;
    moe: boolean;
    hfRepo?: string;
    gated?: boolean;
    ckptDtype?: string;
    source: ModelPreset["source"];
    plans: PresetPlans;
    reason?: string;
}

export function presetRows(filter?: string): { rows: PresetRow[]; suggested: boolean } {
    const { presets, suggested } = filterPresets(filter);
    const rows = presets.map((p): PresetRow => {
        const s = presetVerdict(p);
        return {
            preset: p.preset,
            family: p.family,
            ...(p.totalParamsB !== undefined ? { totalParamsB: p.totalParamsB } : {}),
            ...(p.activeParamsB !== undefined ? { activeParamsB: p.activeParamsB } : {}),
            moe: p.numExperts > 0,
            ...(p.hfRepo ? { hfRepo: p.hfRepo } : {}),
            ...(p.gated !== undefined ? { gated: p.gated } : {}),
            ...(p.ckptDtype ? { ckptDtype: p.ckptDtype } : {}),
            source: p.source,
            plans: s.plans,
            ...(s.reason ? { reason: s.reason } : {}),
        };
    });
    return { rows, suggested };
}

const size = (r: PresetRow) => (r.totalParamsB === undefined ? "-" : r.activeParamsB !== undefined && r.activeParamsB !== r.totalParamsB ? `${r.totalParamsB}B (${r.activeParamsB}B active)` : `${r.totalParamsB}B`);
const plans = (r: PresetRow) => (r.plans === "yes" ? "yes" : r.plans === "settings" ? "with settings" : "no");

export function renderPresetRows(rows: ReadonlyArray<PresetRow>, filter: string | undefined, suggested: boolean): string {
    const head = ["PRESET", "FAMILY", "SIZE", "PLANS"];
    const body = rows.map((r) => [r.preset, r.family, size(r), plans(r)]);
    const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(w[i]))).join("  ");
    const out = [suggested ? `no preset name or family contains "${filter}"; closest:` : undefined, line(head), ...body.map(line)].filter((l): l is string => l !== undefined);
    const why = rows.filter((r) => r.reason);
    if (why.length > 0) out.push("", ...why.map((r) => `${r.preset}: ${r.reason}`));
    return out.join("\n") + "\n";
}

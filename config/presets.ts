/**
 * Finding a model preset by what a user is likely to type: its exact name in another case, a name
 * of the same family ("glm4.5-air" → the glm4.5 presets), the same family at the nearest size
 * ("qwen3-7b" → qwen3-8B), or a spelling slip. Used by the `training.model.preset` message and by
 * `miles-cluster presets [filter]`.
 */
import { MODEL_PRESETS, type ModelPreset } from "../catalog/models";
import { closest } from "./problems";

/** The command that lists presets; every preset message points to it (the catalog files are not in the npm package). */
export const PRESETS_COMMAND = "miles-cluster presets";

const SEP = /[-_\s]/;

const squash = (s: string) => s.toLowerCase().replace(/[-_\s]/g, "");

/**
 * The family (or preset-name stem) `word` starts with, lowercase, and the rest of the word: the longest
 * separator-delimited start that starts a preset name or is a family ("glm4.5-air" → glm4.5); failing
 * that, a family the word starts with once separators are dropped ("GLM-4.5-Air" → glm4.5).
 */
function stemOf(word: string, presets: ReadonlyArray<ModelPreset>): { stem: string; rest: string } | undefined {
    const w = word.toLowerCase();
    const cuts: number[] = [w.length];
    for (let i = w.length - 1; i > 0; i--) if (SEP.test(w[i])) cuts.push(i);
    for (const cut of cuts) {
        const stem = w.slice(0, cut);
        if (stem.length >= 2 && familyOf(stem, presets).length > 0) return { stem, rest: w.slice(cut) };
    }
    const flat = squash(word);
    const family = presets
        .map((p) => p.family.toLowerCase())
        .filter((f) => squash(f).length >= 3 && flat.startsWith(squash(f)))
        .sort((a, b) => squash(b).length - squash(a).length)[0];
    return family === undefined ? undefined : { stem: family, rest: flat.slice(squash(family).length) };
}

/** The first `<n>b` size in `text` (billions of parameters), e.g. 8 in "qwen3-8b". */
function sizeIn(text: string): number | undefined {
    const m = /(?:^|[^a-z0-9.])(\d+(?:\.\d+)?)b(?![a-z])/i.exec(text);
    return m ? Number(m[1]) : undefined;
}

/** Billions of parameters: the table's figure, else the size the name states ("llama3.1-70B-Instruct"). */
const sizeOf = (p: ModelPreset): number | undefined => p.totalParamsB ?? sizeIn(p.preset.slice(p.family.length));

/** The presets of the family (or name stem) `stem`. */
function familyOf(stem: string, presets: ReadonlyArray<ModelPreset>): ModelPreset[] {
    return presets.filter((p) => p.family.toLowerCase() === stem || (p.preset.toLowerCase().startsWith(stem) && SEP.test(p.preset[stem.length] ?? "")));
}

/**
 * Presets a user who typed `word` may have meant, best first (at most `max`): an exact name in another
 * case alone; otherwise the family's preset nearest in size (when the word gives one) or the family's
 * full-size presets, smallest first; then the closest spelling.
 */
export function presetSuggestions(word: string, presets: ReadonlyArray<ModelPreset> = MODEL_PRESETS, max = 4): string[] {
    const names = presets.map((p) => p.preset);
    const lower = word.toLowerCase();
    const same = names.find((n) => n.toLowerCase() === lower);
    if (same !== undefined) return [same];
    const out: string[] = [];
    const found = stemOf(word, presets);
    if (found !== undefined) {
        const sized = familyOf(found.stem, presets).filter((p) => sizeOf(p) !== undefined);
        const size = sizeIn(found.rest);
        if (size !== undefined && size > 0) {
            const d = (p: ModelPreset) => Math.abs(Math.log(sizeOf(p)! / size));
            const best = Math.min(...sized.map(d));
            // Same size, several variants (Instruct, lora): all of them, in table order.
            out.push(...sized.filter((p) => d(p) - best < 1e-9).map((p) => p.preset));
        } else {
            out.push(...[...sized].sort((a, b) => sizeOf(a)! - sizeOf(b)!).map((p) => p.preset));
        }
    }
    const spelled = closest(word, names);
    if (spelled !== undefined && !out.includes(spelled)) out.push(spelled);
    return out.slice(0, max);
}

/** The `training.model.preset` message for a name that is no preset. */
export function unknownPresetMessage(word: string): string {
    const hints = presetSuggestions(word);
    const stem = stemOf(word, MODEL_PRESETS)?.stem;
    const quoted = hints.map((h) => JSON.stringify(h));
    const mean = quoted.length === 0 ? "" : ` (did you mean ${quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(", ")} or ${quoted[quoted.length - 1]}`}?)`;
    return `unknown model preset ${JSON.stringify(word)}${mean}; \`${PRESETS_COMMAND}${stem ? ` ${stem}` : ""}\` lists the presets with their family and size (or use training.model.custom)`;
}

/**
 * The presets a `presets [filter]` listing shows: every preset whose name or family contains the filter
 * (case-insensitive); when none does, the suggestions for it.
 */
export function filterPresets(filter: string | undefined, presets: ReadonlyArray<ModelPreset> = MODEL_PRESETS): { presets: ModelPreset[]; suggested: boolean } {
    if (!filter) return { presets: [...presets], suggested: false };
    const f = filter.toLowerCase();
    const hit = presets.filter((p) => p.preset.toLowerCase().includes(f) || p.family.toLowerCase().includes(f));
    if (hit.length > 0) return { presets: hit, suggested: false };
    const names = presetSuggestions(filter, presets, 8);
    return { presets: presets.filter((p) => names.includes(p.preset)), suggested: true };
}

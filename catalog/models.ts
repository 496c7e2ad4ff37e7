/**
 * Model presets: the architecture facts and Megatron architecture args of every model miles ships a
 * `scripts/models/<preset>` file for (plus slime-only presets), from shared/miles/models.tsv.
 */
import { MODEL_PRESETS as TSV_PRESETS } from "./models.data";
import { MODEL_EXTENSIONS } from "./modelsExt.data";
import { applyModelExtensions } from "./modelsExt";
import type { ModelPreset } from "./modelPreset";

export type { ModelPreset };

/** shared/miles/models.tsv with catalog/models.ext.tsv applied: one table of model facts. */
export const MODEL_PRESETS: ReadonlyArray<ModelPreset> = applyModelExtensions(TSV_PRESETS, MODEL_EXTENSIONS);

export const MODEL_PRESET_NAMES: ReadonlyArray<string> = MODEL_PRESETS.map((m) => m.preset);

export function modelPreset(name: string): ModelPreset | undefined {
    return MODEL_PRESETS.find((m) => m.preset === name);
}

export function isMoe(m: ModelPreset): boolean {
    return m.numExperts > 0;
}

/**
 * Splits a preset's architecture args into argv tokens. Values never contain spaces in the table
 * (`--moe-layer-freq` is an explicit `[0,1,...]` list without spaces), so whitespace splitting is exact.
 */
export function architectureArgv(m: ModelPreset): string[] {
    return m.megatronArgs.split(/\s+/).filter((t) => t !== "");
}

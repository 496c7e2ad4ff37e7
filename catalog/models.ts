/**
 * Model presets: the architecture facts and Megatron architecture args of every model miles ships a
 * `scripts/models/<preset>` file for (plus slime-only presets), from shared/miles/models.tsv.
 */
import { MODEL_PRESETS } from "./models.data";
import type { ModelPreset } from "./modelPreset";

export type { ModelPreset };

export { MODEL_PRESETS };

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

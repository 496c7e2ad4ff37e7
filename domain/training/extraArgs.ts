/**
 * `training.extraArgs` read as flags, so the rules that guard generated flags (layout, parallelism,
 * features) see what the escape hatch adds too. A flag takes the tokens up to the next `--…` token as its
 * values; `--x=v` counts as `--x v`.
 */
export interface ExtraFlag {
    /** Index of the flag token in extraArgs (for `training.extraArgs[i]` problem paths). */
    index: number;
    values: string[];
}

export function parseExtraArgs(extra: ReadonlyArray<string>): Map<string, ExtraFlag> {
    const out = new Map<string, ExtraFlag>();
    for (let i = 0; i < extra.length; i++) {
        const tok = extra[i];
        if (!tok.startsWith("--") || tok === "--") continue;
        const [flag, inline] = tok.split(/=(.*)/s, 2);
        const values: string[] = inline !== undefined ? [inline] : [];
        for (let j = i + 1; j < extra.length && !extra[j].startsWith("--"); j++) values.push(extra[j]);
        if (!out.has(flag)) out.set(flag, { index: i, values });
    }
    return out;
}

/** The first value of an extra flag as a number (undefined when absent or not a number). */
export function extraNumber(flags: Map<string, ExtraFlag>, flag: string): number | undefined {
    const v = flags.get(flag)?.values[0];
    if (v === undefined) return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
}

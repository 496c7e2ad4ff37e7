/**
 * Which values of a stack file are Pulumi secrets. Pulumi encrypts one value per `--secret --path`
 * call and writes it as `{ secure: v1:... }` in place of that value; the program, though, only
 * learns that a whole config key (`miles-cluster:training`) holds some secret. Checking secret
 * fields against that key-level flag let a plaintext `hfToken` pass beside a `secure:` W&B key, so
 * each secret field is checked against the leaves written as `secure:` in the stack file itself.
 */

/** `{ secure: "v1:..." }`: a value Pulumi encrypted. */
export function isSecureValue(v: unknown): v is { secure: string } {
    return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { secure?: unknown }).secure === "string";
}

/** One segment of a leaf path: `.name` for mapping keys, `[i]` for list items. */
export function pathSegment(seg: string | number): string {
    return typeof seg === "number" ? `[${seg}]` : `.${seg}`;
}

/**
 * Paths (`<config key>.a.b[0]`) of every `secure:` value under `value`, at most `maxDepth` levels
 * down (deeper values are reported by the nesting check, not walked).
 */
export function secureLeafPaths(key: string, value: unknown, maxDepth = 64): string[] {
    const out: string[] = [];
    const stack: Array<{ v: unknown; at: string; depth: number }> = [{ v: value, at: key, depth: 0 }];
    while (stack.length > 0) {
        const { v, at, depth } = stack.pop()!;
        if (isSecureValue(v)) out.push(at);
        else if (depth < maxDepth && Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, at: at + pathSegment(i), depth: depth + 1 }));
        else if (depth < maxDepth && v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) stack.push({ v: x, at: at + pathSegment(k), depth: depth + 1 });
    }
    return out.sort();
}

/**
 * How deep `value` nests lists and mappings, and the path of its deepest branch, walked without
 * recursion (a value nested thousands of levels deep must become a problem, not a stack overflow).
 * Stops counting at `limit + 1`.
 */
export function nestingDepth(value: unknown, limit: number): { depth: number; path: Array<string | number> } {
    let best = { depth: 0, path: [] as Array<string | number> };
    const stack: Array<{ v: unknown; path: Array<string | number> }> = [{ v: value, path: [] }];
    while (stack.length > 0) {
        const { v, path } = stack.pop()!;
        if (v === null || typeof v !== "object") continue;
        const depth = path.length + 1;
        if (depth > best.depth) best = { depth, path };
        if (depth > limit) return best;
        const entries: Array<[string | number, unknown]> = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
        for (const [k, x] of entries) stack.push({ v: x, path: [...path, k] });
    }
    return best;
}

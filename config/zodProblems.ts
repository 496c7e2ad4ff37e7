/**
 * Turns zod issues into problems a user can act on: what is wrong and what to write instead, with the
 * field's own description, "did you mean" hints, and never a secret's value.
 */
import { z } from "zod";
import { closest, describeValue, formatPath, joinPath, valueAt, type Problem } from "./problems";

type AnySchema = z.core.$ZodType;
type Def = Record<string, any>;

/** Unwraps optional/default/nullable/prefault/readonly/catch/pipe wrappers, collecting the first description met. */
function unwrap(s: AnySchema | undefined, found: { description?: string }): AnySchema | undefined {
    for (let i = 0; i < 10 && s; i++) {
        const described = z.globalRegistry.get(s as z.ZodType)?.description;
        if (found.description === undefined && typeof described === "string") found.description = described;
        const def = (s as { _zod?: { def?: Def } })._zod?.def;
        if (!def) return s;
        if (["optional", "default", "nullable", "prefault", "readonly", "catch", "nonoptional"].includes(def.type)) s = def.innerType;
        else if (def.type === "pipe") s = def.in;
        else return s;
    }
    return s;
}

function defOf(s: AnySchema | undefined): Def | undefined {
    return (s as { _zod?: { def?: Def } } | undefined)?._zod?.def;
}

/** The discriminator of a discriminated union and the literal value(s) each option accepts. */
function unionBranches(def: Def): { discriminator?: string; branches: Array<{ schema: AnySchema; tags: unknown[] }> } {
    const discriminator: string | undefined = def.discriminator;
    const branches = (def.options as AnySchema[]).map((o) => {
        const shape = defOf(o)?.shape as Record<string, AnySchema> | undefined;
        const tagDef = discriminator && shape ? defOf(shape[discriminator]) : undefined;
        return { schema: o, tags: (tagDef?.values as unknown[] | undefined) ?? [] };
    });
    return { discriminator, branches };
}

/** The union option the input selects by its discriminator, if any. */
function branchFor(def: Def, input: unknown): AnySchema | undefined {
    const { discriminator, branches } = unionBranches(def);
    if (!discriminator || input === null || typeof input !== "object") return undefined;
    const tag = (input as Record<string, unknown>)[discriminator];
    return branches.find((b) => b.tags.includes(tag))?.schema;
}

/** What the schema says about the value at `path` of `input`: the (unwrapped) schema there and its description. */
export function schemaAt(schema: AnySchema, path: ReadonlyArray<PropertyKey>, input?: unknown): { schema?: AnySchema; description?: string } {
    let found: { description?: string } = {};
    let s = unwrap(schema, found);
    let value = input;
    for (const seg of path) {
        let def = defOf(s);
        if (def && (def.type === "union" || def.type === "discriminatedUnion")) {
            s = unwrap(branchFor(def, value), {});
            def = defOf(s);
        }
        if (!def) return {};
        found = {};
        if (def.type === "object") s = unwrap(def.shape[seg as string], found);
        else if (def.type === "array") s = unwrap(def.element, found);
        else if (def.type === "record") s = unwrap(def.valueType, found);
        else return {};
        value = value !== null && typeof value === "object" ? (value as Record<PropertyKey, unknown>)[seg] : undefined;
    }
    return { schema: s, description: found.description };
}

/** Keys the object schema at `path` knows (for a union: the keys of the option the input selects, else of all options). */
function knownKeys(schema: AnySchema, path: ReadonlyArray<PropertyKey>, input?: unknown): string[] {
    const s = schemaAt(schema, path, input).schema;
    const def = defOf(s);
    if (def?.type === "object") return Object.keys(def.shape);
    if (def?.type === "union" || def?.type === "discriminatedUnion") {
        const chosen = defOf(branchFor(def, valueAt(input, path).value));
        if (chosen?.type === "object") return Object.keys(chosen.shape);
        return [...new Set((def.options as AnySchema[]).flatMap((o) => (defOf(o)?.type === "object" ? Object.keys(defOf(o)!.shape) : [])))];
    }
    return [];
}

const EXPECTED: Record<string, string> = {
    string: "a string",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
    array: "a list",
    object: "a mapping (key: value pairs)",
    record: "a mapping (key: value pairs)",
    null: "null",
};

function expectedText(expected: string): string {
    return EXPECTED[expected] ?? expected;
}

/** Zod's own (English locale) messages start like this; messages written in config/*.ts never do. */
function isZodDefault(message: string): boolean {
    return /^(Invalid|Too small|Too big|Unrecognized key)/.test(message);
}

function quoteList(values: ReadonlyArray<unknown>): string {
    return values.map((v) => JSON.stringify(v)).join(", ");
}

function firstSentence(text: string | undefined): string {
    if (!text) return "";
    const m = /^(.*?[.!?])(\s|$)/.exec(text);
    return (m ? m[1] : text).trim();
}

function didYouMean(value: unknown, options: ReadonlyArray<unknown>): string {
    if (typeof value !== "string") return "";
    const hint = closest(value, options.filter((o): o is string => typeof o === "string"));
    return hint ? ` (did you mean ${JSON.stringify(hint)}?)` : "";
}

function sizeMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, value: unknown, secret: boolean): string {
    const small = issue.code === "too_small";
    const bound = Number(small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum);
    const inclusive = issue.inclusive !== false;
    if (issue.origin === "array" || issue.origin === "set") {
        const n = Array.isArray(value) ? value.length : 0;
        const limit = small ? (inclusive ? bound : bound + 1) : inclusive ? bound : bound - 1;
        return `must have ${small ? "at least" : "at most"} ${limit} item${limit === 1 ? "" : "s"}, got ${n}`;
    }
    if (issue.origin === "string") {
        if (small && bound <= 1) return "must not be empty";
        return `must be ${small ? "at least" : "at most"} ${bound} characters long${secret ? "" : `, got ${typeof value === "string" ? value.length : "?"}`}`;
    }
    const rel = small ? (inclusive ? "at least" : "more than") : inclusive ? "at most" : "less than";
    return `must be ${rel} ${bound}${secret ? "" : `, got ${describeValue(value)}`}`;
}

/** `"1200"` where a number is wanted, `"true"` where a boolean is: the quotes are the problem. */
function quotedScalarHint(expected: string, value: unknown): string {
    if (typeof value !== "string") return "";
    if ((expected === "number" || expected === "int") && value.trim() !== "" && Number.isFinite(Number(value))) return `; remove the quotes: ${value.trim()}`;
    if (expected === "boolean" && (value === "true" || value === "false")) return `; remove the quotes: ${value}`;
    return "";
}

interface IssueContext {
    schema: AnySchema;
    input: unknown;
    secretPaths: ReadonlyArray<ReadonlyArray<string>>;
}

function isSecretPath(path: ReadonlyArray<PropertyKey>, secretPaths: ReadonlyArray<ReadonlyArray<string>>): boolean {
    return secretPaths.some((sp) => sp.length <= path.length && sp.every((seg, i) => seg === "*" || String(path[i]) === seg));
}

/** A message that says what is wrong and what to write instead, for one zod issue. */
function messageFor(issue: z.core.$ZodIssue, ctx: IssueContext): string {
    const { present, value } = valueAt(ctx.input, issue.path);
    const secret = isSecretPath(issue.path, ctx.secretPaths);
    const here = schemaAt(ctx.schema, issue.path, ctx.input);
    const about = firstSentence(here.description);
    const aboutSuffix = about ? ` — ${about}` : "";
    const hereDef = defOf(here.schema);

    // A required field that is missing or empty.
    if ((issue.code === "invalid_type" || issue.code === "invalid_value") && (!present || value === null)) {
        const what =
            issue.code === "invalid_value" ? `one of ${quoteList(issue.values)}` : hereDef?.type === "enum" ? `one of ${quoteList(Object.values(hereDef.entries))}` : expectedText(issue.expected);
        return `${present ? "has no value (an empty YAML entry); expected" : "is required:"} ${what}${aboutSuffix}`;
    }
    if (issue.code === "invalid_union" && (issue as { note?: string }).note === "No matching discriminator") {
        const options = ((issue as { options?: unknown[] }).options ?? []) as unknown[];
        if (!present || value === null) return `is required: one of ${quoteList(options)}`;
        return `${typeof value === "string" ? JSON.stringify(value) : describeValue(value, secret)} is not one of ${quoteList(options)}${didYouMean(value, options)}`;
    }
    if (!isZodDefault(issue.message)) return issue.message;

    switch (issue.code) {
        case "invalid_type": {
            // A bare value where a discriminated mapping is wanted, e.g. `capacity: spot`.
            if ((hereDef?.type === "union" || hereDef?.type === "discriminatedUnion") && hereDef.discriminator && typeof value === "string") {
                const { discriminator, branches } = unionBranches(hereDef);
                if (discriminator && branches.some((b) => b.tags.includes(value))) return `must be a mapping; write { ${discriminator}: ${value} }`;
            }
            return `must be ${expectedText(issue.expected)}, got ${describeValue(value, secret)}${secret ? "" : quotedScalarHint(issue.expected, value)}`;
        }
        case "invalid_value": {
            if (issue.values.length === 1) return `must be ${JSON.stringify(issue.values[0])}, got ${describeValue(value, secret)}`;
            const shown = typeof value === "string" && !secret ? JSON.stringify(value) : describeValue(value, secret);
            return `${shown} is not one of ${quoteList(issue.values)}${secret ? "" : didYouMean(value, issue.values)}`;
        }
        case "too_small":
        case "too_big":
            return sizeMessage(issue, value, secret);
        case "invalid_format":
            return `must be a valid ${issue.format}${secret ? "" : `, got ${describeValue(value)}`}`;
        case "not_multiple_of":
            return `must be a multiple of ${String(issue.divisor)}${secret ? "" : `, got ${describeValue(value)}`}`;
        case "invalid_key":
            return `has an invalid key${secret ? "" : ` in ${describeValue(value)}`}`;
        default:
            return `is not valid${secret ? "" : ` (got ${describeValue(value)})`}${aboutSuffix}`;
    }
}

/** Keys of every option of the union at `path`, with the discriminator values that accept each key. */
function keyOwners(schema: AnySchema, path: ReadonlyArray<PropertyKey>, input: unknown): { discriminator?: string; owners: Map<string, unknown[]> } {
    const s = schemaAt(schema, path, input).schema;
    const def = defOf(s);
    const owners = new Map<string, unknown[]>();
    if (!def || (def.type !== "union" && def.type !== "discriminatedUnion")) return { owners };
    const { discriminator, branches } = unionBranches(def);
    for (const b of branches) {
        const shape = defOf(b.schema)?.shape as Record<string, unknown> | undefined;
        for (const k of Object.keys(shape ?? {})) owners.set(k, [...(owners.get(k) ?? []), ...b.tags]);
    }
    return { discriminator, owners };
}

function unknownKeyMessage(key: string, issuePath: ReadonlyArray<PropertyKey>, ctx: IssueContext): string {
    const keys = knownKeys(ctx.schema, issuePath, ctx.input);
    const { discriminator, owners } = keyOwners(ctx.schema, issuePath, ctx.input);
    const others = owners.get(key);
    if (discriminator && others && others.length > 0) {
        const tag = (valueAt(ctx.input, issuePath).value as Record<string, unknown> | undefined)?.[discriminator];
        return `is not used with ${discriminator} ${JSON.stringify(tag)} (only with ${discriminator} ${others.map((o) => JSON.stringify(o)).join(" or ")}); remove it or change ${discriminator}`;
    }
    const hint = closest(key, keys);
    return `unknown key${hint ? ` (did you mean "${hint}"?)` : ""}; known keys: ${keys.join(", ") || "(none)"}`;
}

/**
 * Turns zod issues of one section into problems, with readable messages and key suggestions.
 * `input` is the section's raw value (so messages can say what was written and whether a field is
 * missing); `secretPaths` lists fields whose values are never echoed.
 */
export function problemsFromZod(
    section: string,
    schema: z.ZodType,
    issues: ReadonlyArray<z.core.$ZodIssue>,
    input?: unknown,
    secretPaths: ReadonlyArray<ReadonlyArray<string>> = [],
): Problem[] {
    const ctx: IssueContext = { schema, input, secretPaths };
    const out: Problem[] = [];
    // A value of the wrong type is one problem, not also a too-short/too-long one.
    const wrongType = new Set(issues.filter((i) => i.code === "invalid_type").map((i) => formatPath(i.path)));
    for (const issue of issues) {
        if (issue.code !== "invalid_type" && wrongType.has(formatPath(issue.path))) continue;
        if (issue.code === "unrecognized_keys") {
            for (const k of issue.keys) out.push({ path: joinPath(section, formatPath([...issue.path, k])), message: unknownKeyMessage(k, issue.path, ctx) });
            continue;
        }
        if (issue.code === "invalid_union" && issue.errors.length > 0) {
            const { value } = valueAt(input, issue.path);
            // Every option rejected the value's type: say which types are accepted.
            const typeOnly = issue.errors.every((branch) => branch.length === 1 && branch[0].code === "invalid_type" && branch[0].path.length === 0);
            if (typeOnly) {
                const expected = [...new Set(issue.errors.map((b) => expectedText((b[0] as z.core.$ZodIssueInvalidType).expected)))];
                out.push({ path: joinPath(section, formatPath(issue.path)), message: `must be ${expected.join(" or ")}, got ${describeValue(value, isSecretPath(issue.path, secretPaths))}` });
                continue;
            }
            // Otherwise report the option that got furthest rather than "invalid input".
            const best = [...issue.errors].sort((a, b) => a.length - b.length)[0];
            const nested = best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })) as z.core.$ZodIssue[];
            out.push(...problemsFromZod(section, schema, nested, input, secretPaths));
            continue;
        }
        out.push({ path: joinPath(section, formatPath(issue.path)), message: messageFor(issue, ctx) });
    }
    return out;
}

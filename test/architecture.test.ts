/**
 * The layers point one way (docs/architecture.md). Every import of every source file — type-only
 * imports, `export … from`, `import("…")` types, `require()` and dynamic `import()` included — is read
 * with the TypeScript compiler's parser and checked against the layer ranks below; a file outside
 * the table fails the test too, so a new folder has to be given its place.
 *
 * The checker is a pure function of the file texts, so the negative controls at the end feed it a
 * synthetic bad import and see it fail: the test cannot pass by checking nothing.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..");

/** Lower ranks sit underneath; a file may import its own rank or below, never above. */
export const LAYERS: { unit: string; rank: number; what: string }[] = [
    { unit: "catalog", rank: 0, what: "facts" },
    { unit: "config", rank: 1, what: "schemas → typed config, field problems" },
    { unit: "domain", rank: 2, what: "pure decisions" },
    { unit: "validation", rank: 3, what: "every cross-section rule" },
    { unit: "components", rank: 4, what: "Pulumi ComponentResources" },
    { unit: "program.ts", rank: 5, what: "the Pulumi program" },
    { unit: "index.ts", rank: 5, what: "Pulumi entry (wires only)" },
    { unit: "plan", rank: 6, what: "offline plan" },
    { unit: "lib.ts", rank: 7, what: "package entry" },
    { unit: "cli", rank: 8, what: "command line" },
    { unit: "scripts", rank: 9, what: "generators, benchmark" },
];
/** May import anything; nothing outside them may import them. */
const FREE_UNITS = new Set(["test", "examples"]);
const SOURCE_EXT = /\.(ts|tsx|mts|cts|js|cjs|mjs)$/;
const SKIP_DIRS = new Set(["node_modules", "dist", ".git"]);

/** Pulumi SDKs whose runtime values make a module impure (types from them are fine). */
const PULUMI_RUNTIME = /^@pulumi\//;

export interface ImportRef {
    from: string;
    specifier: string;
    /** Resolved repo-relative path for relative specifiers; undefined for packages. */
    target?: string;
    typeOnly: boolean;
    line: number;
}

/** The layer unit of a repo-relative path: its top folder, or the file itself at the root. */
export function unitOf(rel: string): string {
    return rel.split("/")[0];
}

function rankOf(unit: string): number | undefined {
    return LAYERS.find((l) => l.unit === unit)?.rank;
}

const parsed = new Map<string, Omit<ImportRef, "target">[]>();

/** Every module reference in one file, read from its AST (parsed once per file text). */
export function importsOf(rel: string, text: string): Omit<ImportRef, "target">[] {
    const key = `${rel}\0${text}`;
    const cached = parsed.get(key);
    if (cached) return cached;
    const refs = parseImports(rel, text);
    parsed.set(key, refs);
    return refs;
}

function parseImports(rel: string, text: string): Omit<ImportRef, "target">[] {
    const sf = ts.createSourceFile(rel, text, ts.ScriptTarget.Latest, false, rel.endsWith("x") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
    const out: Omit<ImportRef, "target">[] = [];
    const add = (spec: ts.Expression | undefined, typeOnly: boolean, node: ts.Node) => {
        if (!spec || !ts.isStringLiteralLike(spec)) return;
        out.push({ from: rel, specifier: spec.text, typeOnly, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1 });
    };
    const visit = (node: ts.Node): void => {
        if (ts.isImportDeclaration(node)) {
            const c = node.importClause;
            const named = c?.namedBindings && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : undefined;
            const typeOnly = !!c && (c.isTypeOnly || (!c.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
            add(node.moduleSpecifier, typeOnly, node);
        } else if (ts.isExportDeclaration(node)) {
            const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
            add(node.moduleSpecifier, node.isTypeOnly || (!!named && named.length > 0 && named.every((e) => e.isTypeOnly)), node);
        } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
            add(node.moduleReference.expression, node.isTypeOnly, node);
        } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
            add(node.argument.literal, true, node);
        } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
            const isRequire = ts.isIdentifier(node.expression) && node.expression.text === "require";
            const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
            if (isRequire || isDynamicImport) add(node.arguments[0], false, node);
        }
        ts.forEachChild(node, visit);
    };
    visit(sf);
    return out;
}

/** Resolve a relative specifier against the known files the way Node/TypeScript would. */
function resolve(from: string, spec: string, files: ReadonlySet<string>): string | undefined {
    if (!spec.startsWith(".")) return undefined;
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
    const stem = base.replace(/\.(js|cjs|mjs)$/, "");
    const candidates = [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.d.ts`, `${base}.js`, `${base}.json`, `${base}/index.ts`, `${base}/index.js`];
    return candidates.find((c) => files.has(c));
}

export interface Violation {
    rule: "upward" | "unranked" | "unresolved" | "impure" | "folder-cycle" | "file-cycle" | "into-test";
    message: string;
}

/**
 * Check a tree given as repo-relative path → source text (other files that may be imported, such
 * as JSON, are listed in `otherFiles`). Returns every violation, none when the layers hold.
 */
export function checkArchitecture(sources: ReadonlyMap<string, string>, otherFiles: Iterable<string> = []): Violation[] {
    const files = new Set<string>([...sources.keys(), ...otherFiles]);
    const violations: Violation[] = [];
    const refs: ImportRef[] = [];
    for (const [rel, text] of sources) {
        const unit = unitOf(rel);
        if (!FREE_UNITS.has(unit) && rankOf(unit) === undefined) {
            violations.push({ rule: "unranked", message: `${rel}: '${unit}' has no layer in test/architecture.test.ts LAYERS (give it a rank, and a line in docs/architecture.md)` });
        }
        for (const r of importsOf(rel, text)) {
            const target = resolve(rel, r.specifier, files);
            if (r.specifier.startsWith(".") && !target) {
                violations.push({ rule: "unresolved", message: `${rel}:${r.line}: cannot resolve '${r.specifier}'` });
                continue;
            }
            refs.push({ ...r, target });
        }
    }

    const where = (r: ImportRef) => `${r.from}:${r.line}: ${r.typeOnly ? "type-only " : ""}import '${r.specifier}'`;
    for (const r of refs) {
        const fromUnit = unitOf(r.from);
        if (r.target === undefined) {
            // A package. The two bottom layers stay pure: no Pulumi runtime value.
            const pure = fromUnit === "catalog" || fromUnit === "domain";
            if (pure && PULUMI_RUNTIME.test(r.specifier) && !r.typeOnly) {
                violations.push({ rule: "impure", message: `${where(r)}: ${fromUnit}/ is pure (no Pulumi runtime values; import types only, build resources in components/)` });
            }
            continue;
        }
        const toUnit = unitOf(r.target);
        if (fromUnit === toUnit || FREE_UNITS.has(fromUnit)) continue;
        if (FREE_UNITS.has(toUnit)) {
            violations.push({ rule: "into-test", message: `${where(r)}: only test/ and examples/ may import from ${toUnit}/` });
            continue;
        }
        const fromRank = rankOf(fromUnit);
        const toRank = rankOf(toUnit);
        if (fromRank === undefined || toRank === undefined) continue; // reported as unranked
        if (toRank > fromRank) {
            violations.push({ rule: "upward", message: `${where(r)}: ${fromUnit} (layer ${fromRank}) must not import ${toUnit} (layer ${toRank}), which sits above it` });
        }
    }

    const edges = (key: (p: string) => string, layersOnly = false) => {
        const g = new Map<string, Set<string>>();
        for (const r of refs) {
            if (r.target === undefined) continue;
            if (layersOnly && (FREE_UNITS.has(unitOf(r.from)) || FREE_UNITS.has(unitOf(r.target)))) continue;
            const a = key(r.from);
            const b = key(r.target);
            if (a === b) continue;
            if (!g.has(a)) g.set(a, new Set());
            g.get(a)!.add(b);
        }
        return g;
    };
    // test/ and examples/ may import anything, so only the layers' own edges can close a folder cycle.
    for (const cycle of cyclesOf(edges(unitOf, true))) {
        violations.push({ rule: "folder-cycle", message: `folders import each other in a circle: ${cycle.join(" → ")} → ${cycle[0]}` });
    }
    for (const cycle of cyclesOf(edges((p) => p))) {
        violations.push({ rule: "file-cycle", message: `files import each other in a circle: ${cycle.join(" → ")} → ${cycle[0]}` });
    }
    return violations;
}

/** The strongly connected components with more than one node (Tarjan), each as a sorted list. */
export function cyclesOf(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
    let index = 0;
    const idx = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const out: string[][] = [];
    const strong = (v: string): void => {
        idx.set(v, index);
        low.set(v, index);
        index++;
        stack.push(v);
        onStack.add(v);
        for (const w of graph.get(v) ?? []) {
            if (!idx.has(w)) {
                strong(w);
                low.set(v, Math.min(low.get(v)!, low.get(w)!));
            } else if (onStack.has(w)) {
                low.set(v, Math.min(low.get(v)!, idx.get(w)!));
            }
        }
        if (low.get(v) === idx.get(v)) {
            const comp: string[] = [];
            let w: string;
            do {
                w = stack.pop()!;
                onStack.delete(w);
                comp.push(w);
            } while (w !== v);
            if (comp.length > 1) out.push(comp.sort());
        }
    };
    for (const v of graph.keys()) if (!idx.has(v)) strong(v);
    return out;
}

/** Every source file of the repository (node_modules, dist and hidden folders left out). */
export function readTree(root = ROOT): { sources: Map<string, string>; others: string[] } {
    const sources = new Map<string, string>();
    const others: string[] = [];
    const walk = (dir: string): void => {
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            if (e.name.startsWith(".") || SKIP_DIRS.has(e.name)) continue;
            const abs = path.join(dir, e.name);
            const rel = path.relative(root, abs).split(path.sep).join("/");
            if (e.isDirectory()) walk(abs);
            else if (SOURCE_EXT.test(e.name)) sources.set(rel, fs.readFileSync(abs, "utf8"));
            else others.push(rel);
        }
    };
    walk(root);
    return { sources, others };
}

describe("architecture: layers point one way", () => {
    const tree = readTree();
    const withFile = (rel: string, text: string) => new Map([...tree.sources, [rel, text]]);
    const check = (sources: Map<string, string>) => checkArchitecture(sources, tree.others);

    it("no import (type-only, export-from, require and import() included) points up a layer, nothing imports test/ or examples/, and domain/ and catalog/ use no Pulumi runtime value", () => {
        assert.ok(tree.sources.size > 50, `read only ${tree.sources.size} source files`);
        const v = check(tree.sources).filter((x) => x.rule !== "folder-cycle" && x.rule !== "file-cycle");
        assert.deepEqual(v.map((x) => x.message), []);
    });

    it("no two folders import each other, and no two files do", () => {
        const v = check(tree.sources).filter((x) => x.rule === "folder-cycle" || x.rule === "file-cycle");
        assert.deepEqual(v.map((x) => x.message), []);
    });

    it("every layer of the table exists in the tree (a renamed folder cannot drop out of the check)", () => {
        const units = new Set([...tree.sources.keys()].map(unitOf));
        for (const l of LAYERS) assert.ok(units.has(l.unit), `layer ${l.unit} has no source file`);
    });

    it("reads every kind of module reference from the AST, and which are type-only", () => {
        const text = [
            `import { a } from "./a";`,
            `import type { B } from "./b";`,
            `import { type C, type D } from "./c";`,
            `import E, { type F } from "./e";`,
            `import * as g from "./g";`,
            `import "./side";`,
            `export * from "./h";`,
            `export type { I } from "./i";`,
            `export { j } from "./j";`,
            `import k = require("./k");`,
            `const l = require("./l");`,
            `const m = import("./m");`,
            `let n: import("./n").N;`,
            "const notAnImport = `import { x } from \"./template\"`;",
            `// import { y } from "./comment";`,
        ].join("\n");
        const got = importsOf("domain/x.ts", text).map((r) => `${r.specifier}${r.typeOnly ? " (type)" : ""}`);
        assert.deepEqual(got, ["./a", "./b (type)", "./c (type)", "./e", "./g", "./side", "./h", "./i (type)", "./j", "./k", "./l", "./m", "./n (type)"]);
    });

    describe("negative controls: a synthetic bad file makes the check fail", () => {
        const rulesOf = (v: Violation[]) => [...new Set(v.map((x) => x.rule))].sort();
        /** An upward import usually closes a folder cycle too (the layer above imports back down). */
        const upward = (v: Violation[]) => rulesOf(v).filter((r) => r !== "folder-cycle" && r !== "file-cycle");
        const firstUpward = (v: Violation[]) => v.find((x) => x.rule === "upward")!.message;

        it("config/ importing domain/ (the old config → trainingRules cycle) is an upward import", () => {
            const v = check(withFile("config/bad.ts", `import { trainingProblems } from "../domain/training/rules";\nexport const x = trainingProblems;\n`));
            assert.deepEqual(upward(v), ["upward"]);
            assert.match(firstUpward(v), /^config\/bad\.ts:1: import '\.\.\/domain\/training\/rules': config \(layer 1\) must not import domain \(layer 2\)/);
        });

        it("a type-only import counts: domain/ taking a type from components/contracts", () => {
            const v = check(withFile("domain/bad.ts", `import type { ClusterHandle } from "../components/contracts";\nexport type X = ClusterHandle;\n`));
            assert.deepEqual(upward(v), ["upward"]);
            assert.match(firstUpward(v), /type-only import '\.\.\/components\/contracts': domain \(layer 2\) must not import components \(layer 4\)/);
        });

        it("an import(\"…\") type counts too", () => {
            const v = check(withFile("catalog/bad.ts", `export type X = import("../config").MilesConfig;\n`));
            assert.deepEqual(upward(v), ["upward"]);
        });

        it("`export … from`, require() and dynamic import() count", () => {
            assert.deepEqual(upward(check(withFile("components/bad.ts", `export * from "../plan/run";\n`))), ["upward"]);
            assert.deepEqual(upward(check(withFile("validation/bad.ts", `const p = require("../program");\nexport default p;\n`))), ["upward"]);
            assert.deepEqual(upward(check(withFile("plan/bad.ts", `export const c = () => import("../cli/main");\n`))), ["upward"]);
        });

        it("catalog/ imports no other layer, not even config/", () => {
            const v = check(withFile("catalog/bad.ts", `import { NAMESPACE } from "../config";\nexport const n = NAMESPACE;\n`));
            assert.deepEqual(upward(v), ["upward"]);
        });

        it("domain/ stays pure: a Pulumi runtime value fails, a type does not", () => {
            const bad = check(withFile("domain/bad.ts", `import * as pulumi from "@pulumi/pulumi";\nexport const o = pulumi.output(1);\n`));
            assert.deepEqual(rulesOf(bad), ["impure"]);
            const fine = check(withFile("domain/fine.ts", `import type * as k8s from "@pulumi/kubernetes";\nexport type P = k8s.types.input.core.v1.PodSpec;\n`));
            assert.deepEqual(fine.map((x) => x.message), []);
        });

        it("nothing but test/ and examples/ imports test/; test/ may import anything", () => {
            assert.deepEqual(upward(check(withFile("components/bad.ts", `import { planConfig } from "../test/harness";\nexport const p = planConfig;\n`))), ["into-test"]);
            assert.deepEqual(check(withFile("test/fine.ts", `import { main } from "../cli/main";\nimport { x } from "../scripts/gen-docs";\nexport { main, x };\n`)).map((x) => x.message), []);
        });

        it("a folder outside the table and an import that does not resolve both fail", () => {
            assert.deepEqual(rulesOf(check(withFile("lib/old.ts", `export const x = 1;\n`))), ["unranked"]);
            assert.deepEqual(rulesOf(check(withFile("domain/bad.ts", `import { x } from "../lib/gone";\nexport const y = x;\n`))), ["unresolved"]);
        });

        it("two files of one layer importing each other are a cycle; program.ts ↔ index.ts a folder cycle", () => {
            const files = withFile("domain/a.ts", `import { b } from "./b";\nexport const a = b;\n`);
            files.set("domain/b.ts", `import type { a } from "./a";\nexport const b = 1 as unknown as typeof a;\n`);
            const v = check(files);
            assert.deepEqual(rulesOf(v), ["file-cycle"]);
            assert.match(v[0].message, /domain\/a\.ts → domain\/b\.ts → domain\/a\.ts/);
            const folders = check(withFile("program.ts", tree.sources.get("program.ts") + `\nimport "./index";\n`));
            assert.deepEqual(rulesOf(folders), ["file-cycle", "folder-cycle"]);
        });
    });
});

/**
 * CI check (.ci/run): the package entry exports every type that an exported signature of it uses.
 * A team composing the components must be able to name the type of every arg, field and return
 * value (`MonitoringArgs.monitoring: ResolvedMonitoring`, `ClusterHandle.capacityBlockWindows:
 * BlockWindow`...). So for each declaration lib.ts exports, every type its written annotations
 * refer to that is declared in this repository (not in node_modules), followed transitively
 * through those types, must itself be exported from lib.ts. Inferred types (no annotation) are not
 * seen. Prints what is missing and exits 1.
 *
 * It needs the type checker (to resolve `export *` chains and aliases), which costs about 20 s of
 * CPU: it runs in CI beside `tsc`, not in `npm test`.
 */
import * as path from "node:path";
import * as ts from "typescript";

const root = path.resolve(__dirname, "..");
const entry = path.join(root, "lib.ts");
const program = ts.createProgram([entry], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, skipLibCheck: true, types: [] });
const checker = program.getTypeChecker();

const resolve = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
const exported = new Set(checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!).map(resolve));
const ours = (d: ts.Declaration) => d.getSourceFile().fileName.startsWith(root + path.sep) && !d.getSourceFile().fileName.includes("node_modules");
const topLevel = (d: ts.Declaration) => ts.isSourceFile(d.parent) || ts.isModuleBlock(d.parent);

/** Unexported type → the exported declarations whose signatures reach it. */
const missing = new Map<string, Set<string>>();
const visited = new Set<ts.Node>();

function referencedName(n: ts.Node): ts.Node | undefined {
    const name = ts.isTypeReferenceNode(n) ? n.typeName : ts.isExpressionWithTypeArguments(n) ? n.expression : ts.isTypeQueryNode(n) ? n.exprName : undefined;
    return name && ts.isQualifiedName(name) ? name.right : name;
}

function visitType(n: ts.Node, from: string): void {
    const name = referencedName(n);
    const sym = name && checker.getSymbolAtLocation(name);
    if (sym) {
        const s = resolve(sym);
        const decls = (s.declarations ?? []).filter(ours);
        if (decls.length > 0 && !(s.flags & ts.SymbolFlags.TypeParameter) && topLevel(decls[0]) && !exported.has(s)) {
            const key = `${s.name} (${path.relative(root, decls[0].getSourceFile().fileName)})`;
            missing.set(key, (missing.get(key) ?? new Set()).add(from));
        }
        for (const d of decls) visitDeclaration(d, s.name);
    }
    n.forEachChild((c) => visitType(c, from));
}

function visitDeclaration(d: ts.Node, from: string): void {
    if (visited.has(d)) return;
    visited.add(d);
    const annotate = (n: { type?: ts.TypeNode; parameters?: ts.NodeArray<ts.ParameterDeclaration> }) => {
        n.parameters?.forEach((p) => p.type && visitType(p.type, from));
        if (n.type) visitType(n.type, from);
    };
    if (ts.isClassDeclaration(d)) {
        d.heritageClauses?.forEach((h) => h.types.forEach((t) => visitType(t, from)));
        for (const m of d.members) {
            if (ts.getCombinedModifierFlags(m as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
            if (ts.isConstructorDeclaration(m) || ts.isMethodDeclaration(m) || ts.isPropertyDeclaration(m) || ts.isGetAccessorDeclaration(m)) annotate(m as never);
        }
    } else if (ts.isInterfaceDeclaration(d) || ts.isTypeAliasDeclaration(d)) {
        d.forEachChild((c) => visitType(c, from));
    } else if (ts.isFunctionDeclaration(d)) {
        annotate(d);
    } else if (ts.isVariableDeclaration(d) && d.type) {
        visitType(d.type, from);
    }
}

for (const s of exported) for (const d of (s.declarations ?? []).filter(ours)) visitDeclaration(d, s.name);
for (const [type, users] of missing) console.log(`not exported from lib.ts: ${type}, used by ${[...users].slice(0, 4).join(", ")}`);
console.log(`lib.ts: ${exported.size} exports, ${missing.size} types of their signatures not exported`);
if (missing.size > 0) process.exit(1);

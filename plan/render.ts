import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import type { Plan } from "./run";
import type { RecordedResource } from "./evaluate";
import { renderFirstDeploy } from "./firstDeploy";

const SECTION_TITLES: Record<string, string> = { cluster: "Cluster", storage: "Storage", addons: "Add-ons", training: "Training" };

/** The top-level component a resource belongs to (itself when it has no parent). */
function rootOf(r: RecordedResource, byKey: Map<string, RecordedResource>): string {
    let cur = r;
    for (let i = 0; i < 50 && cur.parent; i++) {
        const p = byKey.get(`${cur.parent.type}::${cur.parent.name}`);
        if (!p) return `${cur.parent.type} ${cur.parent.name}`;
        cur = p;
    }
    return `${cur.type} ${cur.name}`;
}

function table(rows: string[][]): string {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n");
}

/** Human-readable plan: summary, warnings, cost, then resources grouped by component. */
export function renderText(p: Plan): string {
    const out: string[] = [];
    out.push(`miles-cluster plan — stack "${p.stack}" (offline: mock runtime, nothing deployed; ids, ARNs and endpoints are known only after \`pulumi up\`)`);
    const s = p.summary;
    if (s) {
        for (const [key, lines] of Object.entries(s.lines)) {
            if (lines.length === 0) continue;
            out.push("", `${SECTION_TITLES[key] ?? key}`);
            const w = Math.max(...lines.map(([l]) => l.length));
            for (const [l, v] of lines) out.push(`  ${l.padEnd(w)}  ${v}`);
        }
        out.push(...renderFirstDeploy(s.firstDeploy));
        out.push("", s.cost.items.length > 0 ? `Estimated cost  $${s.cost.usdPerHour.toFixed(2)}/hour` : "Estimated cost  not estimated: nothing this stack creates is priced (its GPU nodes belong to a bring-your-own cluster or to the cluster stack; a run's at-risk line gives GPU-hours)");
        for (const i of s.cost.items) out.push(`  $${i.usdPerHour.toFixed(2)}/h  ${i.item}`);
        for (const src of s.cost.sources) out.push(`  price source: ${src}`);
        if (s.warnings.length > 0) {
            out.push("", "Warnings");
            for (const w of s.warnings) out.push(`  ! ${w}`);
        }
    }
    const byKey = new Map(p.resources.map((r) => [`${r.type}::${r.name}`, r]));
    const groups = new Map<string, RecordedResource[]>();
    for (const r of p.resources) {
        const root = rootOf(r, byKey);
        if (!groups.has(root)) groups.set(root, []);
        groups.get(root)!.push(r);
    }
    out.push("", `Resources (${p.resources.length})`);
    for (const [root, rs] of groups) {
        out.push("", `  ${root}`);
        const rows = [["    TYPE", "NAME", "PARENT"], ...rs.map((r) => [`    ${r.type}`, r.name, r.parent ? r.parent.name : "-"])];
        out.push(table(rows));
    }
    return out.join("\n") + "\n";
}

/** The `--json` document. */
export function renderJson(p: Plan): string {
    const { lines: _lines, ...summary } = p.summary ?? ({ lines: {} } as any);
    return (
        JSON.stringify(
            {
                stack: p.stack,
                summary: p.summary ? summary : null,
                resources: p.resources.map((r) => ({ type: r.type, name: r.name, parent: r.parent ? r.parent.name : null, inputs: r.inputs })),
                outputs: p.outputs,
                problems: p.problems,
            },
            null,
            2,
        ) + "\n"
    );
}

/** Kubernetes objects among the recorded resources (typed resources and CustomResources, not Helm releases). */
export function kubernetesObjects(resources: RecordedResource[]): RecordedResource[] {
    return resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/") && typeof r.inputs.kind === "string");
}

function slug(s: string): string {
    return s.toLowerCase().replace(/[^a-z0-9.-]+/g, "-").replace(/^-+|-+$/g, "");
}

/** Writes every Kubernetes object (one YAML file each) and every Helm release's values under `dir`. Returns the files written. */
export function writeManifests(p: Plan, dir: string): string[] {
    fs.mkdirSync(dir, { recursive: true });
    const written: string[] = [];
    for (const r of kubernetesObjects(p.resources)) {
        const meta = (r.inputs.metadata ?? {}) as { name?: unknown; namespace?: unknown };
        const name = typeof meta.name === "string" && !meta.name.startsWith("(") ? meta.name : r.name;
        const ns = typeof meta.namespace === "string" ? `${meta.namespace}-` : "";
        const file = path.join(dir, `${slug(String(r.inputs.kind))}-${slug(ns + name)}.yaml`);
        fs.writeFileSync(file, stringify(r.inputs, { lineWidth: 0 }));
        written.push(file);
    }
    for (const r of p.resources.filter((x) => x.type === "kubernetes:helm.sh/v3:Release")) {
        const file = path.join(dir, "helm", `${slug(r.name)}.release.yaml`);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, stringify(r.inputs, { lineWidth: 0 }));
        written.push(file);
    }
    return written;
}

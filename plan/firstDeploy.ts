/**
 * What a first `pulumi up` of a stack does, in order (issue 21): the steps (the components directly
 * under each top-level component, e.g. the network, the EKS control plane, a node group, an add-on,
 * the image build, a run's model preparation), derived from what the program registered — never a
 * hand-written list — so it cannot drift from the program:
 *
 * - order: Pulumi creates a resource once the resources of its `dependsOn` (a component standing for
 *   its children), the resources its inputs read (Outputs) and its provider exist
 *   (plan/evaluate.ts records all three); steps are listed in an order that respects every such edge
 *   between them (steps that depend on each other both ways are kept together, in program order), the
 *   earliest worst-case finish first;
 * - waits: what Pulumi waits for inside a step and for how long, from the code's timeouts:
 *   pulumi/pulumi-kubernetes provider/pkg/await (snapshot 94977969d, what @pulumi/kubernetes 4.3x
 *   ships): awaiters.go:184-246 — a batch/v1 Job until Complete, a Deployment/StatefulSet/DaemonSet
 *   until rolled out, a PVC until Bound; await.go:306-309 — the timeout is `customTimeouts.create`,
 *   else the `pulumi.com/timeoutSeconds` annotation, else 10 minutes; `pulumi.com/skipAwait: "true"`
 *   waits for nothing (overrides.go:39-42); a helm.sh/v3 Release waits for its resources unless
 *   `skipAwait`, up to its `timeout` (seconds, default 300). AWS resources whose creation the AWS
 *   provider waits on (EKS cluster, node groups, add-ons, FSx, NAT gateway…) wait up to their
 *   `customTimeouts` when the program sets them, else the provider's default, which is not read here
 *   (shown as "provider default").
 */
import type { ResolvedStack } from "../domain/stack";
import type { Evaluation, RecordedResource } from "./evaluate";

export interface StepWait {
    /** "Kind name" of the resource Pulumi waits for. */
    resource: string;
    until: string;
    /** Minutes before Pulumi gives up; undefined: the AWS provider's default (not set by this program). */
    timeoutMinutes?: number;
}

export interface FirstDeployStep {
    /** 1-based position. */
    n: number;
    /** "Class name" of the step's component. */
    step: string;
    /** Its type token. */
    type: string;
    /** What it creates: kinds with counts. */
    creates: string;
    resources: number;
    /** Positions of the steps it waits for (those not implied by another one it waits for). */
    after: number[];
    /** What Pulumi waits for in it. */
    waits: StepWait[];
    /** Longest chain of known waits inside the step, in minutes (0: nothing awaited with a known timeout). */
    upToMinutes: number;
    /** Some wait inside it is bounded only by the AWS provider's default timeout. */
    providerDefaultWaits: boolean;
    /** What the resolved stack says about the step (the image it builds, the run it starts). */
    note?: string;
    /** Resource keys (`type::name`) of the step, for tests and --json readers. */
    keys: string[];
}

export interface FirstDeploy {
    steps: FirstDeployStep[];
    /** Longest chain of known waits over the whole deployment, in minutes (worst case before `pulumi up` gives up). */
    upToMinutes: number;
    note: string;
}

const keyOf = (r: { type: string; name: string }) => `${r.type}::${r.name}`;
const kindOf = (r: RecordedResource) => String(r.inputs.kind ?? r.type.split(":").pop()!.split("/").pop());

/** AWS resource types whose creation the AWS provider waits on for minutes (ACTIVE / AVAILABLE). */
const SLOW_AWS = /^aws:(eks\/(cluster|nodeGroup|addon):|ec2\/natGateway:|fsx\/|efs\/(fileSystem|mountTarget):)/;

function minutes(s: string | undefined): number | undefined {
    const m = s ? /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(s) : null;
    return m ? Number(m[1]) * { s: 1 / 60, m: 1, h: 60 }[m[2] as "s" | "m" | "h"] : undefined;
}

/** What Pulumi waits for when it creates `r` (undefined: nothing worth showing). */
export function createWait(r: RecordedResource): StepWait | undefined {
    if (!r.custom) return undefined;
    const label = `${kindOf(r)} ${r.name}`;
    const custom = minutes(r.customTimeouts?.create);
    if (r.type.startsWith("kubernetes:helm.sh/")) return r.inputs.skipAwait === true ? undefined : { resource: label, until: "its resources ready", timeoutMinutes: Number(r.inputs.timeout ?? 300) / 60 };
    if (r.type.startsWith("kubernetes:")) {
        const ann = ((r.inputs.metadata as any)?.annotations ?? {}) as Record<string, string>;
        if (ann["pulumi.com/skipAwait"] === "true") return undefined;
        const timeout = custom ?? (ann["pulumi.com/timeoutSeconds"] ? Number(ann["pulumi.com/timeoutSeconds"]) / 60 : 10);
        const api = String(r.inputs.apiVersion ?? "");
        const kind = kindOf(r);
        if (ann["pulumi.com/waitFor"]) return { resource: label, until: ann["pulumi.com/waitFor"], timeoutMinutes: timeout };
        if (api === "batch/v1" && kind === "Job") return { resource: label, until: "Complete", timeoutMinutes: timeout };
        if (api === "apps/v1" && ["Deployment", "StatefulSet", "DaemonSet"].includes(kind)) return { resource: label, until: "rolled out", timeoutMinutes: timeout };
        if (api === "v1" && kind === "PersistentVolumeClaim") return { resource: label, until: "Bound", timeoutMinutes: 5 };
        return undefined;
    }
    if (r.type.startsWith("aws:") && (custom !== undefined || SLOW_AWS.test(r.type))) return { resource: label, until: "active", ...(custom !== undefined ? { timeoutMinutes: custom } : {}) };
    return undefined;
}

/** The components above a resource, top-level first. */
function ancestors(r: RecordedResource, byKey: Map<string, RecordedResource>): RecordedResource[] {
    const chain: RecordedResource[] = [];
    for (let p = r.parent ? byKey.get(keyOf(r.parent)) : undefined, i = 0; p && i < 50; p = p.parent ? byKey.get(keyOf(p.parent)) : undefined, i++) chain.unshift(p);
    return chain;
}

/** The step of a custom resource: the component right under its top-level component, or that top-level component. */
function stepOf(r: RecordedResource, byKey: Map<string, RecordedResource>): RecordedResource {
    const chain = ancestors(r, byKey);
    return chain[1] ?? chain[0] ?? r;
}

function describeCreates(rs: RecordedResource[]): string {
    const counts = new Map<string, number>();
    for (const r of rs) counts.set(kindOf(r), (counts.get(kindOf(r)) ?? 0) + 1);
    const parts = [...counts].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k));
    return parts.length > 8 ? `${parts.slice(0, 8).join(", ")}, …` : parts.join(", ");
}

/** What the resolved stack adds to a step: the images an image build pushes, the run a RayJob starts. */
function noteOf(stack: ResolvedStack | undefined, head: RecordedResource, rs: RecordedResource[]): string | undefined {
    if (!stack) return undefined;
    if (head.type === "miles-cluster:images:EfaImageBuild") {
        const images = [...new Set(stack.runs.filter((x) => x.run.imageChoice.source === "efa-build").map((x) => `${x.run.imageChoice.ecrRepositoryName}:${x.run.imageChoice.tag}`))];
        return `pushes ${images.join(", ")} (skipped when the tag is already in ECR)`;
    }
    const ray = rs.find((r) => kindOf(r) === "RayJob");
    if (ray) {
        const name = (ray.inputs.metadata as { name?: string } | undefined)?.name;
        const run = stack.runs.find((x) => x.run.runName === name)?.run;
        if (run) return `run ${run.runName} on ${run.imageChoice.source === "efa-build" ? "the EFA build" : "its image"}; Pulumi creates it and does not wait for training${run.training.lifecycle.suspend ? " (created suspended)" : ""}`;
    }
    return undefined;
}

/** The first-deploy sequence of a plan's resources; `stack` (the resolved stack the program deployed) adds what each image build pushes and which run a RayJob starts. */
export function firstDeploySequence(resolved: ResolvedStack | undefined, ev: Pick<Evaluation, "resources">): FirstDeploy {
    const all = ev.resources;
    const byKey = new Map(all.map((r) => [keyOf(r), r]));
    const children = new Map<string, string[]>();
    for (const r of all) if (r.parent) children.set(keyOf(r.parent), [...(children.get(keyOf(r.parent)) ?? []), keyOf(r)]);
    const expand = (k: string, out: Set<string>) => {
        const r = byKey.get(k);
        if (!r) return;
        if (r.custom) out.add(k);
        for (const c of children.get(k) ?? []) expand(c, out);
    };
    const isProvider = (r: RecordedResource) => r.type.startsWith("pulumi:providers:");
    const providers = all.filter(isProvider);
    // Direct prerequisites of each custom resource; a provider stands for what it reads (the cluster).
    const rawDeps = (r: RecordedResource): Set<string> => {
        const s = new Set<string>();
        for (const d of [...(r.dependsOn ?? []), ...(r.inputDependsOn ?? [])]) expand(keyOf(d), s);
        return s;
    };
    const deps = new Map<string, Set<string>>();
    for (const r of all.filter((x) => x.custom && !isProvider(x))) {
        const s = rawDeps(r);
        if (r.type.startsWith("kubernetes:")) for (const p of providers) s.add(keyOf(p));
        for (const p of providers) if (s.delete(keyOf(p))) for (const d of rawDeps(p)) s.add(d);
        s.delete(keyOf(r));
        deps.set(keyOf(r), s);
    }
    const customs = all.filter((x) => deps.has(keyOf(x)));
    // Worst-case finish of each resource: its own wait after the latest of its prerequisites.
    const finish = new Map<string, number>();
    const ownWait = (r: RecordedResource) => createWait(r)?.timeoutMinutes ?? 0;
    const visiting = new Set<string>();
    const finishOf = (k: string): number => {
        const f = finish.get(k);
        if (f !== undefined) return f;
        if (visiting.has(k)) return 0;
        visiting.add(k);
        const v = Math.max(0, ...[...(deps.get(k) ?? [])].map(finishOf)) + ownWait(byKey.get(k)!);
        visiting.delete(k);
        finish.set(k, v);
        return v;
    };
    for (const r of customs) finishOf(keyOf(r));

    // Steps and the edges between them.
    const stepKey = new Map(customs.map((r) => [keyOf(r), keyOf(stepOf(r, byKey))]));
    // A resource right under a top-level component that waits for one of that component's parts (a run's RayJob
    // after its preparation and gate) is a step of its own, after those parts.
    for (const r of customs) {
        const chain = ancestors(r, byKey);
        if (chain.length !== 1) continue;
        const root = keyOf(chain[0]);
        if ([...deps.get(keyOf(r))!].some((d) => stepKey.get(d) !== root && ancestors(byKey.get(d)!, byKey)[0] === chain[0])) stepKey.set(keyOf(r), keyOf(r));
    }
    const stepIds = [...new Set(customs.map((r) => stepKey.get(keyOf(r))!))];
    const members = new Map(stepIds.map((s) => [s, customs.filter((r) => stepKey.get(keyOf(r)) === s)]));
    const edges = new Map(stepIds.map((s) => [s, new Set<string>()]));
    for (const r of customs) for (const d of deps.get(keyOf(r))!) if (stepKey.get(d) !== stepKey.get(keyOf(r)) && stepKey.has(d)) edges.get(stepKey.get(keyOf(r))!)!.add(stepKey.get(d)!);

    // Steps that wait for each other both ways are one group (Tarjan's strongly connected components).
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const onStack = new Set<string>();
    const stack: string[] = [];
    const groupOf = new Map<string, number>();
    const groups: string[][] = [];
    let counter = 0;
    const strong = (v: string) => {
        index.set(v, counter);
        low.set(v, counter++);
        stack.push(v);
        onStack.add(v);
        for (const w of edges.get(v)!) {
            if (!index.has(w)) {
                strong(w);
                low.set(v, Math.min(low.get(v)!, low.get(w)!));
            } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
        }
        if (low.get(v) === index.get(v)) {
            const g: string[] = [];
            let w: string;
            do {
                w = stack.pop()!;
                onStack.delete(w);
                groupOf.set(w, groups.length);
                g.push(w);
            } while (w !== v);
            groups.push(g.sort((a, b) => stepIds.indexOf(a) - stepIds.indexOf(b)));
        }
    };
    for (const s of stepIds) if (!index.has(s)) strong(s);
    const stepFinish = (s: string) => Math.max(...members.get(s)!.map((r) => finish.get(keyOf(r))!));
    const groupDeps = groups.map((g) => new Set(g.flatMap((s) => [...edges.get(s)!].map((d) => groupOf.get(d)!)).filter((x) => !g.includes(groups[x][0]))));
    const rank = (i: number) => [Math.max(...groups[i].map(stepFinish)), Math.min(...groups[i].map((s) => stepIds.indexOf(s)))];
    const done = new Set<number>();
    const ordered: string[] = [];
    while (done.size < groups.length) {
        const ready = groups.map((_, i) => i).filter((i) => !done.has(i) && [...groupDeps[i]].every((d) => done.has(d)));
        ready.sort((a, b) => rank(a)[0] - rank(b)[0] || rank(a)[1] - rank(b)[1]);
        done.add(ready[0]);
        ordered.push(...groups[ready[0]]);
    }

    const position = new Map(ordered.map((s, i) => [s, i + 1]));
    // "after" lists only the steps not already implied by another one it waits for.
    const reach = new Map<string, Set<string>>();
    const reachOf = (s: string, seen = new Set<string>()): Set<string> => {
        if (reach.has(s)) return reach.get(s)!;
        const out = new Set<string>();
        seen.add(s);
        for (const d of edges.get(s)!) {
            if (seen.has(d)) continue;
            out.add(d);
            for (const x of reachOf(d, seen)) out.add(x);
        }
        reach.set(s, out);
        return out;
    };
    const direct = (s: string) => [...edges.get(s)!].filter((d) => ![...edges.get(s)!].some((o) => o !== d && reachOf(o).has(d) && !reachOf(d).has(o)));
    const steps: FirstDeployStep[] = ordered.map((s, i) => {
        const rs = members.get(s)!;
        const head = byKey.get(s)!;
        const inStep = new Set(rs.map(keyOf));
        // Longest chain of known waits inside the step.
        const local = new Map<string, number>();
        const localOf = (k: string, seen = new Set<string>()): number => {
            if (local.has(k)) return local.get(k)!;
            if (seen.has(k)) return 0;
            seen.add(k);
            const v = Math.max(0, ...[...deps.get(k)!].filter((d) => inStep.has(d)).map((d) => localOf(d, seen))) + ownWait(byKey.get(k)!);
            local.set(k, v);
            return v;
        };
        const waits = rs.map(createWait).filter((w): w is StepWait => w !== undefined);
        const note = noteOf(resolved, head, rs);
        return {
            n: i + 1,
            step: `${head.type.split(":").pop()} ${head.name}`,
            type: head.type,
            creates: describeCreates(rs),
            resources: rs.length,
            after: direct(s).map((d) => position.get(d)!).sort((a, b) => a - b),
            waits,
            upToMinutes: Math.round(Math.max(0, ...rs.map((r) => localOf(keyOf(r))))),
            providerDefaultWaits: waits.some((w) => w.timeoutMinutes === undefined),
            ...(note ? { note } : {}),
            keys: rs.map(keyOf),
        };
    });
    return {
        steps,
        upToMinutes: Math.round(Math.max(0, ...finish.values())),
        note: "derived from the resources the program registers and what each waits for (dependsOn, the Outputs its inputs read, its provider); wait limits are the timeouts set in the code (AWS provider defaults where the program sets none)",
    };
}

/** The sequence as text lines. */
export function renderFirstDeploy(f: FirstDeploy): string[] {
    const out = ["", "First `pulumi up`, in order", `  (${f.note})`];
    const w = String(f.steps.length).length;
    for (const s of f.steps) {
        out.push(`  ${String(s.n).padStart(w)}. ${s.step}: creates ${s.creates}${s.note ? ` — ${s.note}` : ""}`);
        const after = s.after.length ? `after ${s.after.join(", ")}` : "first (waits for nothing of this stack)";
        const waits = s.waits;
        const shown = waits.slice(0, 4).map((x) => `${x.resource} until ${x.until} (${x.timeoutMinutes !== undefined ? `≤ ${Math.round(x.timeoutMinutes)} min` : "AWS provider default timeout"})`);
        const more = waits.length > 4 ? `, +${waits.length - 4} more` : "";
        out.push(`  ${" ".repeat(w)}  ${after}; ${shown.length ? `Pulumi waits for ${shown.join(", ")}${more}` : "nothing awaited"}${s.upToMinutes > 0 ? `; up to ${s.upToMinutes} min${s.providerDefaultWaits ? " + provider defaults" : ""}` : ""}`);
    }
    out.push(`  Worst case before \`pulumi up\` gives up: ${f.upToMinutes} min of waits with a timeout set in the code (plus AWS provider defaults).`);
    return out;
}

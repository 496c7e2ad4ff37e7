/**
 * The deployment simulation's starting point: every committed stack planned once per test process
 * (the same program `pulumi up` runs, under Pulumi's mock runtime), and the Kubernetes objects it
 * registered, as the API server would receive them. Each layer of the simulation (test/sim/*.ts)
 * takes these objects and executes them the way the upstream system at our pin would.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Plan } from "../../plan/run";
import type { RecordedResource } from "../../plan/evaluate";
import { planStack, ROOT } from "../harness";

/** Every committed stack (stacks/Pulumi.<name>.yaml), in file order. */
export const STACKS: readonly string[] = fs
    .readdirSync(path.join(ROOT, "stacks"))
    .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
    .map((f) => f.replace(/^Pulumi\./, "").replace(/\.yaml$/, ""))
    .sort();

const plans = new Map<string, Promise<Plan>>();

/** The plan of a committed stack, evaluated once per test process; fails when the stack does not plan. */
export function stackPlan(name: string): Promise<Plan> {
    let p = plans.get(name);
    if (!p) {
        p = planStack(name).then((x) => {
            if (x.problems.length > 0) throw new Error(`stack ${name} does not plan:\n${x.problems.map((q) => `${q.path}: ${q.message}`).join("\n")}`);
            return x;
        });
        plans.set(name, p);
    }
    return p;
}

/** A Kubernetes object as the program registered it (apiVersion, kind, metadata, spec/data…), with the Pulumi resource behind it. */
export interface K8sObject {
    apiVersion: string;
    kind: string;
    metadata: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    [field: string]: unknown;
    /** The Pulumi resource that registered it (type token, name, options). */
    resource: RecordedResource;
}

/** Every Kubernetes object of a plan (typed resources and CustomResources; Helm releases are not expanded). */
export function k8sObjects(p: Plan): K8sObject[] {
    return p.resources
        .filter((r) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/") && r.type !== "pulumi:providers:kubernetes")
        .map((r) => {
            const [, group, kind] = /^kubernetes:([^:]*):(.+)$/.exec(r.type) ?? [];
            const apiVersion = String(r.inputs.apiVersion ?? (group === "core/v1" ? "v1" : group));
            return { ...r.inputs, apiVersion, kind: String(r.inputs.kind ?? kind), metadata: (r.inputs.metadata ?? {}) as K8sObject["metadata"], resource: r } as K8sObject;
        });
}

/** Objects of one kind. */
export function objectsOf(p: Plan, kind: string): K8sObject[] {
    return k8sObjects(p).filter((o) => o.kind === kind);
}

/**
 * Evaluates the real Pulumi program with no engine, no cloud credentials and no network: Pulumi's
 * mock runtime stands in for the engine and the providers, in preview mode, so values only the
 * cloud can know (ids, ARNs, endpoints) stay unknown exactly as in `pulumi preview`.
 */
import * as pulumi from "@pulumi/pulumi";
import type { RawConfig } from "../config";

/** Placeholder shown wherever a value is only known after a real deployment. */
export const UNKNOWN = "(known after deploy)";
/** Placeholder shown instead of a secret value. */
export const REDACTED = "[secret]";

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const { CustomResource } = pulumi;

export interface RecordedResource {
    /** Pulumi type token, e.g. `aws:eks/cluster:Cluster`. */
    type: string;
    name: string;
    /** Name and type of the parent resource; undefined for top-level components. */
    parent?: { type: string; name: string };
    /** Whether this is a provider-backed resource (false for ComponentResources). */
    custom: boolean;
    /** Inputs as registered, secrets redacted and unknowns marked. */
    inputs: Record<string, unknown>;
    /** The resource options that decide what a deployment may delete or replace (set ones only). */
    options?: RecordedOptions;
    /**
     * The resources named in its `dependsOn` option, as type and name (a component stands for all of
     * its children, as in Pulumi); undefined when it has none. Promises among them (a dependency on
     * resources registered later, e.g. other runs' Jobs) are resolved; Outputs are not.
     */
    dependsOn?: Array<{ type: string; name: string }>;
    /**
     * The resources whose outputs its inputs read (an EKS node group reads the cluster's name): Pulumi
     * creates those first too, as with `dependsOn`. Only custom resources; undefined when there are none.
     */
    inputDependsOn?: Array<{ type: string; name: string }>;
    /** Its `customTimeouts` option, when set (how long the provider awaits a create, update or delete). */
    customTimeouts?: { create?: string; update?: string; delete?: string };
}

/** Resource options that protect data or decide replacements, as the program set them. */
export interface RecordedOptions {
    protect?: boolean;
    retainOnDelete?: boolean;
    deleteBeforeReplace?: boolean;
    replaceOnChanges?: string[];
    ignoreChanges?: string[];
}

export interface Evaluation {
    resources: RecordedResource[];
    /** The stack outputs the program returned, resolved where known. */
    outputs: Record<string, unknown>;
}

/** Replaces secret envelopes by REDACTED and unknown sentinels by UNKNOWN, recursively. */
export function sanitize(value: unknown): unknown {
    if (value === UNKNOWN_VALUE) return UNKNOWN;
    if (Array.isArray(value)) return value.map(sanitize);
    if (value !== null && typeof value === "object") {
        const o = value as Record<string, unknown>;
        if (o[SECRET_SIG_KEY] === SECRET_SIG) return REDACTED;
        if (o.__pulumiUnknown === true) return UNKNOWN;
        if (pulumi.Resource.isInstance(o)) return `(resource ${(o as any).__name ?? "?"})`;
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = sanitize(v);
        return out;
    }
    return value;
}

async function resolveOutputs(value: unknown): Promise<unknown> {
    const out = pulumi.output(value as pulumi.Input<unknown>);
    const known = await (out as any).isKnown;
    const secret = await (out as any).isSecret;
    if (secret) return REDACTED;
    if (!known) return UNKNOWN;
    return sanitize(await (out as any).promise(true));
}

/** The resources of a dependsOn value without Promises (undefined when it holds one). */
function resourcesNow(d: unknown): pulumi.Resource[] | undefined {
    if (d instanceof Promise) return undefined;
    if (!Array.isArray(d)) return pulumi.Resource.isInstance(d) ? [d] : [];
    const out: pulumi.Resource[] = [];
    for (const x of d) {
        const r = resourcesNow(x);
        if (r === undefined) return undefined;
        out.push(...r);
    }
    return out;
}

/** The resources the Outputs inside an input value depend on (Output.allResources, @pulumi/pulumi output.js), depth-limited. */
async function inputResources(value: unknown, depth = 0): Promise<pulumi.Resource[]> {
    if (depth > 8 || value === null || typeof value !== "object") return [];
    if (pulumi.Output.isInstance(value)) {
        const o = value as any;
        const set: Set<pulumi.Resource> = o.allResources instanceof Function ? await o.allResources() : o.resources();
        return [...set];
    }
    if (pulumi.Resource.isInstance(value) || value instanceof Promise) return [];
    const vs = Array.isArray(value) ? value : Object.values(value as Record<string, unknown>);
    return (await Promise.all(vs.map((v) => inputResources(v, depth + 1)))).flat();
}

/** The resources of a dependsOn value, its Promises awaited. */
async function resourcesOf(d: unknown): Promise<pulumi.Resource[]> {
    const v = await d;
    if (Array.isArray(v)) return (await Promise.all(v.map(resourcesOf))).flat();
    return pulumi.Resource.isInstance(v) ? [v] : [];
}

export interface EvaluateOptions {
    project: string;
    stack: string;
    config: RawConfig;
    /** The program to run (normally `program` from program.ts, as `index.ts` exports it). */
    run: () => Promise<object>;
    /** Outputs a `pulumi.StackReference` of that name reads (a run stack's cluster stack, planned offline). */
    stackOutputs?: Record<string, { outputs: Record<string, unknown>; secretOutputNames: string[] }>;
}

/**
 * Runs `run` under mocks and returns every resource it registered. Errors thrown by the program
 * (e.g. a ConfigError) are rethrown unchanged after the runtime settles.
 */
export async function evaluate(opts: EvaluateOptions): Promise<Evaluation> {
    const registered: RecordedResource[] = [];
    const parents = new Map<string, { type: string; name: string }>();
    const options = new Map<string, RecordedOptions>();
    const dependsOn = new Map<string, Array<{ type: string; name: string }>>();
    const timeouts = new Map<string, { create?: string; update?: string; delete?: string }>();
    const inputDeps = new Map<string, Array<{ type: string; name: string }>>();
    /** dependsOn lists given as (or holding) Promises, recorded once they resolve. */
    const pendingDeps: Promise<void>[] = [];
    const key = (type: string, name: string) => `${type}::${name}`;

    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                registered.push({ type: args.type, name: args.name, custom: args.custom ?? true, inputs: args.inputs });
                if (args.type === "pulumi:pulumi:StackReference") {
                    const ref = opts.stackOutputs?.[String(args.inputs.name)];
                    return { id: String(args.inputs.name), state: { name: args.inputs.name, outputs: ref?.outputs ?? {}, secretOutputNames: ref?.secretOutputNames ?? [] } };
                }
                // Preview semantics: no id and no computed attributes; inputs echo back as known state.
                return { id: undefined as unknown as string, state: args.inputs };
            },
            call() {
                return {};
            },
        },
        opts.project,
        opts.stack,
        true,
    );
    pulumi.runtime.setAllConfig(opts.config.values, [...opts.config.secretKeys]);

    let outputs: object = {};
    let failure: unknown;
    // @pulumi/pulumi's debuggablePromise (runtime/debuggable.js, v3.248.0) formats `new Error().stack` for every
    // promise it creates, only to print it if the promise leaks; with tsx's source maps that formatting was ~60 % of
    // a plan's CPU (cpu profile of `planStack("dev")`: 1.66 s → 0.65 s per plan without it). Stacks are off while
    // the program runs under mocks; Resource.callsites() raises the limit itself for source positions, and the plan
    // never shows a stack trace anyway. MILES_CLUSTER_PLAN_STACKS=1 keeps them for debugging the program.
    const stackTraceLimit = Error.stackTraceLimit;
    if (!process.env.MILES_CLUSTER_PLAN_STACKS) Error.stackTraceLimit = 0;
    try {
        await pulumi.runtime.runInPulumiStack(async () => {
            pulumi.runtime.registerStackTransformation((args) => {
                const p = args.opts.parent as any;
                if (p && p.__pulumiType !== "pulumi:pulumi:Stack") parents.set(key(args.type, args.name), { type: p.__pulumiType, name: p.__name });
                const o = args.opts as pulumi.CustomResourceOptions;
                const set = Object.fromEntries(
                    (["protect", "retainOnDelete", "deleteBeforeReplace", "replaceOnChanges", "ignoreChanges"] as const).filter((k) => o[k] !== undefined).map((k) => [k, o[k]]),
                ) as RecordedOptions;
                if (Object.keys(set).length > 0) options.set(key(args.type, args.name), set);
                // dependsOn as the program passed it: resources, arrays and Promises of them (Pulumi awaits those too,
                // runtime/dependsOn.ts gatherExplicitDependencies); an Output is not resolved here.
                const k = key(args.type, args.name);
                const record = (deps: pulumi.Resource[]) => {
                    if (deps.length > 0) dependsOn.set(k, deps.map((d) => ({ type: (d as any).__pulumiType, name: (d as any).__name })));
                };
                const sync = resourcesNow(o.dependsOn);
                if (sync) record(sync);
                else pendingDeps.push(resourcesOf(o.dependsOn).then(record));
                if (o.customTimeouts) timeouts.set(key(args.type, args.name), { ...o.customTimeouts });
                pendingDeps.push(
                    inputResources(args.props).then((rs) => {
                        const seen = new Set<string>();
                        const custom = rs.filter((d) => (d as any).__pulumiType && CustomResource.isInstance(d)).map((d) => ({ type: (d as any).__pulumiType as string, name: (d as any).__name as string })).filter((d) => d.type !== "pulumi:providers:kubernetes" && !seen.has(key(d.type, d.name)) && seen.add(key(d.type, d.name)) && key(d.type, d.name) !== k);
                        if (custom.length > 0) inputDeps.set(k, custom);
                    }),
                );
                return undefined;
            });
            try {
                outputs = await opts.run();
            } catch (e) {
                failure = e;
            }
            return {};
        });
        const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
        await settings.waitForRPCs();
        await Promise.all(pendingDeps);
    } finally {
        Error.stackTraceLimit = stackTraceLimit;
    }
    if (failure !== undefined) throw failure;

    const resolved: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(outputs)) resolved[k] = await resolveOutputs(v);

    const resources = registered
        .filter((r) => r.type !== "pulumi:pulumi:Stack")
        .map((r) => ({
            ...r,
            parent: parents.get(key(r.type, r.name)),
            options: options.get(key(r.type, r.name)),
            dependsOn: dependsOn.get(key(r.type, r.name)),
            customTimeouts: timeouts.get(key(r.type, r.name)),
            inputDependsOn: inputDeps.get(key(r.type, r.name)),
            inputs: sanitize(r.inputs) as Record<string, unknown>,
        }));
    return { resources, outputs: resolved };
}

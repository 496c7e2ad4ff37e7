/**
 * SST-style transform hooks: every component takes `transform?: { <resource>?: Transform<Args> }`,
 * one entry per underlying resource it creates, for what its args do not cover (extra tags, a
 * different AMI type, an instance-metadata setting, a provider option...). Modelled on SST v3's
 * `Transform<T>` / `transform()` (sst/sst, platform/src/components/component.ts), which is typed
 * the same way: a partial args object merged in, or a function that edits the args and options.
 *
 * A transform changes what the resource is created with, never its name (names are what Pulumi
 * tracks state by: renaming would replace the resource), and its `parent` stays the component.
 */
import type * as pulumi from "@pulumi/pulumi";

/**
 * How to change the args of one underlying resource:
 * - an object: shallowly merged over the args the component computed (`{ ...args, ...partial }`:
 *   a key you give replaces the whole value, e.g. all `tags`);
 * - a function: called with the computed args, the resource options and the resource name; it
 *   may edit `args`/`opts` in place, or return new args (returning nothing keeps the edited ones).
 *
 * @example { tags: { team: "rl" } }
 * @example (args) => { args.tags = { ...args.tags, team: "rl" }; }
 */
export type Transform<Args, Opts = pulumi.CustomResourceOptions> = Partial<Args> | ((args: Args, opts: Opts, name: string) => Args | void);

/**
 * Applies `t` to the args and options of resource `name`; returns the constructor arguments
 * `[name, args, opts]` (spread them into `new aws.…(...)`). The component's `parent` is restored
 * if a function removed or replaced it.
 */
export function transform<Args extends object, Opts extends pulumi.ResourceOptions>(t: Transform<Args, Opts> | undefined, name: string, args: NoInfer<Args>, opts: NoInfer<Opts>): [string, Args, Opts] {
    if (t === undefined) return [name, args, opts];
    if (typeof t === "function") {
        const parent = opts.parent;
        const returned = t(args, opts, name);
        return [name, returned ?? args, { ...opts, parent }];
    }
    return [name, { ...args, ...t }, opts];
}

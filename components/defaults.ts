/**
 * The defaults a component applies to an arg it is not given. They are the stack config's own
 * defaults (the zod schemas of config/), so a component composed in another Pulumi program behaves
 * like the same component in a miles-cluster stack, and a default is written down once.
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterSchema, type ClusterConfig } from "../config/cluster";
import { StorageSchema, type StorageConfig } from "../config/storage";
import { AddonsSchema } from "../config/addons";
import { TrainingSchema } from "../config/training";
import type { AddonsConfig } from "../config";

/** A fresh copy of each section's defaults (every field the schema defaults, nothing else). */
export const sectionDefaults = {
    cluster: (): ClusterConfig => ClusterSchema.parse({}),
    storage: (): StorageConfig => StorageSchema.parse({}),
    addons: (): AddonsConfig => AddonsSchema.parse({}),
};

/** `training.namespace` when not configured: the training namespace of a stack. */
export function defaultTrainingNamespace(): string {
    return TrainingSchema.shape.namespace.parse(undefined);
}

/** The Pulumi stack the program runs in: the default of every `stack` arg (tags, generated names). */
export function currentStack(): string {
    return pulumi.getStack();
}

/** The stack's `aws:region` config: the default of every `region` arg (as for the AWS provider itself). */
export function configuredRegion(): string | undefined {
    return new pulumi.Config("aws").get("region");
}

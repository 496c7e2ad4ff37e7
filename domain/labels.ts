/**
 * The tags on AWS resources and the labels on Kubernetes objects that say "this is miles-cluster's",
 * written once: cost reports, `kubectl get -l app.kubernetes.io/part-of=miles-cluster` and IAM
 * conditions rely on every resource spelling them the same way.
 */

// The label keys and the `app.kubernetes.io/part-of` value are catalog facts (catalog/runLabels.ts).
import { PART_OF, RUN_LABELS } from "../catalog/runLabels";

/** AWS tag keys. */
export const TAG_STACK = "miles-cluster/stack";
export const TAG_COMPONENT = "miles-cluster/component";
export const TAG_CLUSTER = "miles-cluster/cluster";

/** Labels of a Kubernetes object of ours; `component` adds `app.kubernetes.io/component`. */
export function partOfLabels(component?: string): Record<string, string> {
    return component === undefined ? { [RUN_LABELS.partOf]: PART_OF } : { [RUN_LABELS.partOf]: PART_OF, [RUN_LABELS.component]: component };
}

/** Tags of an AWS resource of a stack: the stack, then what it belongs to (a component or the cluster). */
export function stackTags(stack: string, of?: { component: string } | { cluster: string }): Record<string, string> {
    if (of === undefined) return { [TAG_STACK]: stack };
    return "component" in of ? { [TAG_STACK]: stack, [TAG_COMPONENT]: of.component } : { [TAG_STACK]: stack, [TAG_CLUSTER]: of.cluster };
}

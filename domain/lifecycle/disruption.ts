/**
 * What keeps voluntary disruptions (a node roll, a drain, the Cluster Autoscaler) from killing a
 * running run: a PodDisruptionBudget over the run's Ray pods and an annotation the Cluster
 * Autoscaler honours.
 */
import type { ResolvedRun } from "../training/run";
import { runLabels } from "../training/pod";


/** Name of the run's PodDisruptionBudget. */
export const runPdbName = (r: ResolvedRun) => `${r.runName}-ray`;

/**
 * `maxUnavailable: 0` over the head and workers: an eviction (EKS node update, `kubectl drain`) is
 * refused while the run's pods are there. EKS gives up on a node it cannot drain in 15 minutes and
 * fails the update with PodEvictionFailure instead of killing the pods
 * (https://docs.aws.amazon.com/eks/latest/userguide/managed-node-update-behavior.html). Involuntary
 * disruptions (spot reclaim, hardware failure, the Capacity Block end) are not stopped by it: the
 * run resumes from its last checkpoint, and the block end is handled by the end-of-block save.
 */
export function runDisruptionBudget(r: ResolvedRun, namespace: string) {
    const { ["app.kubernetes.io/component"]: _component, ...selector } = runLabels(r, "");
    return {
        apiVersion: "policy/v1" as const,
        kind: "PodDisruptionBudget" as const,
        metadata: { name: runPdbName(r), namespace, labels: runLabels(r, "disruption-budget") },
        spec: {
            maxUnavailable: 0,
            selector: { matchLabels: selector, matchExpressions: [{ key: "app.kubernetes.io/component", operator: "In", values: ["ray-head", "ray-worker"] }] },
        },
    };
}

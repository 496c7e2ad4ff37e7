import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { NamespaceHandle } from "./contracts";
import { podSecurityLabels, type PodSecurityLevel } from "../domain/security/pods";
import { namespacePolicies } from "../domain/security/networkPolicy";
import { partOfLabels } from "../domain/labels";
import { transform, type Transform } from "./transform";
import { defaultTrainingNamespace } from "./defaults";
import type { NamespaceOwnership } from "../config/cluster";

export type { NamespaceOwnership };

export interface TrainingNamespaceArgs {
    /**
     * Name of the namespace the training job, its storage claim and its service account live in.
     * @default "miles" (the stack default, `training.namespace`)
     * @example "rl-team"
     */
    name?: string;
    /**
     * Who owns the namespace. `create`: the stack creates it and deletes it with the stack. `existing`:
     * it already exists (with the team's claim) and the stack only names it — never creates, labels,
     * modifies or deletes it. `adopt`: it already exists and the stack sets its Pod Security labels
     * with a server-side-apply patch (NamespacePatch), kept on `pulumi destroy` (retainOnDelete), so
     * destroying the stack never deletes the namespace or its claim.
     * @default "create"
     * @example "existing"
     */
    ownership?: NamespaceOwnership;
    /**
     * Provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * What the namespace waits for (the cluster's nodes and add-ons).
     * @default []
     * @example cluster.aws?.ready
     */
    dependsOn?: pulumi.Resource[];
    /**
     * Pod Security admission level enforced on the namespace (`warn` and `audit` are always
     * `restricted`). The miles image runs as root, so `restricted` cannot hold; RDMA workers add
     * IPC_LOCK, which only `privileged` admits (domain/security/pods.ts, docs/security.md).
     * @default "baseline"
     * @example "privileged"
     */
    podSecurity?: PodSecurityLevel;
    /**
     * Create the namespace's default-deny and egress NetworkPolicies.
     * @default true
     * @example false
     */
    networkPolicies?: boolean;
    /**
     * Changes to the args of the Namespace and of its NetworkPolicies (`networkPolicy`: each of them).
     * @default none
     * @example { namespace: (a) => { a.metadata = { ...a.metadata, annotations: { owner: "rl-team" } }; } }
     */
    transform?: { namespace?: Transform<k8s.core.v1.NamespaceArgs>; networkPolicy?: Transform<k8s.networking.v1.NetworkPolicyArgs> };
}

/** The Kubernetes namespace of the training workload, labelled for Pod Security admission, with default-deny NetworkPolicies. */
export class TrainingNamespace extends pulumi.ComponentResource implements NamespaceHandle {
    readonly name: string;
    /** The Namespace (created), its label patch (adopted), or undefined (an existing namespace only referenced). */
    readonly resource?: k8s.core.v1.Namespace | k8s.core.v1.NamespacePatch;
    readonly networkPolicies: k8s.networking.v1.NetworkPolicy[];

    constructor(name: string, args: TrainingNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:k8s:TrainingNamespace", name, {}, opts);
        this.name = args.name ?? defaultTrainingNamespace();
        const t = args.transform ?? {};
        const ownership = args.ownership ?? "create";
        const labels = { ...partOfLabels(), ...podSecurityLabels(args.podSecurity ?? "baseline") };
        if (ownership === "create") {
            this.resource = new k8s.core.v1.Namespace(...transform(t.namespace, name, { metadata: { name: this.name, labels } }, { parent: this, provider: args.provider, dependsOn: args.dependsOn }));
        } else if (ownership === "adopt") {
            // Server-side apply of our labels only (pulumi-kubernetes Patch resources); never deleted by `pulumi destroy`.
            this.resource = new k8s.core.v1.NamespacePatch(name, { metadata: { name: this.name, labels } }, { parent: this, provider: args.provider, dependsOn: args.dependsOn, retainOnDelete: true });
        }
        this.networkPolicies =
            args.networkPolicies === false
                ? []
                : namespacePolicies(this.name).map(
                      (m) => new k8s.networking.v1.NetworkPolicy(...transform(t.networkPolicy, `${name}-${m.metadata.name}`, m, { parent: this, provider: args.provider, dependsOn: this.resource ? [this.resource] : [] })),
                  );
        this.registerOutputs({ name: this.name });
    }
}

import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { NamespaceHandle } from "./contracts";
import { podSecurityLabels, type PodSecurityLevel } from "../domain/security/pods";
import { namespacePolicies } from "../domain/security/networkPolicy";
import { partOfLabels } from "../domain/labels";
import { transform, type Transform } from "./transform";
import { defaultTrainingNamespace } from "./defaults";

export interface TrainingNamespaceArgs {
    /**
     * Name of the namespace the training job, its storage claim and its service account live in.
     * @default "miles" (the stack default, `training.namespace`)
     * @example "rl-team"
     */
    name?: string;
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
    readonly resource: k8s.core.v1.Namespace;
    readonly networkPolicies: k8s.networking.v1.NetworkPolicy[];

    constructor(name: string, args: TrainingNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:k8s:TrainingNamespace", name, {}, opts);
        this.name = args.name ?? defaultTrainingNamespace();
        const t = args.transform ?? {};
        this.resource = new k8s.core.v1.Namespace(
            ...transform(
                t.namespace,
                name,
                { metadata: { name: this.name, labels: { ...partOfLabels(), ...podSecurityLabels(args.podSecurity ?? "baseline") } } },
                { parent: this, provider: args.provider, dependsOn: args.dependsOn },
            ),
        );
        this.networkPolicies =
            args.networkPolicies === false
                ? []
                : namespacePolicies(this.name).map(
                      (m) => new k8s.networking.v1.NetworkPolicy(...transform(t.networkPolicy, `${name}-${m.metadata.name}`, m, { parent: this, provider: args.provider, dependsOn: [this.resource] })),
                  );
        this.registerOutputs({ name: this.name });
    }
}

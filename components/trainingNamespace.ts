import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { NamespaceHandle } from "./contracts";
import { podSecurityLabels, type PodSecurityLevel } from "../domain/security/pods";
import { namespacePolicies } from "../domain/security/networkPolicy";
import { partOfLabels } from "../domain/labels";

export interface TrainingNamespaceArgs {
    /**
     * Name of the namespace the training job, its storage claim and its service account live in.
     * @default "miles"
     * @example "rl-team"
     */
    name: string;
    provider: k8s.Provider;
    dependsOn?: pulumi.Resource[];
    /**
     * Pod Security admission level enforced on the namespace (`warn` and `audit` are always
     * `restricted`). The miles image runs as root, so `restricted` cannot hold; RDMA workers add
     * IPC_LOCK, which only `privileged` admits (domain/security/pods.ts, docs/security.md).
     * @default "baseline"
     */
    podSecurity?: PodSecurityLevel;
    /**
     * Create the namespace's default-deny and egress NetworkPolicies.
     * @default true
     */
    networkPolicies?: boolean;
}

/** The Kubernetes namespace of the training workload, labelled for Pod Security admission, with default-deny NetworkPolicies. */
export class TrainingNamespace extends pulumi.ComponentResource implements NamespaceHandle {
    readonly name: string;
    readonly resource: k8s.core.v1.Namespace;
    readonly networkPolicies: k8s.networking.v1.NetworkPolicy[];

    constructor(name: string, args: TrainingNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:k8s:TrainingNamespace", name, {}, opts);
        this.name = args.name;
        this.resource = new k8s.core.v1.Namespace(
            name,
            { metadata: { name: args.name, labels: { ...partOfLabels(), ...podSecurityLabels(args.podSecurity ?? "baseline") } } },
            { parent: this, provider: args.provider, dependsOn: args.dependsOn },
        );
        this.networkPolicies =
            args.networkPolicies === false
                ? []
                : namespacePolicies(args.name).map((m) => new k8s.networking.v1.NetworkPolicy(`${name}-${m.metadata.name}`, m, { parent: this, provider: args.provider, dependsOn: [this.resource] }));
        this.registerOutputs({ name: this.name });
    }
}

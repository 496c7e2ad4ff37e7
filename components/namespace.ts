import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { NamespaceHandle } from "./contracts";

export interface TrainingNamespaceArgs {
    /**
     * Name of the namespace the training job, its storage claim and its service account live in.
     * @default "miles"
     * @example "rl-team"
     */
    name: string;
    provider: k8s.Provider;
    dependsOn?: pulumi.Resource[];
}

/** The Kubernetes namespace of the training workload. */
export class TrainingNamespace extends pulumi.ComponentResource implements NamespaceHandle {
    readonly name: string;
    readonly resource: k8s.core.v1.Namespace;

    constructor(name: string, args: TrainingNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:k8s:TrainingNamespace", name, {}, opts);
        this.name = args.name;
        this.resource = new k8s.core.v1.Namespace(
            name,
            { metadata: { name: args.name, labels: { "app.kubernetes.io/part-of": "miles-cluster" } } },
            { parent: this, provider: args.provider, dependsOn: args.dependsOn },
        );
        this.registerOutputs({ name: this.name });
    }
}

/**
 * The run's Kubernetes Secret (W&B API key, Hugging Face token), filled from Pulumi secrets. Its
 * data is wrapped in `pulumi.secret` so the values stay encrypted in the Pulumi state and never
 * appear in plaintext in a plan, a preview or a manifest; pods read them through `secretKeyRef`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ResolvedRun } from "../domain/training/run";
import { secretManifest } from "../domain/training/secret";
import { transform, type Transform } from "./transform";

export interface TrainingSecretsArgs {
    /**
     * The resolved run; the values come from its `training.wandb.apiKey` and `training.hfToken`.
     * @example resolveRun(training, { stack: "prod", gpuNodeGroups: cluster.gpuNodeGroups })
     */
    run: ResolvedRun;
    /**
     * Namespace of the Secret (the training namespace).
     * @example "miles"
     */
    namespace: string;
    /**
     * Provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * What the Secret waits for (the namespace).
     * @default []
     * @example [namespace.resource]
     */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Changes to the args of the Secret.
     * @default none
     * @example { secret: (a) => { a.metadata = { ...a.metadata, annotations: { owner: "rl" } }; } }
     */
    transform?: { secret?: Transform<k8s.core.v1.SecretArgs> };
}

/** A Kubernetes Secret `<runName>-secrets`; created only when the config holds a secret value. */
export class TrainingSecrets extends pulumi.ComponentResource {
    /** Name of the Secret, undefined when there is nothing secret. */
    readonly secretName?: string;
    readonly secret?: k8s.core.v1.Secret;
    /** Keys present in the Secret. */
    readonly keys: string[];

    constructor(name: string, args: TrainingSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:training:TrainingSecrets", name, {}, opts);
        const m = secretManifest(args.run, args.namespace);
        this.keys = m ? Object.keys(m.stringData) : [];
        if (m) {
            this.secretName = m.metadata.name;
            this.secret = new k8s.core.v1.Secret(
                ...transform(args.transform?.secret, name, { ...m, stringData: pulumi.secret(m.stringData) }, { parent: this, provider: args.provider, dependsOn: args.dependsOn }),
            );
        }
        this.registerOutputs({ secretName: this.secretName, keys: this.keys });
    }
}

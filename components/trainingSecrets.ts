/**
 * The run's Kubernetes Secret (W&B API key, Hugging Face token), filled from Pulumi secrets. Its
 * data is wrapped in `pulumi.secret` so the values stay encrypted in the Pulumi state and never
 * appear in plaintext in a plan, a preview or a manifest; pods read them through `secretKeyRef`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ResolvedRun } from "../domain/training/run";
import { secretManifest } from "../domain/training/secret";

export interface TrainingSecretsArgs {
    /** The resolved run; the values come from its `training.wandb.apiKey` and `training.hfToken`. */
    run: ResolvedRun;
    /**
     * Namespace of the Secret (the training namespace).
     * @example "miles"
     */
    namespace: string;
    provider: k8s.Provider;
    dependsOn?: pulumi.Input<pulumi.Resource>[];
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
            this.secret = new k8s.core.v1.Secret(name, { ...m, stringData: pulumi.secret(m.stringData) }, { parent: this, provider: args.provider, dependsOn: args.dependsOn });
        }
        this.registerOutputs({ secretName: this.secretName, keys: this.keys });
    }
}

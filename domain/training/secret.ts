/**
 * The run's Kubernetes Secret (W&B API key, Hugging Face token, `training.secretEnv`) as a plain manifest; the component
 * wraps its data in `pulumi.secret`.
 */
import { SECRET_KEYS, secretEnvKey } from "./argv";
import type { ResolvedRun } from "./run";
import { runLabels } from "./pod";

/** The secret values of the run (Secret key → value); empty when it has none. */
export function secretValues(r: ResolvedRun): Record<string, string> {
    const t = r.training;
    const out: Record<string, string> = {};
    if (t.wandb.enabled && t.wandb.apiKey) out[SECRET_KEYS.wandbApiKey] = t.wandb.apiKey;
    if (t.hfToken) out[SECRET_KEYS.hfToken] = t.hfToken;
    for (const [name, value] of Object.entries(t.secretEnv)) out[secretEnvKey(name)] = value;
    return out;
}

export interface SecretManifest {
    apiVersion: "v1";
    kind: "Secret";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    type: "Opaque";
    stringData: Record<string, string>;
}

/** Name of the run's Secret. */
export function secretName(r: ResolvedRun): string {
    return `${r.runName}-secrets`;
}

/** The run's Secret (plaintext values: the component wraps `stringData` in pulumi.secret); undefined when there is nothing secret. */
export function secretManifest(r: ResolvedRun, namespace: string): SecretManifest | undefined {
    const values = secretValues(r);
    if (Object.keys(values).length === 0) return undefined;
    return { apiVersion: "v1", kind: "Secret", metadata: { name: secretName(r), namespace, labels: runLabels(r, "secrets") }, type: "Opaque", stringData: values };
}

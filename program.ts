/**
 * The Pulumi program: read and validate the stack config, then wire the components in order.
 * `index.ts` exports it for `pulumi up`; the offline `plan` command runs the very same function
 * under Pulumi's mock runtime.
 */
import { loadConfig, type MilesConfig } from "./config";

export type StackOutputs = Record<string, unknown>;

/** Wires the components for an already validated config. */
export function deploy(cfg: MilesConfig): StackOutputs {
    const outputs: StackOutputs = { stack: cfg.stack };
    // miles-cluster:wiring — each component adds its creation here, in dependency order.
    return outputs;
}

/** The whole program: config first (every problem at once, before any resource), then resources. */
export async function program(): Promise<StackOutputs> {
    const cfg = loadConfig();
    return deploy(cfg);
}

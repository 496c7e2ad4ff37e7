import { z } from "zod";
import type { Problem } from "./problems";
import type { MilesConfig } from "./index";

const toggle = (description: string) => z.strictObject({ enabled: z.boolean().default(true).meta({ description: "Install it." }) }).prefault({}).meta({ description });

export const AddonsSchema = z
    .strictObject({
        nvidiaDevicePlugin: toggle("NVIDIA Kubernetes device plugin (AL2023 GPU nodes only; Bottlerocket ships it)."),
        efaDevicePlugin: toggle("AWS EFA Kubernetes device plugin."),
        kuberay: toggle("KubeRay operator and its CRDs."),
    })
    .meta({ description: "Cluster add-ons." });

export type AddonsConfig = z.output<typeof AddonsSchema>;
export const addonsSecretPaths: string[][] = [];
export function addonsChecks(_cfg: MilesConfig): Problem[] {
    return [];
}

import { z } from "zod";
import type { Problem } from "./problems";
import type { MilesConfig } from "./index";

export const TrainingSchema = z
    .strictObject({
        enabled: z.boolean().default(true).meta({ description: "Create the training job. Turn off to provision only the cluster." }),
        namespace: z
            .string()
            .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a DNS-1123 label (lowercase letters, digits, '-')")
            .default("miles")
            .meta({ description: "Kubernetes namespace of the training job, its storage claim and service account." }),
        entry: z.enum(["train.py", "train_async.py"]).default("train.py").meta({ description: "miles entry script; train_async.py overlaps rollout and training and cannot be colocated." }),
        model: z
            .strictObject({ preset: z.string().default("qwen3-4B").meta({ description: "Model preset (architecture args), see shared/miles/models.tsv." }) })
            .prefault({})
            .meta({ description: "The model." }),
    })
    .meta({ description: "The miles RL training run." });

export type TrainingConfig = z.output<typeof TrainingSchema>;
export const trainingSecretPaths: string[][] = [];
export function trainingChecks(_cfg: MilesConfig): Problem[] {
    return [];
}

import { z } from "zod";
import type { Problem } from "./problems";
import type { MilesConfig } from "./index";

export const StorageSchema = z
    .strictObject({
        type: z.enum(["fsx-lustre", "efs", "existing-claim"]).default("fsx-lustre").meta({ description: "Kind of shared storage." }),
        capacityGiB: z.number().int().positive().default(1200).meta({ description: "FSx for Lustre capacity in GiB: 1200, 2400 or a multiple of 2400." }),
        throughputPerTiB: z.number().int().positive().default(250).meta({ description: "FSx for Lustre PERSISTENT_2 throughput per TiB in MB/s: 125, 250, 500 or 1000." }),
    })
    .meta({ description: "Shared checkpoint storage." });

export type StorageConfig = z.output<typeof StorageSchema>;
export const storageSecretPaths: string[][] = [];
export function storageChecks(_cfg: MilesConfig): Problem[] {
    return [];
}

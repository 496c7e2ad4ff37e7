import { z } from "zod";
import { GPU_INSTANCE_TYPES } from "../lib/instances";
import type { Problem } from "./problems";
import type { MilesConfig } from "./index";

const instanceType = z.enum(GPU_INSTANCE_TYPES, {
    error: (iss) => `${JSON.stringify(iss.input)} is not an H100/H200 instance type; use one of ${GPU_INSTANCE_TYPES.join(", ")}`,
});

const reservationId = z
    .string()
    .regex(/^cr-[0-9a-f]{8}([0-9a-f]{9})?$/, { error: (iss) => `${JSON.stringify(iss.input)} is not a capacity reservation id (cr- followed by 8 or 17 hex digits)` });

export const CapacitySchema = z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("on-demand") }).meta({ description: "On-Demand instances (needs P-instance vCPU quota; capacity is often short)." }),
    z.strictObject({ type: z.literal("spot") }).meta({ description: "Spot instances: cheapest, can be reclaimed at any time." }),
    z
        .strictObject({ type: z.literal("capacity-reservation"), reservationId })
        .meta({ description: "An On-Demand Capacity Reservation (ODCR), targeted by id." }),
    z
        .strictObject({ type: z.literal("capacity-block"), reservationId })
        .meta({ description: "An EC2 Capacity Block for ML, targeted by its reservation id (at most 64 instances)." }),
]);

export const GpuNodeGroupSchema = z.strictObject({
    name: z
        .string()
        .regex(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/, "must be 1-32 lowercase letters, digits or '-', starting and ending with a letter or digit")
        .meta({ description: "Name of the node group, unique in the stack; also the value of the node-group label.", examples: ["h100"] }),
    instanceType: instanceType.meta({ description: "EC2 instance type.", examples: ["p5.48xlarge"] }),
    nodes: z
        .number()
        .int()
        .min(0, "must be 0 or more")
        .max(512, "must be at most 512")
        .meta({ description: "Number of nodes (min = desired = max). 0 keeps the group with no instances, e.g. before a Capacity Block starts.", examples: [2] }),
    capacity: CapacitySchema.prefault({ type: "on-demand" }).meta({ description: "Where the instances come from.", examples: [{ type: "capacity-block", reservationId: "cr-0123456789abcdef0" }] }),
    amiFamily: z.enum(["al2023", "bottlerocket"]).default("al2023").meta({ description: "EKS-optimized NVIDIA AMI family: AL2023_x86_64_NVIDIA or BOTTLEROCKET_x86_64_NVIDIA." }),
});

export const ClusterSchema = z
    .strictObject({
        name: z
            .string()
            .regex(/^[a-zA-Z][a-zA-Z0-9-]{0,99}$/, "must start with a letter and hold letters, digits or '-' (at most 100)")
            .optional()
            .meta({ description: "EKS cluster name. Default: `miles-<stack>`." }),
        availabilityZone: z
            .string()
            .regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, "must be an availability zone name such as us-east-1a")
            .optional()
            .meta({ description: "The one availability zone of the GPU nodes (GPU capacity, EFA and Capacity Blocks are per-AZ).", examples: ["us-east-1a"] }),
        kubernetesVersion: z
            .string()
            .regex(/^1\.\d{2}$/, "must look like 1.34")
            .default("1.34")
            .meta({ description: "EKS Kubernetes version." }),
        gpuNodeGroups: z.array(GpuNodeGroupSchema).default([]).meta({ description: "GPU node groups." }),
    })
    .meta({ description: "The Kubernetes cluster and its GPU node groups." });

export type ClusterConfig = z.output<typeof ClusterSchema>;
export type GpuNodeGroupConfig = z.output<typeof GpuNodeGroupSchema>;

/** Paths (relative to `cluster`) that hold secrets and must be set with `pulumi config set --secret`. */
export const clusterSecretPaths: string[][] = [];

/** Cross-field rules that zod's per-field schema cannot express. */
export function clusterChecks(cfg: MilesConfig): Problem[] {
    const problems: Problem[] = [];
    const c = cfg.cluster;
    if (cfg.region && c.availabilityZone && !new RegExp(`^${cfg.region}[a-z]$`).test(c.availabilityZone)) {
        problems.push({ path: "cluster.availabilityZone", message: `"${c.availabilityZone}" is not an availability zone of region ${cfg.region} (expected ${cfg.region}a, ${cfg.region}b, ...)` });
    }
    const seen = new Map<string, number>();
    c.gpuNodeGroups.forEach((g, i) => {
        if (seen.has(g.name)) problems.push({ path: `cluster.gpuNodeGroups[${i}].name`, message: `"${g.name}" is already the name of gpuNodeGroups[${seen.get(g.name)}]; names must be unique` });
        else seen.set(g.name, i);
    });
    return problems;
}

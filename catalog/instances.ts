/**
 * Facts about the GPU instance types miles-cluster supports. One table, used by config validation,
 * the EFA launch-template layout, the plan summary, cost estimates and the training pod sizing.
 *
 * Sources: ../shared/reference/gpu-cluster-anchors.md §2.1 (awsome-distributed-training instance
 * profiles, torchx and dstack PRs, AWS docs). Values marked `approximate` were not read from an AWS page.
 */
export type GpuModel = "H100" | "H200";

export interface InstanceFacts {
    instanceType: GpuInstanceType;
    gpuModel: GpuModel;
    /** Marketing name of the GPU, for humans. */
    gpuName: string;
    gpus: number;
    gpuMemoryGiB: number;
    vcpus: number;
    memoryGiB: number;
    /** Network cards = EFA interfaces this instance can attach (EC2 `maximumNetworkCards`). */
    networkCards: number;
    efaGeneration: "EFAv2" | "EFAv3";
    networkGbps: number;
    localNvme: { disks: number; diskGB: number };
    cpu: string;
    /** Hourly on-demand price in USD, us-east-1, with where it came from. */
    onDemandUsdPerHour: { usd: number; source: string; asOf: string; approximate: boolean };
}

export const GPU_INSTANCE_TYPES = ["p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge"] as const;
export type GpuInstanceType = (typeof GPU_INSTANCE_TYPES)[number];

export const INSTANCE_FACTS: Readonly<Record<GpuInstanceType, InstanceFacts>> = {
    "p5.48xlarge": {
        instanceType: "p5.48xlarge",
        gpuModel: "H100",
        gpuName: "NVIDIA H100 SXM 80GB",
        gpus: 8,
        gpuMemoryGiB: 80,
        vcpus: 192,
        memoryGiB: 2048,
        networkCards: 32,
        efaGeneration: "EFAv2",
        networkGbps: 3200,
        localNvme: { disks: 8, diskGB: 3800 },
        cpu: "AMD EPYC (3rd gen)",
        onDemandUsdPerHour: {
            usd: 55.04,
            source: "AWS EC2 On-Demand price list, us-east-1, after the June 2025 P5 price reduction",
            asOf: "2025-06",
            approximate: true,
        },
    },
    "p5e.48xlarge": {
        instanceType: "p5e.48xlarge",
        gpuModel: "H200",
        gpuName: "NVIDIA H200 141GB",
        gpus: 8,
        gpuMemoryGiB: 141,
        vcpus: 192,
        memoryGiB: 2048,
        networkCards: 32,
        efaGeneration: "EFAv2",
        networkGbps: 3200,
        localNvme: { disks: 8, diskGB: 3800 },
        cpu: "AMD EPYC (3rd gen)",
        onDemandUsdPerHour: {
            usd: 63.3,
            source: "no public on-demand price seen (p5e is sold mostly as Capacity Blocks); p5en's price used as the estimate",
            asOf: "2026-08",
            approximate: true,
        },
    },
    "p5en.48xlarge": {
        instanceType: "p5en.48xlarge",
        gpuModel: "H200",
        gpuName: "NVIDIA H200 141GB",
        gpus: 8,
        gpuMemoryGiB: 141,
        vcpus: 192,
        memoryGiB: 2048,
        networkCards: 16,
        efaGeneration: "EFAv3",
        networkGbps: 3200,
        localNvme: { disks: 8, diskGB: 3800 },
        cpu: "Intel Xeon (Sapphire Rapids)",
        onDemandUsdPerHour: {
            usd: 63.3,
            source: "dstack offer listing for us-east-1/us-east-2/us-west-2 (shared/reference/gpu-cluster-anchors.md §2.1)",
            asOf: "2026-08",
            approximate: true,
        },
    },
};

export function isGpuInstanceType(t: string): t is GpuInstanceType {
    return (GPU_INSTANCE_TYPES as readonly string[]).includes(t);
}

export function instanceFacts(t: GpuInstanceType): InstanceFacts {
    return INSTANCE_FACTS[t];
}

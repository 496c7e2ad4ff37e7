/**
 * Facts about the GPU fabric: published all-reduce bus bandwidths the fabric gate compares against,
 * and the pins of the project's EFA image (images/miles-efa/Dockerfile reads the same values as
 * build args; a test keeps them equal).
 */
import type { GpuInstanceType } from "./instances";

/** A published nccl-tests all_reduce_perf result: bus bandwidth at one message size. */
export interface PublishedBusBw {
    /** Bus bandwidth, GB/s (nccl-tests `busbw`, out-of-place). */
    busBwGBps: number;
    nodes: number;
    messageBytes: number;
    /** Where it was published. */
    source: string;
    /** Set when the figure was measured on another instance type with the same network. */
    borrowedFrom?: GpuInstanceType;
}

/**
 * 2 × p5.48xlarge over EFA, all_reduce_perf 8 B → 16 GiB: busbw 479.28 GB/s at 8 GiB (487.09 at
 * 16 GiB, 443.72 at 2 GiB). An older run of the same README (EFA installer 1.28, aws-ofi-nccl 1.7.3)
 * shows 437.79 GB/s at 2 GiB. Source: github.com/aws-samples/awsome-distributed-training
 * micro-benchmarks/nccl-tests/README.md @ 7217859f (also test/fixtures/fabric/p5-2node-efa-*.txt).
 */
const P5_TWO_NODES: PublishedBusBw = {
    busBwGBps: 479.28,
    nodes: 2,
    messageBytes: 8 * 1024 ** 3,
    source: "aws-samples/awsome-distributed-training micro-benchmarks/nccl-tests/README.md @7217859 (2 x p5.48xlarge, all_reduce_perf, 8 GiB)",
};

/**
 * Multi-node reference per instance type. No nccl-tests table for p5e or p5en was found in a public
 * source: both have the same 3,200 Gbps EFA (p5e: 32 × EFAv2 like p5; p5en: 16 × EFAv3,
 * catalog/instances.ts), so they borrow the p5 figure and say so in the plan. Replace them when you
 * have a characterised baseline (`training.fabricGate.minBusBandwidthGBps`).
 */
export const EFA_ALLREDUCE_REFERENCE: Readonly<Record<GpuInstanceType, PublishedBusBw>> = {
    "p5.48xlarge": P5_TWO_NODES,
    "p5e.48xlarge": { ...P5_TWO_NODES, borrowedFrom: "p5.48xlarge" },
    "p5en.48xlarge": { ...P5_TWO_NODES, borrowedFrom: "p5.48xlarge" },
};

/**
 * Default share of the reference the gate requires. Published runs of the same pair of p5 nodes
 * differ by ~9% between software versions (437.79 vs 443.72 GB/s at 2 GiB, same README), and the
 * gate runs fewer iterations than nccl-tests: 0.75 of the reference leaves room for that while a
 * socket fallback (a few GB/s, test/fixtures/fabric/p3dn-low-bandwidth.txt) or a node with a
 * fraction of its EFA devices fails by a wide margin. Beyond 2 nodes no published p5 figure was
 * found; ring all-reduce bus bandwidth stays near-flat with node count in theory, but placement
 * across network spines costs some, so the default share drops to 0.6 there (an engineering margin,
 * not a measurement).
 */
export const GATE_FRACTION_TWO_NODES = 0.75;
export const GATE_FRACTION_MORE_NODES = 0.6;

/**
 * Single node: NVLink/NVSwitch all-reduce. The AWS GPU cluster health check uses 500 GB/s as its
 * NVLink-only floor on p5/p5e/p5en (awsome-distributed-training
 * 4.validation_and_observability/2.gpu-cluster-healthcheck/checks/5-nccl-allreduce.sh @7217859,
 * `nvlink_only_threshold`, advisory). No published single-node table was found; the gate uses 60% of
 * that floor by default, so a node with a broken NVLink/NVSwitch (PCIe-only, tens of GB/s) fails.
 */
export const NVLINK_ALLREDUCE_FLOOR_GBPS = 500;
export const NVLINK_FLOOR_SOURCE = "aws-samples/awsome-distributed-training gpu-cluster-healthcheck 5-nccl-allreduce.sh @7217859 (nvlink_only_threshold 500 GB/s, p5/p5e/p5en)";
export const GATE_FRACTION_NVLINK = 0.6;

/**
 * The AWS EFA installer the project image installs: 1.49.0 (libfabric 2.4.0amzn5.0, aws-ofi-nccl
 * 1.20.0; the installer vends aws-ofi-nccl since 1.39 — AWS's rajachan in mosaicml/composer#3844).
 * AWS Deep Learning Containers moved their PyTorch 2.11/2.12 CUDA images to it
 * (aws/deep-learning-containers#6668). Checksum: AWS publishes a SHA256 per release on
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-verify.html, which could not be read
 * here; the value below is the one ai-dynamo/dynamo pins for 1.49.0
 * (container/deps/efa/install_efa.sh tests and recipes/…/check-efa-userspace.sh, archive size
 * 702811844 bytes). Compare it with AWS's page before the first build.
 */
export const EFA_INSTALLER = {
    version: "1.49.0",
    sha256: "cf2e9281a2328a243c76f911a490faed43ca0fecfe4733c25e34b2e92a32c309",
    url: (v: string) => `https://efa-installer.amazonaws.com/aws-efa-installer-${v}.tar.gz`,
} as const;

/**
 * The name the aws-ofi-nccl plugin registers with NCCL (its `ncclNet_t.name`): "Libfabric" for the
 * NVIDIA interface at aws-ofi-nccl v1.20.0, the version EFA installer 1.49.0 vends
 * (aws/aws-ofi-nccl v1.20.0 src/nccl_ofi_interface_nvidia.cpp:662-803; older releases, e.g. v1.9.x,
 * said "AWS Libfabric"). NCCL compares `NCCL_NET` with it case-insensitively and, when no enabled
 * network carries that name, fails the communicator's init instead of falling back to TCP sockets
 * (NVIDIA/nccl v2.21.5-1 src/net.cc:554-580 "Error: network %s not found." → ncclInvalidUsage;
 * v2.27.7-1 src/plugin/net.cc:164-188 and :265-291 "Failed to initialize any NET plugin"). The
 * plugin is enabled only when it initialised and found devices (v2.27.7-1 src/plugin/net.cc:140-160).
 */
export const OFI_NCCL_NET_NAME = "Libfabric";

/**
 * Where the EFA installer puts libfabric and the aws-ofi-nccl plugin (the plugin directory has an
 * arch sub-directory in the regular install and none with `--enable-ngc`), as
 * awsome-distributed-training nccl-tests.Dockerfile @7217859 (EFA 1.47.0) and ai-dynamo/dynamo
 * check-efa-userspace.sh (EFA 1.49.0) set them.
 */
export const EFA_LIBRARY_PATH = ["/opt/amazon/efa/lib", "/opt/amazon/ofi-nccl/lib/x86_64-linux-gnu", "/opt/amazon/ofi-nccl/lib", "/opt/amazon/openmpi/lib"] as const;

/** Tag of the project EFA image for a miles tag: `<miles tag>-efa<installer version>`. */
export function efaImageTag(milesTag: string): string {
    return `${milesTag}-efa${EFA_INSTALLER.version}`;
}

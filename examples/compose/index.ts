/**
 * A platform team's own Pulumi program built from miles-cluster's components (not a miles-cluster
 * stack): an EKS cluster with one H200 node group on a Capacity Block, its training namespace, the
 * device plugins and KubeRay (no monitoring), and FSx for Lustre + S3 checkpoint storage — each with the team's own
 * args, plus two `transform`s for what the args do not cover — and one miles run (Qwen3-8B GRPO on one
 * node), which the component checks with the same rules `plan` applies to a stack.
 *
 * Outside this repository, import from "miles-cluster" instead of "../../lib".
 */
import * as pulumi from "@pulumi/pulumi";
import {
    AddonsSchema,
    CheckpointStorage,
    ClusterAddons,
    ClusterSchema,
    GpuCluster,
    GpuNodeGroupSchema,
    MilesTrainingJob,
    StorageSchema,
    TrainingNamespace,
    TrainingSchema,
} from "../../lib";

/** The team's settings, in code: no miles-cluster stack config is read. */
const TEAM = {
    name: "vision-rl",
    region: "us-east-2",
    zone: "us-east-2b",
    costCenter: "ml-4711",
    /** An EC2 Capacity Block the team bought (placeholder id: put yours). */
    capacityBlockId: "cr-0123456789abcdef0",
};

/** Pulumi calls the exported function and uses its result as the stack outputs (as the repository's own index.ts does). */
async function compose(): Promise<compose.Outputs> {
    const tags = { team: TEAM.name, "cost-center": TEAM.costCenter };
    const cluster = new GpuCluster("rl", {
        cluster: ClusterSchema.parse({
            name: `${TEAM.name}-${pulumi.getStack()}`,
            availabilityZone: TEAM.zone,
            network: { type: "create", vpcCidr: "10.40.0.0/16", availabilityZones: ["us-east-2c"] },
            gpuNodeGroups: [GpuNodeGroupSchema.parse({ name: "h200", instanceType: "p5en.48xlarge", nodes: 2, capacity: { type: "capacity-block", reservationId: TEAM.capacityBlockId } })],
        }),
        region: TEAM.region,
        transform: {
            // Cost allocation tags on the GPU node group (a partial args object is merged in)...
            gpuNodeGroup: { nodeGroup: (args) => void (args.tags = { ...(args.tags as Record<string, string>), ...tags }) },
            // ...and a longer retention of the control plane logs than the component's 30 days.
            controlPlane: { logGroup: { retentionInDays: 90 } },
        },
    });
    const namespace = new TrainingNamespace("rl-namespace", { name: TEAM.name, provider: cluster.provider, dependsOn: cluster.aws?.ready });
    const storage = new CheckpointStorage("rl-storage", {
        storage: StorageSchema.parse({
            capacityGiB: 2400,
            throughputPerTiB: 500,
            bucket: { name: `acme-${TEAM.name}-checkpoints` },
            links: [{ path: "/checkpoints", import: ["NEW", "CHANGED", "DELETED"], export: ["NEW", "CHANGED", "DELETED"] }],
        }),
        region: TEAM.region,
        cluster,
        namespace,
    });
    // The team runs its own Prometheus and queue elsewhere: no monitoring stack, DCGM exporter or Kueue. (With the
    // monitoring stack on, GpuCluster also needs `ebsCsiDriver: true` for its volumes.)
    const addons = new ClusterAddons("rl-addons", { addons: AddonsSchema.parse({ monitoring: { enabled: false }, dcgmExporter: { enabled: false }, kueue: { enabled: false } }), cluster, namespace, storage });

    // One run on one H200 node (NVLink only, so the plain miles image). A layout miles would reject (say
    // parallelism.tp: 3) throws here with its field paths, as `plan` of a stack would report them.
    const run = new MilesTrainingJob("rl-run", {
        training: TrainingSchema.parse({
            runName: "qwen3-8b-grpo",
            model: { preset: "qwen3-8B" },
            layout: { actorNodes: 1, gpusPerEngine: 2 },
            parallelism: { tp: 2 },
            data: { hfDataset: "zhuzilin/dapo-math-17k" },
        }),
        cluster,
        namespace,
        storage,
        addons,
    });

    if (!cluster.eks || !storage.bucket) throw new Error("this program creates an EKS cluster and an FSx-linked bucket");
    return { clusterName: cluster.eks.clusterName, kubeconfig: pulumi.secret(cluster.eks.kubeconfig), checkpointBucket: storage.bucket.name, claimName: storage.claimName, namespace: namespace.name, jobName: run.jobName };
}

namespace compose {
    /** What this program exports (`pulumi stack output`). */
    export interface Outputs {
        clusterName: pulumi.Output<string>;
        /** Kubeconfig running `aws eks get-token` (a secret). */
        kubeconfig: pulumi.Output<string>;
        checkpointBucket: pulumi.Output<string>;
        /** The ReadWriteMany claim the team's training pods mount. */
        claimName: string;
        namespace: string;
        /** The RayJob of the run. */
        jobName: string;
    }
}

export = compose;

/**
 * The Pulumi program: read and validate the stack config, then wire the components in order.
 * `index.ts` exports it for `pulumi up`; the offline `plan` command runs the very same function
 * under Pulumi's mock runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./validation";
import { type MilesConfig } from "./config";
import { GpuCluster } from "./components/gpuCluster";
import { TrainingNamespace } from "./components/namespace";
import { CheckpointStorage } from "./components/storage";
import { ClusterAddons } from "./components/clusterAddons";
import { MilesTrainingJob } from "./components/trainingJob";
import { ImageRepository } from "./components/imageRepository";
import { runOf } from "./domain/training/run";

export type StackOutputs = Record<string, unknown>;

/** Wires the components for an already validated config. */
export function deploy(cfg: MilesConfig): StackOutputs {
    const outputs: StackOutputs = { stack: cfg.stack };
    const cluster = new GpuCluster("cluster", { config: cfg });
    const namespace = new TrainingNamespace("training-namespace", { name: cfg.training.namespace, provider: cluster.provider, dependsOn: cluster.aws?.ready });
    const storage = new CheckpointStorage("storage", { config: cfg, cluster, namespace });
    const addons = new ClusterAddons("addons", { config: cfg, cluster, namespace, storage });
    if (cluster.eks) {
        outputs.clusterName = cluster.eks.clusterName;
        outputs.clusterEndpoint = cluster.eks.endpoint;
        outputs.kubeconfig = pulumi.secret(cluster.eks.kubeconfig);
        outputs.gpuNodeGroupNames = cluster.eks.gpuNodeGroupNames;
        outputs.systemNodeGroupName = cluster.eks.systemNodeGroupName;
    }
    outputs.trainingNamespace = namespace.name;
    outputs.storageClaimName = storage.claimName;
    if (storage.bucket) outputs.checkpointBucket = storage.bucket.name;
    outputs.trainingServiceAccount = addons.serviceAccountName;
    if (addons.monitoring) {
        outputs.grafanaPortForward = addons.monitoring.grafanaPortForward;
        outputs.grafanaAdminPassword = addons.monitoring.grafanaAdminPassword;
    }
    if (cfg.training.enabled) {
        const choice = runOf(cfg).imageChoice;
        const repo = cluster.eks && choice.ecrRepositoryName ? new ImageRepository("efa-image", { name: choice.ecrRepositoryName, tags: { "miles-cluster/stack": cfg.stack, "miles-cluster/component": "images" } }) : undefined;
        if (repo) outputs.efaImageRepository = repo.url;
        const training = new MilesTrainingJob("training", { training: cfg.training, stack: cfg.stack, cluster, namespace, storage, addons, ...(repo ? { efaImageRepositoryUrl: repo.url } : {}) });
        outputs.trainingJobName = training.jobName;
        outputs.trainingFollow = training.follow;
        outputs.fabricGate = training.fabricGateResult;
    }
    return outputs;
}

/** The whole program: config first (every problem at once, before any resource), then resources. */
export async function program(): Promise<StackOutputs> {
    const cfg = loadConfig();
    return deploy(cfg);
}

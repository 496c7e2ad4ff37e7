/**
 * The Pulumi program: read and validate the stack config, then wire the components in order.
 * `index.ts` exports it for `pulumi up`; the offline `plan` command runs the very same function
 * under Pulumi's mock runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import { clusterStackOf, loadStack, runtimeRawConfig } from "./validation";
import * as k8s from "@pulumi/kubernetes";
import { readLogsCommand } from "./domain/monitoring/logs";
import { runRecordsCommand, UNKNOWN_COMMIT } from "./domain/training/runRecord";
import { gitHead } from "./domain/training/gitCommit";
import { GpuCluster } from "./components/gpuCluster";
import { TrainingNamespace } from "./components/trainingNamespace";
import { CheckpointStorage } from "./components/checkpointStorage";
import { ClusterAddons } from "./components/clusterAddons";
import { MilesTrainingJob, type MilesTrainingJobArgs } from "./components/milesTrainingJob";
import type { AddonsHandle, ClusterHandle, StorageHandle } from "./components/contracts";
import { prepDirectories } from "./domain/training/prepJobs";
import { CLUSTER_FACTS_OUTPUT, CLUSTER_FACTS_VERSION, runFacts, type ClusterFacts } from "./domain/runStack";
import { nestedPaths } from "./validation/runs";
import { ImageRepository } from "./components/imageRepository";
import { EfaImageBuild } from "./components/imageBuild";
import type { ResolvedStack, StackRun } from "./domain/stack";
import { trainingPodSecurity } from "./domain/training/podSecurity";
import type { FollowCommands } from "./domain/training/rayJob";
import { resolveMonitoring } from "./domain/monitoring/resolve";
import { runNetworkPolicy } from "./domain/security/networkPolicy";

/**
 * What a miles-cluster stack exports (`pulumi stack output`), in this key order; the EKS fields only
 * when miles-cluster created the cluster.
 */
export interface StackOutputs {
    stack: string;
    clusterName?: pulumi.Output<string>;
    clusterEndpoint?: pulumi.Output<string>;
    /** Kubeconfig running `aws eks get-token` (a secret). */
    kubeconfig?: pulumi.Output<string>;
    gpuNodeGroupNames?: pulumi.Output<string[]>;
    systemNodeGroupName?: pulumi.Output<string>;
    trainingNamespace?: string;
    /** The ReadWriteMany claim every training pod mounts at /shared. */
    storageClaimName?: string;
    checkpointBucket?: pulumi.Output<string>;
    trainingServiceAccount?: string;
    /** With monitoring: the command opening Grafana on localhost:3000, and its admin password (a secret). */
    grafanaPortForward?: string;
    grafanaAdminPassword?: pulumi.Output<string>;
    efaImageRepository?: pulumi.Output<string>;
    /** One run (no `training.runs`): the RayJob's name, kubectl commands to follow it, its fabric gate. */
    trainingJobName?: string;
    trainingFollow?: FollowCommands;
    fabricGate?: MilesTrainingJob["fabricGateResult"];
    /** Named runs (`training.runs`), by RayJob name. */
    runs?: Record<string, { follow: FollowCommands; checkpointDir: string; fabricGate: MilesTrainingJob["fabricGateResult"] }>;
    /** With log shipping: the command reading the (first) run's Ray logs from CloudWatch Logs, also after its Ray cluster is gone. */
    runLogsCommand?: string;
    /** With a run: the command copying every run's run records to ./run-records/<stack>/ and listing them. */
    runRecordsCommand?: string;
    /** What a run stack reads through its StackReference. */
    [CLUSTER_FACTS_OUTPUT]?: ClusterFacts;
}

/** What a run stack (`cluster.clusterStack`) exports: its runs, on the cluster stack it names. */
export interface RunStackOutputs {
    stack: string;
    /** The cluster stack whose outputs it reads. */
    clusterStack: string;
    trainingNamespace: string;
    /** The stack's runs, by RayJob name. */
    runs: Record<string, { follow: FollowCommands; checkpointDir: string }>;
}

export interface ProgramOptions {
    /**
     * Git commit written into the run records.
     * @default gitHead() of the checkout this program runs from
     */
    gitCommit?: string;
}

/** Wires the components for a validated stack, resolved once (domain/stack.ts): every run is built from its resolution. */
export function deploy(resolved: ResolvedStack, o: ProgramOptions = {}): StackOutputs {
    const cfg = resolved.config;
    const { stack, region } = cfg;
    const outputs: StackOutputs = { stack };
    const cluster = new GpuCluster("cluster", {
        cluster: cfg.cluster,
        region,
        stack,
        fsxStartupTaint: cfg.storage.type === "fsx-lustre",
        ebsCsiDriver: resolveMonitoring(cfg)?.createsStorageClass ?? false,
    });
    const namespace = new TrainingNamespace("training-namespace", {
        name: cfg.training.namespace,
        // A bring-your-own cluster's namespace holds the team's claim: by default it is only referenced (never created or deleted).
        ownership: cfg.cluster.existing?.trainingNamespace ?? "create",
        provider: cluster.provider,
        dependsOn: cluster.aws?.ready,
        podSecurity: trainingPodSecurity(resolved.runs.map((x) => x.run)),
        networkPolicies: cfg.addons.networkPolicies.enabled,
    });
    // The capacity resolved once (domain/sizing.ts resolveStorage): storage.capacityGiB, or sized from the runs.
    const storage = new CheckpointStorage("storage", { storage: { ...cfg.storage, capacityGiB: resolved.storage.capacityGiB }, stack, region, cluster, namespace });
    const addons = new ClusterAddons("addons", { addons: cfg.addons, stack, region, cluster, namespace, storage });
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
    // The stack's EFA image repository, when a run is built on the project EFA image (every such run names the same one).
    const ecrRepositoryName = resolved.runs.map((x) => x.run.imageChoice.ecrRepositoryName).find((n) => n !== undefined);
    const repo = cluster.eks && ecrRepositoryName ? new ImageRepository("efa-image", { name: ecrRepositoryName, tags: { "miles-cluster/stack": cfg.stack, "miles-cluster/component": "images" } }) : undefined;
    if (repo) outputs.efaImageRepository = repo.url;
    // The deployment builds the EFA image it pulls (issue 21): one CodeBuild build per tag the runs pull, started and awaited
    // by a Job; the runs' pods come after it (components/imageBuild.ts).
    const efaImages = [...new Map(resolved.runs.filter((x) => x.run.imageChoice.source === "efa-build").map((x) => [x.run.imageChoice.tag, { tag: x.run.imageChoice.tag, base: `${x.run.training.image.repository}:${x.run.training.image.tag}` }])).values()];
    const build =
        repo && cluster.aws && efaImages.length > 0
            ? new EfaImageBuild("efa-build", {
                  repository: { name: ecrRepositoryName!, arn: repo.repository.arn, url: repo.url },
                  images: efaImages,
                  provider: cluster.provider,
                  eks: { clusterName: cluster.aws.clusterName },
                  dependsOn: cluster.aws.ready,
                  region,
                  tags: { "miles-cluster/stack": cfg.stack, "miles-cluster/component": "images" },
              })
            : undefined;
    // Who may reach the runs' pods besides each other (domain/security/networkPolicy.ts); the stack's own Prometheus scrapes their metrics ports.
    const networkPolicy = runNetworkPolicy(cfg);
    const runs = deployRuns(resolved.runs, { stack: cfg.stack, cluster, namespace, storage, addons, region: cfg.region, networkPolicy, gitCommit: o.gitCommit ?? UNKNOWN_COMMIT, ...(repo ? { efaImageRepositoryUrl: repo.url } : {}), ...(build ? { efaImageReady: build.ready } : {}) });
    const logs = addons.observability.logs;
    if (runs[0] && logs) outputs.runLogsCommand = readLogsCommand(logs, runs[0].jobName);
    if (runs[0]) outputs.runRecordsCommand = runRecordsCommand(cfg.stack, runs.map((j) => ({ runName: j.run.runName, namespace: j.namespace, checkpointDir: j.run.paths.checkpointDir, queued: addons.queue !== undefined })), cfg.storage);
    if (cfg.training.runs === undefined) {
        const training = runs[0];
        if (training) {
            outputs.trainingJobName = training.jobName;
            outputs.trainingFollow = training.follow;
            outputs.fabricGate = training.fabricGateResult;
        }
    } else {
        outputs.runs = Object.fromEntries(runs.map((j) => [j.jobName, { follow: j.follow, checkpointDir: j.run.paths.checkpointDir, fabricGate: j.fabricGateResult }]));
    }
    // What a run stack reads through its StackReference (plain facts; the kubeconfig is the secret output above).
    const facts: ClusterFacts = {
        version: CLUSTER_FACTS_VERSION,
        stack: cfg.stack,
        namespace: namespace.name,
        claimName: storage.claimName,
        serviceAccount: addons.serviceAccountName,
        nodeWatchServiceAccount: addons.nodeWatchServiceAccount,
        queue: addons.queue ?? null,
        gpuNodeGroups: cluster.gpuNodeGroups,
        platform: resolved.context.platform,
        monitoring: resolved.context.monitoring,
        runs: runs.map((j) => runFacts(j.run)),
        networkPolicy: networkPolicy ?? null,
    };
    outputs[CLUSTER_FACTS_OUTPUT] = facts;
    return outputs;
}

/**
 * The enabled runs of a stack as MilesTrainingJobs. A stack without `training.runs` keeps its one
 * run's resource names (`training`); named runs are `run-<name>`. Preparation Jobs of runs that
 * write the same directory (a shared model download or conversion) run one after the other.
 *
 * Every RayJob is created only after the GPU Jobs Pulumi awaits (fabric gates, conversions) of every
 * run sharing a node group with it: Pulumi never waits for a RayJob, and an admitted one holds its
 * nodes for as long as it trains, so a RayJob created earlier could take the last node such a Job
 * needs and `pulumi up` would wait until that Job's timeout (three one-node runs on two nodes). No
 * awaited Job of this deployment is then ordered after a RayJob that could hold its GPUs, so on a
 * first deploy each of them gets its nodes once the ones before it finish.
 */
export function deployRuns(
    runs: ReadonlyArray<StackRun>,
    ctx: { stack: string; cluster: ClusterHandle; namespace: MilesTrainingJobArgs["namespace"]; storage: StorageHandle; addons: AddonsHandle; region?: string; efaImageRepositoryUrl?: MilesTrainingJobArgs["efaImageRepositoryUrl"]; efaImageReady?: MilesTrainingJobArgs["efaImageReady"]; networkPolicy?: MilesTrainingJobArgs["networkPolicy"]; gitCommit?: string },
): MilesTrainingJob[] {
    const single = runs.length === 1 && runs[0].entry.path === "training";
    const jobs: MilesTrainingJob[] = [];
    const written: Array<{ dirs: string[]; ready: pulumi.Resource[] }> = [];
    // The runs built after a run are not known when its RayJob is registered: a Promise of all of them, resolved below.
    let built!: (all: MilesTrainingJob[]) => void;
    const all = new Promise<MilesTrainingJob[]>((resolve) => (built = resolve));
    try {
        for (const { entry, run } of runs) {
            const dirs = prepDirectories(run);
            const prepAfter = written.filter((w) => w.dirs.some((d) => dirs.some((e) => nestedPaths(d, e)))).flatMap((w) => w.ready);
            const runAfter = runs.length > 1 ? all.then((js) => js.filter((j) => j.run !== run && sharesNodeGroup(j.run, run)).flatMap((j) => j.gpuJobs)) : undefined;
            const job = new MilesTrainingJob(single ? "training" : `run-${entry.training.runName}`, { ...ctx, training: entry.training, run, prepAfter, ...(runAfter ? { runAfter } : {}) });
            written.push({ dirs, ready: job.prep.ready });
            jobs.push(job);
        }
    } finally {
        built(jobs);
    }
    return jobs;
}

/** Whether two runs may place pods on the same nodes: a GPU node group in common (a run without a known group: assume so). */
function sharesNodeGroup(a: StackRun["run"], b: StackRun["run"]): boolean {
    const groups = (r: StackRun["run"]) => (r.group ? [r.group.name, ...r.groups.map((g) => g.group.name)] : undefined);
    const ga = groups(a);
    const gb = groups(b);
    return ga === undefined || gb === undefined || ga.some((g) => gb.includes(g));
}

/**
 * A run stack: only the runs, on the cluster of the stack `cluster.clusterStack` names, whose outputs
 * it reads through a StackReference (the kubeconfig secret and the `milesCluster` facts). It creates
 * no namespace, claim, service account, queue or add-on, so destroying it deletes only its runs'
 * Secrets, Jobs and RayJobs; the checkpoints on the shared volume stay.
 */
export async function deployRunStack(ref: { name: string }, o: ProgramOptions = {}): Promise<RunStackOutputs> {
    const sr = new pulumi.StackReference("cluster-stack", { name: ref.name });
    const details = await sr.getOutputDetails(CLUSTER_FACTS_OUTPUT);
    const resolved = loadStack({ clusterFacts: details.value });
    const cfg = resolved.config;
    const f = details.value as ClusterFacts;
    const provider = new k8s.Provider("cluster", { kubeconfig: sr.requireOutput("kubeconfig") as pulumi.Output<string> });
    const runs = deployRuns(resolved.runs, {
        stack: cfg.stack,
        cluster: { provider, gpuNodeGroups: f.gpuNodeGroups },
        namespace: { name: f.namespace },
        storage: { claimName: f.claimName, ready: [] },
        // The cluster stack's add-ons created the node watchers' account (ClusterAddons → NodeWatchAccess).
        addons: { serviceAccountName: f.serviceAccount, ready: [], nodeWatchServiceAccount: f.nodeWatchServiceAccount, ...(f.queue ? { queue: f.queue } : {}) },
        gitCommit: o.gitCommit ?? UNKNOWN_COMMIT,
        // The cluster stack's namespace denies by default: its runs' own policy admits their traffic, as for the cluster stack's runs.
        ...(f.networkPolicy ? { networkPolicy: f.networkPolicy } : {}),
        // A run built on the project EFA image pulls it from the cluster stack's ECR repository.
        ...(resolved.runs.some((x) => x.run.imageChoice.ecrRepositoryName) ? { efaImageRepositoryUrl: sr.getOutput("efaImageRepository") as pulumi.Output<string> } : {}),
    });
    return {
        stack: cfg.stack,
        clusterStack: ref.name,
        trainingNamespace: f.namespace,
        runs: Object.fromEntries(runs.map((j) => [j.jobName, { follow: j.follow, checkpointDir: j.run.paths.checkpointDir }])),
    };
}

/**
 * The whole program: config first (every problem at once, before any resource), then resources.
 * Pulumi calls it without options: the run records then carry the checkout's HEAD commit.
 */
export async function program(o: ProgramOptions = {}): Promise<StackOutputs | RunStackOutputs> {
    const opts = { gitCommit: o.gitCommit ?? gitHead(__dirname) };
    const ref = clusterStackOf(runtimeRawConfig());
    if (ref) return deployRunStack(ref, opts);
    return deploy(loadStack(), opts);
}

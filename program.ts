/**
 * The Pulumi program: read and validate the stack config, then wire the components in order.
 * `index.ts` exports it for `pulumi up`; the offline `plan` command runs the very same function
 * under Pulumi's mock runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import { clusterStackOf, loadConfig, runtimeRawConfig } from "./validation";
import * as k8s from "@pulumi/kubernetes";
import * as fs from "node:fs";
import * as path from "node:path";
import { readLogsCommand } from "./domain/monitoring/logs";
import { runRecordsCommand, UNKNOWN_COMMIT } from "./domain/monitoring/runRecord";
import { type MilesConfig } from "./config";
import { GpuCluster } from "./components/gpuCluster";
import { TrainingNamespace } from "./components/trainingNamespace";
import { CheckpointStorage } from "./components/checkpointStorage";
import { ClusterAddons } from "./components/clusterAddons";
import { MilesTrainingJob, type MilesTrainingJobArgs } from "./components/milesTrainingJob";
import type { AddonsHandle, ClusterHandle, StorageHandle } from "./components/contracts";
import type { RunEntry } from "./config";
import { resolveRun } from "./domain/training/run";
import { prepDirectories } from "./domain/training/prepJobs";
import { CLUSTER_FACTS_OUTPUT, CLUSTER_FACTS_VERSION, runFacts, type ClusterFacts } from "./domain/runStack";
import { nestedPaths } from "./validation/runs";
import { ImageRepository } from "./components/imageRepository";
import { runOf } from "./domain/training/run";
import { trainingPodSecurity } from "./domain/security/namespaces";
import type { FollowCommands } from "./domain/training/rayJob";
import { resolveMonitoring } from "./domain/monitoring/resolve";

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

/**
 * The commit HEAD points to in the git checkout holding `from` (walking up to its `.git`), for the
 * run record; `UNKNOWN_COMMIT` outside a checkout (e.g. the npm package). Reads git's files only
 * (HEAD, the ref, packed-refs; a worktree's `.git` file and `commondir`): no `git` process, so it
 * can neither block nor slow the program. Uncommitted changes are not detected.
 * Formats: https://git-scm.com/docs/gitrepository-layout (HEAD, refs, packed-refs, commondir,
 * worktrees), https://git-scm.com/docs/git-worktree (the `.git` file of a linked worktree).
 */
export function gitHead(from: string): string {
    try {
        let dir = path.resolve(from);
        while (!fs.existsSync(path.join(dir, ".git"))) {
            const up = path.dirname(dir);
            if (up === dir) return UNKNOWN_COMMIT;
            dir = up;
        }
        let gitDir = path.join(dir, ".git");
        if (fs.statSync(gitDir).isFile()) gitDir = path.resolve(dir, fs.readFileSync(gitDir, "utf8").replace(/^gitdir:\s*/, "").trim());
        const common = fs.existsSync(path.join(gitDir, "commondir")) ? path.resolve(gitDir, fs.readFileSync(path.join(gitDir, "commondir"), "utf8").trim()) : gitDir;
        const head = fs.readFileSync(path.join(gitDir, "HEAD"), "utf8").trim();
        const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
        if (ref === undefined) return /^[0-9a-f]{40,64}$/.test(head) ? head : UNKNOWN_COMMIT;
        for (const d of [gitDir, common]) {
            const f = path.join(d, ref);
            if (fs.existsSync(f)) return fs.readFileSync(f, "utf8").trim();
        }
        const packed = path.join(common, "packed-refs");
        const line = fs.existsSync(packed) ? fs.readFileSync(packed, "utf8").split("\n").find((l) => l.endsWith(` ${ref}`)) : undefined;
        return line?.split(" ")[0] ?? UNKNOWN_COMMIT;
    } catch {
        return UNKNOWN_COMMIT;
    }
}

export interface ProgramOptions {
    /**
     * Git commit written into the run records.
     * @default gitHead() of the checkout this program runs from
     */
    gitCommit?: string;
}

/** Wires the components for an already validated config. */
export function deploy(cfg: MilesConfig, o: ProgramOptions = {}): StackOutputs {
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
        provider: cluster.provider,
        dependsOn: cluster.aws?.ready,
        podSecurity: trainingPodSecurity(cfg, cluster.gpuNodeGroups),
        networkPolicies: cfg.addons.networkPolicies.enabled,
    });
    const storage = new CheckpointStorage("storage", { storage: cfg.storage, stack, region, cluster, namespace });
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
    const firstRun = cfg.runs.find((e) => e.training.enabled);
    let repo: ImageRepository | undefined;
    if (firstRun) {
        const choice = runOf({ ...cfg, training: firstRun.training }).imageChoice;
        repo = cluster.eks && choice.ecrRepositoryName ? new ImageRepository("efa-image", { name: choice.ecrRepositoryName, tags: { "miles-cluster/stack": cfg.stack, "miles-cluster/component": "images" } }) : undefined;
        if (repo) outputs.efaImageRepository = repo.url;
    }
    // Who may reach the runs' pods besides each other (domain/security/networkPolicy.ts); the stack's own Prometheus scrapes their metrics ports.
    const monitoring = resolveMonitoring(cfg);
    const networkPolicy = cfg.addons.networkPolicies.enabled
        ? { operatorNamespace: cfg.addons.kuberay.enabled ? cfg.addons.namespace : undefined, metricsNamespaces: [...new Set([...cfg.addons.networkPolicies.metricsNamespaces, ...(monitoring ? [monitoring.namespace] : [])])] }
        : undefined;
    const runs = deployRuns(cfg.runs, { stack: cfg.stack, cluster, namespace, storage, addons, region: cfg.region, networkPolicy, gitCommit: o.gitCommit ?? UNKNOWN_COMMIT, ...(repo ? { efaImageRepositoryUrl: repo.url } : {}) });
    const logs = addons.observability.logs;
    if (runs[0] && logs) outputs.runLogsCommand = readLogsCommand(logs, runs[0].jobName);
    if (runs[0]) outputs.runRecordsCommand = runRecordsCommand(cfg.stack, runs.map((j) => ({ runName: j.run.runName, namespace: j.namespace, checkpointDir: j.run.paths.checkpointDir })), cfg.storage);
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
        queue: addons.queue ?? null,
        gpuNodeGroups: cluster.gpuNodeGroups,
        runs: runs.map((j) => runFacts(j.run)),
    };
    outputs[CLUSTER_FACTS_OUTPUT] = facts;
    return outputs;
}

/**
 * The enabled runs of a stack as MilesTrainingJobs. A stack without `training.runs` keeps its one
 * run's resource names (`training`); named runs are `run-<name>`. Preparation Jobs of runs that
 * write the same directory (a shared model download or conversion) run one after the other.
 */
export function deployRuns(
    runs: RunEntry[],
    ctx: { stack: string; cluster: ClusterHandle; namespace: MilesTrainingJobArgs["namespace"]; storage: StorageHandle; addons: AddonsHandle; region?: string; efaImageRepositoryUrl?: MilesTrainingJobArgs["efaImageRepositoryUrl"]; networkPolicy?: MilesTrainingJobArgs["networkPolicy"]; gitCommit?: string },
): MilesTrainingJob[] {
    const single = runs.length === 1 && runs[0].path === "training";
    const jobs: MilesTrainingJob[] = [];
    const written: Array<{ dirs: string[]; ready: pulumi.Resource[] }> = [];
    for (const run of runs) {
        if (!run.training.enabled) continue;
        const dirs = prepDirectories(resolveRun(run.training, { stack: ctx.stack, gpuNodeGroups: ctx.cluster.gpuNodeGroups }));
        const prepAfter = written.filter((w) => w.dirs.some((d) => dirs.some((e) => nestedPaths(d, e)))).flatMap((w) => w.ready);
        const job = new MilesTrainingJob(single ? "training" : `run-${run.training.runName}`, { ...ctx, training: run.training, prepAfter });
        written.push({ dirs, ready: job.prep.ready });
        jobs.push(job);
    }
    return jobs;
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
    const cfg = loadConfig({ clusterFacts: details.value });
    const f = details.value as ClusterFacts;
    const provider = new k8s.Provider("cluster", { kubeconfig: sr.requireOutput("kubeconfig") as pulumi.Output<string> });
    const runs = deployRuns(cfg.runs, {
        stack: cfg.stack,
        cluster: { provider, gpuNodeGroups: f.gpuNodeGroups },
        namespace: { name: f.namespace },
        storage: { claimName: f.claimName, ready: [] },
        addons: { serviceAccountName: f.serviceAccount, ready: [], ...(f.queue ? { queue: f.queue } : {}) },
        gitCommit: o.gitCommit ?? UNKNOWN_COMMIT,
        // A run built on the project EFA image pulls it from the cluster stack's ECR repository.
        ...(cfg.runs.some((e) => runOf({ ...cfg, training: e.training }).imageChoice.ecrRepositoryName) ? { efaImageRepositoryUrl: sr.getOutput("efaImageRepository") as pulumi.Output<string> } : {}),
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
    const cfg = loadConfig();
    return deploy(cfg, opts);
}

/**
 * Checkpoint preparation before a run: a Job that downloads the Hugging Face checkpoint (and the
 * dataset) to the shared volume, then a GPU Job that converts it to Megatron torch_dist (and the
 * FP8/INT4 rollout variants). Both are idempotent — finished steps are detected on the volume and
 * skipped — so re-running them costs seconds.
 *
 * Pulumi waits for a `batch/v1` Job to complete (its await logic), so `pulumi up` blocks while
 * the model downloads (and, without Kueue, converts): minutes for a 4B model, hours for a 671B one.
 * `timeoutMinutes` raises Pulumi's default 10-minute wait; `pulumi.com/replaceUnready` makes the
 * next `pulumi up` replace (rerun) a Job that failed instead of waiting on it again. With Kueue on,
 * the convert Job (it takes GPUs) is queued and submitted without a wait (issue 22): the queue
 * admits it ahead of the run, which is created after it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { convertJobManifest, convertServiceManifest, downloadJobManifest, hasConversions, hasDownloads, type JobManifest } from "../domain/training/prepJobs";
import type { TrainingContext } from "../domain/training/pod";
import type { ResolvedRun } from "../domain/training/run";
import { transform, type Transform } from "./transform";
import { QUEUE_NAME_LABEL, QUEUED_JOB_ANNOTATIONS } from "../domain/kueue";

export interface ModelPrepArgs {
    /**
     * The resolved run (`resolveRun`): what to download and convert, on which nodes, with which parallelism.
     * @example resolveRun(training, { stack: "prod", gpuNodeGroups: cluster.gpuNodeGroups })
     */
    run: ResolvedRun;
    /**
     * Namespace, claim, service account and Secret the Jobs use.
     * @example { namespace: "miles", claimName: "miles-shared", serviceAccountName: "miles-training", secretName: undefined }
     */
    context: TrainingContext;
    /**
     * Provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * What the Jobs wait for: the shared volume, the service account, the Secret.
     * @default []
     * @example storage.ready
     */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Changes to the args of the download Job, the convert Job and the convert Service.
     * @default none
     * @example { downloadJob: (a) => { a.metadata = { ...a.metadata, labels: { team: "rl" } }; } }
     */
    transform?: {
        downloadJob?: Transform<k8s.batch.v1.JobArgs>;
        convertJob?: Transform<k8s.batch.v1.JobArgs>;
        convertService?: Transform<k8s.core.v1.ServiceArgs>;
    };
}

/**
 * The download and convert Jobs of a run (each only when enabled and needed). The conversion runs
 * on the actor's nodes and parallelism; on more than one node it is an Indexed Job with a headless
 * Service for torchrun's rendezvous.
 */
export class ModelPrep extends pulumi.ComponentResource {
    readonly download?: k8s.batch.v1.Job;
    readonly convert?: k8s.batch.v1.Job;
    /** Headless Service of a multi-node conversion. */
    readonly convertService?: k8s.core.v1.Service;
    /** What the RayJob waits for. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: ModelPrepArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:training:ModelPrep", name, {}, opts);
        const r = args.run;
        const wait = `${r.training.modelPrep.timeoutMinutes}m`;
        const t = args.transform ?? {};
        // A Job in the Kueue queue (the convert Job, with Kueue on) is submitted, not awaited: the queue
        // may hold it back while a run keeps the GPUs (domain/kueue.ts QUEUED_JOB_ANNOTATIONS).
        const job = (suffix: string, m: JobManifest, deps: pulumi.Input<pulumi.Resource>[], jt: Transform<k8s.batch.v1.JobArgs> | undefined) => {
            const queued = m.metadata.labels[QUEUE_NAME_LABEL] !== undefined;
            const annotations = queued ? { ...QUEUED_JOB_ANNOTATIONS } : { "pulumi.com/replaceUnready": "true" };
            return new k8s.batch.v1.Job(
                ...transform(jt, `${name}-${suffix}`, { ...m, metadata: { ...m.metadata, annotations } }, { parent: this, provider: args.provider, dependsOn: deps, ...(queued ? {} : { customTimeouts: { create: wait, update: wait } }) }),
            );
        };
        const deps = args.dependsOn ?? [];
        if (hasDownloads(r)) this.download = job("download", downloadJobManifest(r, args.context), deps, t.downloadJob);
        if (hasConversions(r)) {
            const svc = convertServiceManifest(r, args.context);
            // skipAwait: Pulumi would otherwise wait for ready endpoints, i.e. for the convert pods, which come after it.
            if (svc) {
                const metadata = { ...svc.metadata, annotations: { "pulumi.com/skipAwait": "true" } };
                this.convertService = new k8s.core.v1.Service(...transform(t.convertService, `${name}-convert`, { ...svc, metadata }, { parent: this, provider: args.provider, dependsOn: deps }));
            }
            const after = [...deps, ...(this.download ? [this.download] : []), ...(this.convertService ? [this.convertService] : [])];
            this.convert = job("convert", convertJobManifest(r, args.context), after, t.convertJob);
        }
        this.ready = [this.download, this.convert].filter((j): j is k8s.batch.v1.Job => j !== undefined);
        this.registerOutputs({ download: this.download?.metadata.name, convert: this.convert?.metadata.name });
    }
}

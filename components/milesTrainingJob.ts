/**
 * MilesTrainingJob: one miles RL run per stack, as a KubeRay RayJob (`ray.io/v1`), after the
 * checkpoint preparation Jobs. The run comes resolved (`run`, from the stack's one resolution,
 * domain/stack.ts), or is resolved here once against the cluster handle; its argv, env and manifests are
 * pure functions of that run (domain/training/); this component only registers them in order:
 * Secret → download Job → convert Job → RayJob (which also waits for the shared volume and the
 * add-ons, i.e. the KubeRay CRDs/operator and the device plugins).
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ConfigError, type TrainingConfig } from "../config";
import { trainingProblems } from "../domain/training/rules";
import type { AddonsHandle, ClusterHandle, NamespaceHandle, StorageHandle } from "./contracts";
import { ModelPrep, type ModelPrepArgs } from "./modelPrep";
import { FabricGate, type FabricGateArgs, type FabricGateResult } from "./fabricGate";
import { TrainingSecrets, type TrainingSecretsArgs } from "./trainingSecrets";
import { transform, type Transform } from "./transform";
import { currentStack } from "./defaults";
import { followCommands, RAYJOB_QUEUED_IGNORE_CHANGES, RAYJOB_REPLACE_ON_CHANGES, rayJobManifest, type FollowCommands } from "../domain/training/rayJob";
import { runLabels, runMetricsPorts, runSelector, submitterServiceAccountName, type TrainingContext } from "../domain/training/pod";
import { runPolicy } from "../domain/security/networkPolicy";
import type { ResolvedRun } from "../domain/training/run";
import { resolveStackRun } from "../domain/stack";
import { ecrImageReference } from "../domain/training/image";
import { runPreconditions } from "../domain/fabric/preconditions";
import { runRecordConfigMap, runRecordConfigMapName, UNKNOWN_COMMIT } from "../domain/training/runRecord";
import { instanceFacts, isGpuInstanceType } from "../catalog/instances";
import { runDisruptionBudget } from "../domain/lifecycle/disruption";
import { mayPreempt, queueRef } from "../domain/kueue";
import { blockGroupOf, rayJobSpecHash } from "../domain/lifecycle/jobs";
import { RunLifecycle, type RunLifecycleArgs } from "./runLifecycle";
import { rayDashboardsConfigMap, rayDashboardsRole, rayDashboardsRoleBinding, rayDashboardsTarget } from "../domain/monitoring/rayDashboards";

export interface MilesTrainingJobArgs {
    /**
     * The validated training section (`miles-cluster:training`, defaults applied): what the run is.
     * @example TrainingSchema.parse({ model: { preset: "qwen3-4B" } })
     */
    training: TrainingConfig;
    /**
     * The run as the stack resolved it (`resolveStack(config).runs[i].run`, domain/stack.ts): every object
     * is built from it and the component resolves nothing, so it deploys exactly what validation judged.
     * @default `training` resolved against `cluster`'s GPU node groups (EKS when `cluster.aws` is set, else a
     * bring-your-own cluster), with monitoring as `addons.observability` says
     * @example resolveStack(config).runs[0].run
     */
    run?: ResolvedRun;
    /**
     * Stack name: the default run name is `miles-<stack>`.
     * @default pulumi.getStack()
     * @example "prod"
     */
    stack?: string;
    /**
     * Kubernetes provider and the GPU node groups the run is placed on.
     * @example new GpuCluster("cluster", { cluster: ClusterSchema.parse({ availabilityZone: "us-east-1a" }) })
     */
    cluster: ClusterHandle;
    /**
     * The training namespace (`resource` undefined when another stack owns it, as in a run stack).
     * @example new TrainingNamespace("ns", { provider: cluster.provider })
     */
    namespace: Pick<NamespaceHandle, "name"> & { resource?: pulumi.Resource };
    /**
     * The shared ReadWriteMany volume (mounted at /shared in every pod).
     * @example new CheckpointStorage("storage", { cluster, namespace })
     */
    storage: StorageHandle;
    /**
     * Service account of the pods, and the add-ons the RayJob needs (KubeRay CRDs/operator, device plugins).
     * @example new ClusterAddons("addons", { cluster, namespace, storage })
     */
    addons: AddonsHandle;
    /**
     * Repository URL of the stack's ECR repository holding the project EFA image (`training.image.source:
     * efa-build`); the pods pull `<url>:<tag>` or `<url>@<digest>`.
     * @default undefined (the run's image reference is complete: named or plain miles image)
     * @example new ImageRepository("efa-image", { name: "miles-efa" }).url
     */
    efaImageRepositoryUrl?: pulumi.Input<string>;
    /**
     * What produces the EFA image in that repository (the EfaImageBuild's trigger Jobs, components/imageBuild.ts): every
     * object of the run that pulls it (preparation Jobs, fabric gate, RayJob) is created after them, so none waits
     * on an image no step of the deployment has pushed yet.
     * @default [] (the image exists before the deployment: a named image, or an EFA build pushed beforehand)
     * @example new EfaImageBuild("efa-build", { repository, images, provider, eks }).ready
     */
    efaImageReady?: pulumi.Resource[];
    /**
     * What the preparation Jobs wait for besides the volume and add-ons: the preparation of earlier
     * runs of the stack that write the same directories (one download or conversion at a time per
     * directory; the second finds the first's markers and skips).
     * @default []
     * @example earlierRun.prep.ready
     */
    prepAfter?: pulumi.Resource[];
    /**
     * What the RayJob waits for besides its own preparation, gate and the add-ons: the Jobs Pulumi
     * awaits that need GPUs of the stack's other runs on the same node groups (their `gpuJobs`: fabric
     * gates, conversions). Pulumi never waits for a RayJob, and once admitted it holds its nodes for
     * days: a RayJob created before such a Job of another run could take the only nodes that Job can
     * run on, and `pulumi up` would wait for it until its timeout (several runs sharing fewer nodes
     * than they need together, on a first deploy). A Promise when those runs are built after this
     * one (`deployRuns` in program.ts resolves it once every run exists; Pulumi awaits a Promise in
     * `dependsOn`). This run's own Jobs among them are skipped.
     * @default [] (the RayJob waits only for this run's Jobs)
     * @example otherRuns.flatMap((j) => j.gpuJobs)
     */
    runAfter?: pulumi.Resource[] | Promise<pulumi.Resource[]>;
    /**
     * AWS region of the EKS cluster (the lifecycle Jobs read the FSx export-queue metric there).
     * @default the stack's `aws:region` config
     * @example "us-east-1"
     */
    region?: string;
    /**
     * The run's ingress NetworkPolicy: who besides the run's own pods may reach them.
     * @default none: no policy of the run's own (the namespace's default deny still applies when it has one)
     * @example { operatorNamespace: "miles-system", metricsNamespaces: ["monitoring"] }
     */
    networkPolicy?: { operatorNamespace?: string; metricsNamespaces: string[] };
    /**
     * Git commit the deployment was made from, written into the run record.
     * @default "unknown"
     * @example "4f2c1e9a0b7d3c5e8f1a2b3c4d5e6f7a8b9c0d1e"
     */
    gitCommit?: string;
    /**
     * Changes to the args of the underlying resources, per resource or child component.
     * @default none
     * @example { rayJob: (a) => { a.metadata = { ...a.metadata, annotations: { team: "rl" } }; } }
     */
    transform?: {
        rayJob?: Transform<k8s.apiextensions.CustomResourceArgs>;
        disruptionBudget?: Transform<k8s.policy.v1.PodDisruptionBudgetArgs>;
        submitterServiceAccount?: Transform<k8s.core.v1.ServiceAccountArgs>;
        networkPolicy?: Transform<k8s.networking.v1.NetworkPolicyArgs>;
        /** The ConfigMap with the run record's static part and writer. */
        runRecord?: Transform<k8s.core.v1.ConfigMapArgs>;
        /** The (empty) ConfigMap the head's sidecar writes Ray's Grafana dashboards into (monitoring namespace). */
        rayDashboards?: Transform<k8s.core.v1.ConfigMapArgs>;
        /** The Role allowing get/patch of that ConfigMap only. */
        rayDashboardsRole?: Transform<k8s.rbac.v1.RoleArgs>;
        /** Its binding to the head's service account. */
        rayDashboardsRoleBinding?: Transform<k8s.rbac.v1.RoleBindingArgs>;
        secrets?: TrainingSecretsArgs["transform"];
        prep?: ModelPrepArgs["transform"];
        fabricGate?: FabricGateArgs["transform"];
        lifecycle?: RunLifecycleArgs["transform"];
    };
}

/** A miles RL run: Secret, preparation Jobs and the RayJob. */
export class MilesTrainingJob extends pulumi.ComponentResource {
    /** Name of the RayJob (also of its submitter Kubernetes Job and checkpoint directory). */
    readonly jobName: string;
    readonly namespace: string;
    readonly rayJob: k8s.apiextensions.CustomResource;
    readonly prep: ModelPrep;
    readonly secrets: TrainingSecrets;
    /** The fabric gate the RayJob waits for. */
    readonly fabricGate: FabricGate;
    /**
     * The Jobs of this run that Pulumi awaits and that need the run's GPUs (the convert Job, the
     * fabric gate): what the other runs' RayJobs on the same nodes wait for (`runAfter`).
     */
    readonly gpuJobs: pulumi.Resource[];
    /** What the gate measured (stack output `fabricGate`). */
    readonly fabricGateResult: pulumi.Output<FabricGateResult>;
    /** Service account of the RayJob's submitter pod. */
    readonly submitterServiceAccount: k8s.core.v1.ServiceAccount;
    /** The run's ingress NetworkPolicy, when the stack creates NetworkPolicies. */
    readonly networkPolicy?: k8s.networking.v1.NetworkPolicy;
    /** The resolved run every object here was built from. */
    readonly run: ResolvedRun;
    /** The full shell command the RayJob submits. */
    readonly entrypoint: string;
    /** kubectl commands to follow the run. */
    readonly follow: FollowCommands;
    /** Pre-replacement save, end-of-block save and resume (components/runLifecycle.ts). */
    readonly lifecycle: RunLifecycle;
    /** `maxUnavailable: 0` over the run's Ray pods: a node roll or drain waits for (fails on) the run. */
    readonly disruptionBudget: k8s.policy.v1.PodDisruptionBudget;
    /** ConfigMap `<run>-ray-dashboards` Grafana loads Ray's dashboards from (monitoring on, EKS stacks). */
    readonly rayDashboards?: k8s.core.v1.ConfigMap;

    constructor(name: string, args: MilesTrainingJobArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:training:MilesTrainingJob", name, {}, opts);
        const r =
            args.run ??
            resolveStackRun(args.training, { stack: args.stack ?? currentStack(), gpuNodeGroups: [...args.cluster.gpuNodeGroups], monitoring: args.addons.observability?.monitoring ?? false, platform: args.cluster.aws ? "eks" : "existing" });
        // A program composing this component skips the stack's validation: the run's own rules (the ones
        // `plan` and `pulumi up` of a stack apply) refuse a layout miles would reject, with field paths.
        const errors = trainingProblems(r).filter((p) => p.severity === "error");
        if (errors.length > 0) throw new ConfigError(errors.map(({ path, message }) => ({ path, message })));
        const t = args.transform ?? {};
        this.run = r;
        const provider = args.cluster.provider;
        this.namespace = args.namespace.name;
        this.jobName = r.runName;

        // The job submitter's own identity: no API token, no AWS role (it only calls the head's dashboard).
        this.submitterServiceAccount = new k8s.core.v1.ServiceAccount(
            ...transform(
                t.submitterServiceAccount,
                `${name}-submitter`,
                { metadata: { name: submitterServiceAccountName(r), namespace: this.namespace, labels: runLabels(r, "ray-submitter") }, automountServiceAccountToken: false },
                { parent: this, provider, dependsOn: [...(args.namespace.resource ? [args.namespace.resource] : [])] },
            ),
        );
        if (args.networkPolicy) {
            const m = runPolicy({
                runName: r.runName,
                namespace: this.namespace,
                runSelector: runSelector(r),
                operatorNamespace: args.networkPolicy.operatorNamespace,
                metricsNamespaces: args.networkPolicy.metricsNamespaces,
                metricsPorts: runMetricsPorts(r, { observability: args.addons.observability }),
                labels: runLabels(r, "network-policy"),
            });
            this.networkPolicy = new k8s.networking.v1.NetworkPolicy(
                ...transform(t.networkPolicy, `${name}-ingress`, m, { parent: this, provider, dependsOn: [...(args.namespace.resource ? [args.namespace.resource] : [])] }),
            );
        }
        this.secrets = new TrainingSecrets(`${name}-secrets`, { run: r, namespace: this.namespace, provider, dependsOn: args.namespace.resource ? [args.namespace.resource] : [], transform: t.secrets }, { parent: this });
        const context: TrainingContext = {
            namespace: this.namespace,
            claimName: args.storage.claimName,
            serviceAccountName: args.addons.serviceAccountName,
            secretName: this.secrets.secretName,
            observability: args.addons.observability,
            // The EFA build's reference in the stack's ECR repository; any other image is complete in the config.
            ...(r.imageChoice.source === "efa-build" && args.efaImageRepositoryUrl !== undefined
                ? { image: pulumi.output(args.efaImageRepositoryUrl).apply((url) => ecrImageReference(r.imageChoice, url)) }
                : {}),
            queue: args.addons.queue ? queueRef(args.addons.queue, r.training.priority) : undefined,
            submitterServiceAccountName: submitterServiceAccountName(r),
            saveOnStop: mayPreempt(args.addons.queue),
            runRecordConfigMap: runRecordConfigMapName(r.runName),
        };
        // A queued run checks the conversion and the gate's verdict itself (pulumi up no longer waits for them).
        const preconditions = runPreconditions(r, context);
        if (preconditions) context.preconditions = preconditions;
        // The run record's static part and its writer (the job writes the record next to its checkpoints).
        const facts = r.group?.instanceType && isGpuInstanceType(r.group.instanceType) ? instanceFacts(r.group.instanceType) : undefined;
        const record = runRecordConfigMap(r, { stack: args.stack ?? currentStack(), gitCommit: args.gitCommit ?? UNKNOWN_COMMIT, usdPerNodeHour: facts?.onDemandUsdPerHour.usd }, preconditions);
        const recordMap = new k8s.core.v1.ConfigMap(
            ...transform(t.runRecord, `${name}-run-record`, { ...record, metadata: { ...record.metadata, namespace: this.namespace } }, { parent: this, provider, dependsOn: args.namespace.resource ? [args.namespace.resource] : [] }),
        );
        // Ray's Grafana dashboards: an empty ConfigMap in the monitoring namespace that the head's
        // ray-dashboards sidecar fills (Pulumi ignores its data), and get/patch of it for the head.
        const dashNs = args.addons.observability?.rayDashboardsNamespace;
        const dashboardObjects: pulumi.Resource[] = [];
        if (dashNs !== undefined) {
            const target = rayDashboardsTarget(r.runName, dashNs);
            const cm = rayDashboardsConfigMap(target);
            const after = { parent: this, provider, dependsOn: args.addons.monitoringReady ?? [] };
            this.rayDashboards = new k8s.core.v1.ConfigMap(...transform(t.rayDashboards, `${name}-ray-dashboards`, { metadata: cm.metadata, data: cm.data }, { ...after, ignoreChanges: ["data"] }));
            const role = rayDashboardsRole(target);
            const roleRes = new k8s.rbac.v1.Role(...transform(t.rayDashboardsRole, `${name}-ray-dashboards`, { metadata: role.metadata, rules: role.rules }, after));
            const binding = rayDashboardsRoleBinding(target, { name: args.addons.serviceAccountName, namespace: this.namespace });
            const bindingRes = new k8s.rbac.v1.RoleBinding(
                ...transform(t.rayDashboardsRoleBinding, `${name}-ray-dashboards`, { metadata: binding.metadata, roleRef: binding.roleRef, subjects: binding.subjects }, { ...after, dependsOn: [...after.dependsOn, roleRes] }),
            );
            dashboardObjects.push(this.rayDashboards, bindingRes);
        }
        const base: pulumi.Resource[] = [...(args.namespace.resource ? [args.namespace.resource] : []), ...args.storage.ready, ...(this.secrets.secret ? [this.secrets.secret] : []), ...(this.networkPolicy ? [this.networkPolicy] : [])];
        // The pods that pull the EFA build come after the step that pushes it.
        const image: pulumi.Resource[] = r.imageChoice.source === "efa-build" ? (args.efaImageReady ?? []) : [];
        this.prep = new ModelPrep(`${name}-prep`, { run: r, context, provider, dependsOn: [...base, ...args.addons.ready, ...image, ...(args.prepAfter ?? [])], transform: t.prep }, { parent: this });

        this.fabricGate = new FabricGate(`${name}-fabric`, { run: r, context, provider, dependsOn: [...base, ...args.addons.ready, ...image, ...this.prep.ready], transform: t.fabricGate }, { parent: this });
        this.fabricGateResult = this.fabricGate.result;
        this.gpuJobs = [...(this.prep.convert ? [this.prep.convert] : []), ...this.fabricGate.ready];

        const manifest = rayJobManifest(r, context);
        // The RayJob's inputs depend on the gate's verdict: a failed gate (an error in that output) stops its creation.
        const metadata = { ...manifest.metadata, annotations: { "miles-cluster.io/fabric-gate": this.fabricGate.result.apply((g) => g.status) } };
        this.entrypoint = r.command.entrypoint;
        this.lifecycle = new RunLifecycle(
            `${name}-lifecycle`,
            {
                run: r,
                namespace: this.namespace,
                claimName: args.storage.claimName,
                provider,
                rayJobHash: rayJobSpecHash(manifest),
                fileSystemId: args.storage.fileSystemId,
                eks: args.cluster.aws ? { clusterName: args.cluster.aws.clusterName, region: args.region } : undefined,
                blockWindow: blockGroupOf(r) ? args.cluster.capacityBlockWindows?.[blockGroupOf(r)!.name] : undefined,
                queued: context.queue !== undefined,
                podsSaveOnStop: context.saveOnStop,
                nodeWatchServiceAccount: args.addons.nodeWatchServiceAccount,
                dependsOn: base,
                // With Kueue: its Job webhooks select the run's namespace, so the save Job comes after the release (in addons.ready).
                jobAfter: args.addons.ready,
                transform: t.lifecycle,
            },
            { parent: this },
        );
        // After the pre-replacement save: a changed spec first makes the running run save.
        const ownDeps: pulumi.Resource[] = [...base, ...args.addons.ready, ...image, ...this.prep.ready, ...this.fabricGate.ready, this.submitterServiceAccount, ...(this.lifecycle.preReplaceSave ? [this.lifecycle.preReplaceSave] : []), recordMap, ...dashboardObjects];
        // After the GPU Jobs Pulumi awaits of the other runs on its nodes (`runAfter`): it never takes a node one of them needs.
        const withRunAfter = (extra: pulumi.Resource[]) => [...ownDeps, ...extra.filter((x) => !ownDeps.includes(x))];
        const rayJobDeps = args.runAfter === undefined ? ownDeps : Array.isArray(args.runAfter) ? withRunAfter(args.runAfter) : args.runAfter.then(withRunAfter);
        this.rayJob = new k8s.apiextensions.CustomResource(
            ...transform(t.rayJob, `${name}-rayjob`, { apiVersion: manifest.apiVersion, kind: manifest.kind, metadata, spec: manifest.spec }, {
                parent: this,
                provider,
                dependsOn: rayJobDeps,
                // KubeRay does not apply spec changes to a RayJob that already runs: a changed run is
                // deleted and created again (it resumes from the last checkpoint, --load = --save);
                // only `spec.suspend` changes in place, so pausing keeps the RayJob.
                replaceOnChanges: [...RAYJOB_REPLACE_ON_CHANGES],
                deleteBeforeReplace: true,
                // In a queue, Kueue owns spec.suspend (it unsuspends an admitted RayJob, kueue docs tasks/run/rayjobs.md
                // "Suspend control"): an update of the RayJob (e.g. its metadata) must not apply suspend: true again
                // (domain/training/rayJob.ts RAYJOB_QUEUED_IGNORE_CHANGES).
                ...(context.queue ? { ignoreChanges: [...RAYJOB_QUEUED_IGNORE_CHANGES] } : {}),
            }),
        );
        const pdb = runDisruptionBudget(r, this.namespace);
        this.disruptionBudget = new k8s.policy.v1.PodDisruptionBudget(
            ...transform(t.disruptionBudget, `${name}-pdb`, { metadata: pdb.metadata, spec: pdb.spec }, { parent: this, provider, dependsOn: args.namespace.resource ? [args.namespace.resource] : [] }),
        );
        this.follow = followCommands(r, this.namespace);
        this.registerOutputs({ jobName: this.jobName, namespace: this.namespace, follow: this.follow });
    }
}

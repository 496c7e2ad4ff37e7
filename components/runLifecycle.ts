/**
 * RunLifecycle: what keeps a run's progress through redeploys and Capacity Block ends.
 *
 * - a service account with least privilege (get/patch of this one RayJob; list nodes only for the
 *   block resume; CloudWatch GetMetricStatistics through EKS Pod Identity only when FSx is the storage;
 *   the node watcher's grant only when the cluster gives no node-watch account);
 * - the pre-replacement save Job (domain/lifecycle/jobs.ts), which the RayJob waits for;
 * - on a Capacity Block group: the end-of-block save CronJob and the resume CronJob, scheduled from
 *   the block's window (read from the reservation at deploy);
 * - the run's node watcher (domain/lifecycle/nodeWatch.ts): on a node of the run that the node
 *   monitoring agent marks unhealthy (or that carries our unhealthy taint) it taints the node, records
 *   it, makes the run save and restarts it without the node; on a spot group it also makes the run
 *   save when the interruption handler taints one of its nodes.
 *
 * Verified offline only (manifests, RBAC, the scripts under /bin/sh with stand-ins); the Jobs
 * running against a real KubeRay, FSx and Capacity Block are verified only on a real cluster.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import type { ResolvedRun } from "../domain/training/run";
import { runLabels } from "../domain/training/pod";
import { POD_IDENTITY_TRUST_POLICY } from "../domain/iam";
import type { BlockWindow } from "../domain/lifecycle/capacityBlock";
import { transform, type Transform } from "./transform";
import { configuredRegion } from "./defaults";
import { blockEndSaveCronJob, blockGroupOf, blockResumeCronJob, lifecycleName, lifecycleNodeReaderRole, lifecycleRole, preReplaceSaveJob, type LifecycleContext } from "../domain/lifecycle/jobs";
import { runNodeWatcher } from "../domain/lifecycle/nodeWatch";

export interface RunLifecycleArgs {
    /**
     * The resolved run (its name, sentinel path, node group, lifecycle settings).
     * @example resolveRun(training, { stack, gpuNodeGroups: cluster.gpuNodeGroups })
     */
    run: ResolvedRun;
    /**
     * Namespace of the run.
     * @example "miles"
     */
    namespace: string;
    /**
     * The shared volume's claim.
     * @example storage.claimName
     */
    claimName: string;
    /**
     * Provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * Hash of the RayJob spec the pre-replacement save is for (domain/lifecycle/jobs.ts rayJobSpecHash).
     * @example rayJobSpecHash(rayJobManifest(run, context))
     */
    rayJobHash: string;
    /**
     * FSx for Lustre file system whose export queue the saves wait on.
     * @default none: no export wait
     * @example storage.fileSystemId
     */
    fileSystemId?: pulumi.Output<string>;
    /**
     * EKS cluster (for the Pod Identity association of the CloudWatch reads) and region (`region`
     * defaults to the stack's `aws:region` config).
     * @default none: a bring-your-own cluster, no export wait
     * @example { clusterName: cluster.aws.clusterName, region: "us-east-1" }
     */
    eks?: { clusterName: pulumi.Input<string>; region?: string };
    /**
     * The run's Capacity Block window, when its group is on one.
     * @default none: no end-of-block save or resume CronJob
     * @example cluster.capacityBlockWindows["h100-block"]
     */
    blockWindow?: pulumi.Output<BlockWindow | undefined>;
    /**
     * Kueue manages the RayJob: the end-of-block stop deactivates its Workload, the resume reactivates it.
     * @default false
     * @example true // the cluster runs Kueue (addons.kueue.enabled)
     */
    queued?: boolean;
    /**
     * The run's pods save when they stop (a queue that may preempt): saves record themselves so the deletion after them does not save twice.
     * @default false
     * @example true // addons.kueue.preemption is LowerPriority
     */
    podsSaveOnStop?: boolean;
    /**
     * Service account the run's node watcher runs as (the cluster's node-watch account, ClusterAddons'
     * NodeWatchAccess).
     * @default none: the run's own lifecycle account gets the watcher's grant (pods list/delete, nodes get/list/patch: a per-run ClusterRole)
     * @example addons.nodeWatchServiceAccount
     */
    nodeWatchServiceAccount?: string;
    /**
     * What the Jobs wait for (namespace, volume).
     * @default []
     * @example storage.ready
     */
    dependsOn?: pulumi.Resource[];
    /**
     * What the pre-replacement save Job also waits for: whatever must serve before a Job of the run's
     * namespace can be created — Kueue's release when the cluster runs Kueue. Its Job webhooks
     * mjob.kb.io and vjob.kb.io (kubernetes-sigs/kueue v0.19.2 charts/kueue/templates/webhook/
     * manifests.yaml:157-179 and :822-845, CREATE of batch/v1 jobs) have failurePolicy Fail, no objectSelector and, without a
     * managedJobsNamespaceSelector (domain/kueue.ts sets none), select every namespace but kube-system and
     * Kueue's own: a Job created while Kueue is installed but not serving yet is rejected.
     * @default []
     * @example addons.ready
     */
    jobAfter?: pulumi.Resource[];
    /**
     * Tags of the AWS resources (the CloudWatch reader's role and Pod Identity association).
     * @default none
     * @example { "miles-cluster/stack": "prod" }
     */
    tags?: Record<string, string>;
    /**
     * Changes to the args of the underlying resources.
     * @default none
     * @example { preReplaceSave: (a) => { a.metadata = { ...a.metadata, labels: { team: "rl" } }; } }
     */
    transform?: {
        serviceAccount?: Transform<k8s.core.v1.ServiceAccountArgs>;
        role?: Transform<k8s.rbac.v1.RoleArgs>;
        roleBinding?: Transform<k8s.rbac.v1.RoleBindingArgs>;
        exportConfigMap?: Transform<k8s.core.v1.ConfigMapArgs>;
        preReplaceSave?: Transform<k8s.batch.v1.JobArgs>;
        blockEndSave?: Transform<k8s.batch.v1.CronJobArgs>;
        nodeReaderRole?: Transform<k8s.rbac.v1.ClusterRoleArgs>;
        nodeReaderBinding?: Transform<k8s.rbac.v1.ClusterRoleBindingArgs>;
        blockResume?: Transform<k8s.batch.v1.CronJobArgs>;
        nodeWatch?: Transform<k8s.apps.v1.DeploymentArgs>;
        cloudWatchRole?: Transform<aws.iam.RoleArgs>;
        cloudWatchRolePolicy?: Transform<aws.iam.RolePolicyArgs>;
        cloudWatchPodIdentity?: Transform<aws.eks.PodIdentityAssociationArgs>;
    };
}

export class RunLifecycle extends pulumi.ComponentResource {
    readonly serviceAccountName: string;
    /** The pre-replacement save Job (absent with onRunningChange: restart): the RayJob depends on it. */
    readonly preReplaceSave?: k8s.batch.v1.Job;
    readonly blockEndSave?: k8s.batch.v1.CronJob;
    readonly blockResume?: k8s.batch.v1.CronJob;
    /** The run's node watcher (unhealthy nodes; spot interruptions on a spot group). */
    readonly nodeWatch: k8s.apps.v1.Deployment;

    constructor(name: string, args: RunLifecycleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:training:RunLifecycle", name, {}, opts);
        const r = args.run;
        const t = args.transform ?? {};
        const o = () => ({ parent: this, provider: args.provider });
        this.serviceAccountName = lifecycleName(r, "lifecycle");
        const sa = new k8s.core.v1.ServiceAccount(
            ...transform(t.serviceAccount, `${name}-sa`, { metadata: { name: this.serviceAccountName, namespace: args.namespace, labels: runLabels(r, "lifecycle") } }, { ...o(), dependsOn: args.dependsOn }),
        );
        // Only the Capacity Block stop and resume touch the Kueue Workload.
        const block = blockGroupOf(r)?.capacityBlock;
        const onBlock = args.blockWindow !== undefined && block !== undefined;
        // Without the cluster's node-watch account the run's own account carries the watcher's grant.
        const watcherGrant = args.nodeWatchServiceAccount === undefined;
        const role = lifecycleRole(r, args.namespace, args.queued === true && onBlock, watcherGrant);
        const rbac: pulumi.Resource[] = [sa, new k8s.rbac.v1.Role(...transform(t.role, `${name}-role`, role, { ...o(), dependsOn: args.dependsOn }))];
        rbac.push(
            new k8s.rbac.v1.RoleBinding(
                ...transform(
                    t.roleBinding,
                    `${name}-rolebinding`,
                    { metadata: role.metadata, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name }, subjects: [{ kind: "ServiceAccount", name: this.serviceAccountName, namespace: args.namespace }] },
                    { ...o(), dependsOn: args.dependsOn },
                ),
            ),
        );
        const exportWait = args.fileSystemId !== undefined && args.eks !== undefined;
        if (exportWait) rbac.push(this.cloudWatchReader(name, args));
        const deps = [...(args.dependsOn ?? []), ...rbac];

        const exportConfigMap = exportWait ? lifecycleName(r, "lifecycle-export") : undefined;
        if (exportConfigMap) {
            const region = args.eks?.region ?? configuredRegion() ?? "";
            deps.push(
                new k8s.core.v1.ConfigMap(
                    ...transform(
                        t.exportConfigMap,
                        `${name}-export`,
                        { metadata: { name: exportConfigMap, namespace: args.namespace, labels: runLabels(r, "lifecycle") }, data: { FILE_SYSTEM_ID: args.fileSystemId!, AWS_REGION: region } },
                        { ...o(), dependsOn: args.dependsOn },
                    ),
                ),
            );
        }
        const ctx: LifecycleContext = { namespace: args.namespace, claimName: args.claimName, serviceAccountName: this.serviceAccountName, exportConfigMap, queued: args.queued, podsSaveOnStop: args.podsSaveOnStop };

        const job = preReplaceSaveJob(r, ctx, args.rayJobHash);
        if (job) {
            const timeoutMin = 2 * r.training.lifecycle.saveTimeoutMinutes + 10;
            this.preReplaceSave = new k8s.batch.v1.Job(
                ...transform(
                    t.preReplaceSave,
                    `${name}-presave-${args.rayJobHash}`,
                    { metadata: job.metadata, spec: job.spec },
                    // Pulumi awaits the Job: a save that fails or times out stops the deployment before the RayJob is replaced.
                    { ...o(), dependsOn: [...deps, ...(args.jobAfter ?? [])], customTimeouts: { create: `${timeoutMin}m`, update: `${timeoutMin}m` } },
                ),
            );
        }

        let nodeReader: pulumi.Resource[] = [];
        if ((args.blockWindow && block) || watcherGrant) {
            const nodes = lifecycleNodeReaderRole(r, args.namespace, watcherGrant);
            const nodeRole = new k8s.rbac.v1.ClusterRole(...transform(t.nodeReaderRole, `${name}-nodes`, nodes, o()));
            const nodeBinding = new k8s.rbac.v1.ClusterRoleBinding(
                ...transform(
                    t.nodeReaderBinding,
                    `${name}-nodes`,
                    { metadata: nodes.metadata, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: nodes.metadata.name }, subjects: [{ kind: "ServiceAccount", name: this.serviceAccountName, namespace: args.namespace }] },
                    o(),
                ),
            );
            nodeReader = [nodeRole, nodeBinding];
        }
        if (args.blockWindow && block) {
            const lead = block.saveLeadMinutes;
            const w = args.blockWindow;
            const save = blockEndSaveCronJob(r, ctx, undefined, lead);
            this.blockEndSave = new k8s.batch.v1.CronJob(
                ...transform(t.blockEndSave, `${name}-block-end-save`, { metadata: save.metadata, spec: w.apply((win) => blockEndSaveCronJob(r, ctx, win, lead).spec) }, { ...o(), dependsOn: deps }),
            );
            const resume = blockResumeCronJob(r, ctx, undefined);
            this.blockResume = new k8s.batch.v1.CronJob(
                ...transform(t.blockResume, `${name}-block-resume`, { metadata: resume.metadata, spec: w.apply((win) => blockResumeCronJob(r, ctx, win).spec) }, { ...o(), dependsOn: [...deps, ...nodeReader] }),
            );
        }
        const watcher = runNodeWatcher(r, ctx, args.nodeWatchServiceAccount ?? this.serviceAccountName);
        // After the grant it runs with: the run's own (nodeReader) or the cluster's (in jobAfter: the add-ons' ready).
        this.nodeWatch = new k8s.apps.v1.Deployment(...transform(t.nodeWatch, `${name}-node-watch`, { metadata: watcher.metadata, spec: watcher.spec }, { ...o(), dependsOn: [...deps, ...nodeReader, ...(args.jobAfter ?? [])] }));
        this.registerOutputs({ serviceAccountName: this.serviceAccountName });
    }

    /** IAM role (via EKS Pod Identity) allowed one read-only CloudWatch call: the FSx export-queue metric. */
    private cloudWatchReader(name: string, args: RunLifecycleArgs): pulumi.Resource {
        const t = args.transform ?? {};
        const tags = args.tags;
        const role = new aws.iam.Role(
            ...transform(
                t.cloudWatchRole,
                `${name}-cloudwatch`,
                { description: `miles run lifecycle (${args.namespace}/${this.serviceAccountName}): reads the FSx export-queue metric`, assumeRolePolicy: JSON.stringify(POD_IDENTITY_TRUST_POLICY), tags },
                { parent: this },
            ),
        );
        // GetMetricStatistics has no resource-level permissions (Resource "*"); it reads metrics only.
        new aws.iam.RolePolicy(
            ...transform(
                t.cloudWatchRolePolicy,
                `${name}-cloudwatch`,
                { role: role.id, policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "ReadFsxExportQueue", Effect: "Allow", Action: ["cloudwatch:GetMetricStatistics"], Resource: "*" }] }) },
                { parent: this },
            ),
        );
        return new aws.eks.PodIdentityAssociation(
            ...transform(
                t.cloudWatchPodIdentity,
                `${name}-cloudwatch`,
                { clusterName: args.eks!.clusterName, namespace: args.namespace, serviceAccount: this.serviceAccountName, roleArn: role.arn, tags },
                { parent: this },
            ),
        );
    }
}

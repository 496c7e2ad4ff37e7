/**
 * RunLifecycle: what keeps a run's progress through redeploys and Capacity Block ends.
 *
 * - a service account with least privilege (get/patch of this one RayJob; list nodes only for the
 *   block resume; CloudWatch GetMetricStatistics through EKS Pod Identity only when FSx is the storage);
 * - the pre-replacement save Job (domain/lifecycle/jobs.ts), which the RayJob waits for;
 * - on a Capacity Block group: the end-of-block save CronJob and the resume CronJob, scheduled from
 *   the block's window (read from the reservation at deploy).
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
import { blockEndSaveCronJob, blockResumeCronJob, lifecycleName, lifecycleNodeReaderRole, lifecycleRole, preReplaceSaveJob, type LifecycleContext } from "../domain/lifecycle/jobs";

export interface RunLifecycleArgs {
    /** The resolved run (its name, sentinel path, node group, lifecycle settings). */
    run: ResolvedRun;
    namespace: string;
    /** The shared volume's claim. */
    claimName: string;
    provider: k8s.Provider;
    /** Hash of the RayJob spec the pre-replacement save is for (domain/lifecycle/jobs.ts rayJobSpecHash). */
    rayJobHash: string;
    /** FSx for Lustre file system whose export queue the saves wait on (none: no export wait). */
    fileSystemId?: pulumi.Output<string>;
    /** EKS cluster (for the Pod Identity association of the CloudWatch reads) and region. */
    eks?: { clusterName: pulumi.Input<string>; region?: string };
    /** The run's Capacity Block window, when its group is on one. */
    blockWindow?: pulumi.Output<BlockWindow | undefined>;
    /** What the Jobs wait for (namespace, volume). */
    dependsOn?: pulumi.Resource[];
    /** @default {} */
    tags?: Record<string, string>;
}

export class RunLifecycle extends pulumi.ComponentResource {
    readonly serviceAccountName: string;
    /** The pre-replacement save Job (absent with onRunningChange: restart): the RayJob depends on it. */
    readonly preReplaceSave?: k8s.batch.v1.Job;
    readonly blockEndSave?: k8s.batch.v1.CronJob;
    readonly blockResume?: k8s.batch.v1.CronJob;

    constructor(name: string, args: RunLifecycleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:training:RunLifecycle", name, {}, opts);
        const r = args.run;
        const o = { parent: this, provider: args.provider };
        this.serviceAccountName = lifecycleName(r, "lifecycle");
        const sa = new k8s.core.v1.ServiceAccount(`${name}-sa`, { metadata: { name: this.serviceAccountName, namespace: args.namespace, labels: runLabels(r, "lifecycle") } }, { ...o, dependsOn: args.dependsOn });
        const role = lifecycleRole(r, args.namespace);
        const rbac: pulumi.Resource[] = [sa, new k8s.rbac.v1.Role(`${name}-role`, role, { ...o, dependsOn: args.dependsOn })];
        rbac.push(
            new k8s.rbac.v1.RoleBinding(
                `${name}-rolebinding`,
                { metadata: role.metadata, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name }, subjects: [{ kind: "ServiceAccount", name: this.serviceAccountName, namespace: args.namespace }] },
                { ...o, dependsOn: args.dependsOn },
            ),
        );
        const exportWait = args.fileSystemId !== undefined && args.eks !== undefined;
        if (exportWait) rbac.push(this.cloudWatchReader(name, args));
        const deps = [...(args.dependsOn ?? []), ...rbac];

        const exportConfigMap = exportWait ? lifecycleName(r, "lifecycle-export") : undefined;
        if (exportConfigMap) {
            deps.push(
                new k8s.core.v1.ConfigMap(
                    `${name}-export`,
                    { metadata: { name: exportConfigMap, namespace: args.namespace, labels: runLabels(r, "lifecycle") }, data: { FILE_SYSTEM_ID: args.fileSystemId!, AWS_REGION: args.eks?.region ?? "" } },
                    { ...o, dependsOn: args.dependsOn },
                ),
            );
        }
        const ctx: LifecycleContext = { namespace: args.namespace, claimName: args.claimName, serviceAccountName: this.serviceAccountName, exportConfigMap };

        const job = preReplaceSaveJob(r, ctx, args.rayJobHash);
        if (job) {
            const timeoutMin = 2 * r.training.lifecycle.saveTimeoutMinutes + 10;
            this.preReplaceSave = new k8s.batch.v1.Job(
                `${name}-presave-${args.rayJobHash}`,
                { metadata: job.metadata, spec: job.spec },
                // Pulumi awaits the Job: a save that fails or times out stops the deployment before the RayJob is replaced.
                { ...o, dependsOn: deps, customTimeouts: { create: `${timeoutMin}m`, update: `${timeoutMin}m` } },
            );
        }

        if (args.blockWindow && r.group?.capacityBlock) {
            const lead = r.group.capacityBlock.saveLeadMinutes;
            const w = args.blockWindow;
            const save = blockEndSaveCronJob(r, ctx, undefined, lead);
            this.blockEndSave = new k8s.batch.v1.CronJob(`${name}-block-end-save`, { metadata: save.metadata, spec: w.apply((win) => blockEndSaveCronJob(r, ctx, win, lead).spec) }, { ...o, dependsOn: deps });
            const nodes = lifecycleNodeReaderRole(r, args.namespace);
            const nodeRole = new k8s.rbac.v1.ClusterRole(`${name}-nodes`, nodes, o);
            const nodeBinding = new k8s.rbac.v1.ClusterRoleBinding(
                `${name}-nodes`,
                { metadata: nodes.metadata, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: nodes.metadata.name }, subjects: [{ kind: "ServiceAccount", name: this.serviceAccountName, namespace: args.namespace }] },
                o,
            );
            const resume = blockResumeCronJob(r, ctx, undefined);
            this.blockResume = new k8s.batch.v1.CronJob(`${name}-block-resume`, { metadata: resume.metadata, spec: w.apply((win) => blockResumeCronJob(r, ctx, win).spec) }, { ...o, dependsOn: [...deps, nodeRole, nodeBinding] });
        }
        this.registerOutputs({ serviceAccountName: this.serviceAccountName });
    }

    /** IAM role (via EKS Pod Identity) allowed one read-only CloudWatch call: the FSx export-queue metric. */
    private cloudWatchReader(name: string, args: RunLifecycleArgs): pulumi.Resource {
        const role = new aws.iam.Role(
            `${name}-cloudwatch`,
            { description: `miles run lifecycle (${args.namespace}/${this.serviceAccountName}): reads the FSx export-queue metric`, assumeRolePolicy: JSON.stringify(POD_IDENTITY_TRUST_POLICY), tags: args.tags },
            { parent: this },
        );
        // GetMetricStatistics has no resource-level permissions (Resource "*"); it reads metrics only.
        new aws.iam.RolePolicy(
            `${name}-cloudwatch`,
            { role: role.id, policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "ReadFsxExportQueue", Effect: "Allow", Action: ["cloudwatch:GetMetricStatistics"], Resource: "*" }] }) },
            { parent: this },
        );
        return new aws.eks.PodIdentityAssociation(
            `${name}-cloudwatch`,
            { clusterName: args.eks!.clusterName, namespace: args.namespace, serviceAccount: this.serviceAccountName, roleArn: role.arn, tags: args.tags },
            { parent: this },
        );
    }
}

/**
 * Everything the cluster needs before a miles RayJob can run on it: device plugins (GPUs and EFA
 * become schedulable resources), the KubeRay operator and CRDs, GPU metrics, and the training pods'
 * identity. Each add-on is switchable (`miles-cluster:addons`); on a bring-your-own cluster no AWS
 * resource is created and the EFA plugin is off unless asked for.
 */
import { queueHandle, type QueueHandle } from "../domain/kueue";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { AddonsConfig } from "../config";
import { clusterWideAddonEnabled, dcgmExporterOptions, efaDevicePluginEnabled } from "../domain/addons";
import { podSecurityLabels } from "../domain/security/pods";
import { resolveMonitoring, type TrainingObservability } from "../domain/monitoring/resolve";
import { logShipping } from "../domain/monitoring/logs";
import * as aws from "@pulumi/aws";
import { Monitoring, type MonitoringArgs } from "./monitoring";
import { configuredRegion, currentStack, sectionDefaults } from "./defaults";
import type { AddonsHandle, ClusterHandle, NamespaceHandle, StorageHandle } from "./contracts";
import { EfaDevicePlugin, NvidiaDevicePlugin, type DevicePluginArgs, type EfaDevicePluginArgs } from "./devicePlugins";
import { KubeRay, type KubeRayArgs } from "./kuberay";
import { DcgmExporter, type DcgmExporterArgs } from "./dcgmExporter";
import { NodeHealthCheck, type NodeHealthCheckArgs } from "./nodeHealthCheck";
import { NodeWatchAccess, type NodeWatchAccessArgs } from "./nodeWatchAccess";
import { TrainingIdentity, type TrainingIdentityArgs } from "./trainingIdentity";
import { transform, type Transform } from "./transform";
import { Kueue, type KueueArgs } from "./kueue";
import { partOfLabels, stackTags } from "../domain/labels";

export interface ClusterAddonsArgs {
    /**
     * The add-ons section (`miles-cluster:addons`, validated, defaults applied): which add-ons are
     * installed and how.
     * @default AddonsSchema.parse({}): NVIDIA and EFA device plugins, KubeRay with its CRD job, DCGM exporter, the monitoring stack, Kueue (EFA plugin and monitoring off on a bring-your-own cluster), service account `miles-training` without an S3 grant
     * @example AddonsSchema.parse({ dcgmExporter: { enabled: false } })
     */
    addons?: AddonsConfig;
    /**
     * Stack name, for the tags of the AWS resources (the training role and its Pod Identity association).
     * @default pulumi.getStack()
     * @example "prod"
     */
    stack?: string;
    /**
     * AWS region of the CloudWatch Logs group the training pods ship their Ray logs to (log shipping
     * needs our EKS cluster; unused on a bring-your-own cluster).
     * @default the stack's `aws:region` config
     * @example "us-east-2"
     */
    region?: string;
    /**
     * Provider, GPU node groups and, on our EKS cluster, its name and readiness.
     * @example new GpuCluster("cluster", { cluster: ClusterSchema.parse({ availabilityZone: "us-east-1a" }) })
     */
    cluster: ClusterHandle;
    /**
     * Training namespace: the training service account lives there.
     * @example new TrainingNamespace("ns", { provider: cluster.provider })
     */
    namespace: NamespaceHandle;
    /**
     * Shared storage; with `addons.trainingS3Access` its bucket (if any) is what the training role
     * may read and write.
     * @default no bucket access
     * @example new CheckpointStorage("storage", { cluster, namespace })
     */
    storage?: StorageHandle;
    /**
     * Changes to the args of the underlying resources, per child component (`namespace`: the
     * KubeRay operator's namespace).
     * @default none
     * @example { kuberay: { release: { timeout: 600 } }, identity: { role: { maxSessionDuration: 7200 } } }
     */
    transform?: {
        namespace?: Transform<k8s.core.v1.NamespaceArgs>;
        nvidiaDevicePlugin?: DevicePluginArgs["transform"];
        efaDevicePlugin?: EfaDevicePluginArgs["transform"];
        kuberay?: KubeRayArgs["transform"];
        dcgmExporter?: DcgmExporterArgs["transform"];
        nodeHealthCheck?: NodeHealthCheckArgs["transform"];
        nodeWatchAccess?: NodeWatchAccessArgs["transform"];
        monitoring?: MonitoringArgs["transform"];
        kueue?: KueueArgs["transform"];
        identity?: TrainingIdentityArgs["transform"];
        /** The training pods' CloudWatch Logs group. */
        logGroup?: Transform<aws.cloudwatch.LogGroupArgs>;
    };
}

/** The cluster add-ons; `ready` is what the training RayJob must wait for. */
export class ClusterAddons extends pulumi.ComponentResource implements AddonsHandle {
    readonly serviceAccountName: string;
    readonly ready: pulumi.Resource[];
    readonly nvidiaDevicePlugin?: NvidiaDevicePlugin;
    readonly efaDevicePlugin?: EfaDevicePlugin;
    readonly kuberay?: KubeRay;
    readonly dcgmExporter?: DcgmExporter;
    /** The node check DaemonSets (GPU node groups present): they lift the health-pending startup taint GpuCluster puts on GPU nodes. */
    readonly nodeHealthCheck?: NodeHealthCheck;
    /** The identity of every run's node watcher (nodes: get, list, patch; the namespace's pods: list, delete). */
    readonly nodeWatchAccess: NodeWatchAccess;
    readonly nodeWatchServiceAccount: string;
    readonly kueue?: Kueue;
    readonly queue?: QueueHandle;
    readonly identity: TrainingIdentity;
    readonly monitoring?: Monitoring;
    readonly observability: TrainingObservability;
    /** The monitoring namespace, when the stack runs the monitoring stack. */
    readonly monitoringReady: pulumi.Resource[];
    /** CloudWatch Logs group of the training pods' Ray logs (log shipping on). */
    readonly logGroup?: aws.cloudwatch.LogGroup;

    constructor(name: string, args: ClusterAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:addons:ClusterAddons", name, {}, opts);
        const a = args.addons ?? sectionDefaults.addons();
        // What the add-on decisions (domain/addons.ts, domain/monitoring/) read: this section, whether
        // the cluster is a bring-your-own one (its handle has no AWS facts) and the training namespace.
        const scope = { cluster: { existing: args.cluster.aws ? undefined : "bring-your-own" }, addons: a, training: { namespace: args.namespace.name } };
        const { provider, gpuNodeGroups } = args.cluster;
        // Pods need running nodes and networking (system node group, VPC CNI) before Helm's readiness wait can pass.
        const clusterReady = args.cluster.aws?.ready ?? [];
        const common = { provider, gpuNodeGroups, dependsOn: clusterReady };

        const t = args.transform ?? {};
        if (clusterWideAddonEnabled(scope, "nvidiaDevicePlugin")) this.nvidiaDevicePlugin = new NvidiaDevicePlugin(`${name}-nvidia-device-plugin`, { ...common, transform: t.nvidiaDevicePlugin }, { parent: this });
        if (efaDevicePluginEnabled(scope)) {
            this.efaDevicePlugin = new EfaDevicePlugin(`${name}-efa-device-plugin`, { ...common, imageRepository: a.efaDevicePlugin.imageRepository, transform: t.efaDevicePlugin }, { parent: this });
        }
        // Kueue before KubeRay: KubeRay's CRD job is created once Kueue's Job webhooks serve (KubeRayArgs.crdJobAfter).
        if (clusterWideAddonEnabled(scope, "kueue")) {
            this.kueue = new Kueue(
                `${name}-kueue`,
                { queue: a.kueue, gpuNodeGroups, trainingNamespace: args.namespace.name, provider, dependsOn: [...clusterReady, ...(args.namespace.resource ? [args.namespace.resource] : [])], transform: t.kueue },
                { parent: this },
            );
            this.queue = queueHandle(a.kueue);
        }
        if (clusterWideAddonEnabled(scope, "kuberay")) {
            const ns = this.systemNamespace(name, a.namespace, provider, clusterReady, t.namespace);
            this.kuberay = new KubeRay(
                `${name}-kuberay`,
                { namespace: a.namespace, manageCrds: a.kuberay.manageCrds, provider, dependsOn: [...clusterReady, ns], crdJobAfter: this.kueue ? [this.kueue.release] : [], transform: t.kuberay },
                { parent: this },
            );
        }
        if (clusterWideAddonEnabled(scope, "dcgmExporter")) {
            this.dcgmExporter = new DcgmExporter(`${name}-dcgm-exporter`, { ...common, options: dcgmExporterOptions(scope), transform: t.dcgmExporter }, { parent: this });
        }
        if (gpuNodeGroups.length > 0) {
            const nodeAgentHostEngine = dcgmExporterOptions(scope).nodeAgentHostEngine;
            this.nodeHealthCheck = new NodeHealthCheck(`${name}-node-check`, { provider, gpuNodeGroups, nodeAgentHostEngine, dependsOn: clusterReady, transform: t.nodeHealthCheck }, { parent: this });
        }
        this.nodeWatchAccess = new NodeWatchAccess(
            `${name}-node-watch`,
            { provider, namespace: args.namespace.name, dependsOn: [...clusterReady, ...(args.namespace.resource ? [args.namespace.resource] : [])], transform: t.nodeWatchAccess },
            { parent: this },
        );
        this.nodeWatchServiceAccount = this.nodeWatchAccess.serviceAccountName;
        const monitoring = resolveMonitoring(scope);
        if (monitoring) {
            this.monitoring = new Monitoring(
                `${name}-monitoring`,
                { monitoring, provider, grafanaAdminPassword: a.monitoring.grafana.adminPassword, dependsOn: clusterReady, transform: t.monitoring },
                { parent: this },
            );
        }
        this.observability = { monitoring: monitoring !== undefined };
        if (monitoring?.rayDashboards && args.cluster.aws) this.observability.rayDashboardsNamespace = monitoring.namespace;
        this.monitoringReady = this.monitoring ? [this.monitoring.namespace] : [];
        const stack = args.stack ?? currentStack();
        const logs = args.cluster.aws ? logShipping({ ...scope, stack, region: args.region ?? configuredRegion() }) : undefined;
        if (logs) {
            this.logGroup = new aws.cloudwatch.LogGroup(
                ...transform(t.logGroup, `${name}-training-logs`, { name: logs.logGroupName, retentionInDays: a.logs.retentionDays, tags: stackTags(stack, { component: "training-logs" }) }, { parent: this }),
            );
            this.observability.logs = logs;
        }
        this.identity = new TrainingIdentity(
            `${name}-training-identity`,
            {
                serviceAccountName: a.trainingServiceAccount,
                namespace: args.namespace,
                provider,
                eks: args.cluster.aws ? { clusterName: args.cluster.aws.clusterName } : undefined,
                // Opt-in: FSx does the S3 I/O with its own role; the pods need the grant only for code of their own.
                bucket: a.trainingS3Access ? args.storage?.bucket : undefined,
                logGroupArn: this.logGroup?.arn,
                tags: stackTags(stack),
                transform: t.identity,
            },
            { parent: this },
        );
        this.serviceAccountName = this.identity.serviceAccountName;
        // The RayJob needs: CRDs + operator (else the RayJob is rejected or never reconciled), the
        // device plugins (else its pods stay Pending on Insufficient nvidia.com/gpu), its identity.
        // DCGM is monitoring only and is not waited for.
        this.ready = [
            ...(this.kuberay?.ready ?? []),
            ...(this.nvidiaDevicePlugin ? [this.nvidiaDevicePlugin.release] : []),
            ...(this.efaDevicePlugin ? [this.efaDevicePlugin.release] : []),
            // A queued job needs Kueue's webhook (it would otherwise start unsuspended) and its LocalQueue.
            ...(this.kueue?.ready ?? []),
            ...this.identity.ready,
            ...this.nodeWatchAccess.ready,
        ];
        this.registerOutputs({ serviceAccountName: this.serviceAccountName });
    }

    /** The namespace of the KubeRay operator and its CRD job (a resource of ours: deleted with the stack). */
    private systemNamespace(name: string, nsName: string, provider: k8s.Provider, dependsOn: pulumi.Resource[], t: Transform<k8s.core.v1.NamespaceArgs> | undefined): k8s.core.v1.Namespace {
        return new k8s.core.v1.Namespace(
            ...transform(
                t,
                `${name}-namespace`,
                // The KubeRay operator chart runs restricted-compliant (kuberay v1.7.0 helm-chart/kuberay-operator/values.yaml
                // securityContext), and so does the CRD job: the namespace enforces `restricted`.
                { metadata: { name: nsName, labels: { ...partOfLabels(), ...podSecurityLabels("restricted") } } },
                { parent: this, provider, dependsOn },
            ),
        );
    }
}

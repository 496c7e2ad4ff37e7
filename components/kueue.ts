/**
 * Kueue: the queue with gang admission every run of the stack waits in. The pinned chart (its CRDs
 * are templates, so they upgrade with the chart), then the objects of domain/kueue.ts as typed
 * custom resources: a ResourceFlavor per GPU node group, the ClusterQueue (quota = the GPUs and EFA
 * devices the groups provision), the LocalQueue in the training namespace, and the
 * WorkloadPriorityClasses `training.priority` names.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { podSecurityLabels } from "../domain/security/pods";
import type { GpuNodeGroupInfo } from "../domain/gpuNodes";
import { CHARTS } from "../catalog/versions";
import { helmAddon, type ReleasePolicy } from "./helmAddon";
import { transform, type Transform } from "./transform";
import { clusterQueueManifest, KUEUE_NAMESPACE, kueueValues, localQueueManifest, priorityClassManifests, resourceFlavorManifest, type KueueConfig } from "../domain/kueue";
import { partOfLabels } from "../domain/labels";

/** The controller and its webhooks must be up before a queued job is created (its webhook suspends it): wait, roll back on failure. */
export const KUEUE_POLICY: ReleasePolicy = { atomic: true, timeout: 600 };

export interface KueueArgs {
    /**
     * `addons.kueue`: queue names, queueing strategy, preemption.
     * @example { enabled: true, clusterQueue: "miles", localQueue: "miles", queueingStrategy: "BestEffortFIFO", preemption: "Never" }
     */
    queue: KueueConfig;
    /**
     * GPU node groups: one ResourceFlavor each, their GPUs are the quota.
     * @example cluster.gpuNodeGroups
     */
    gpuNodeGroups: GpuNodeGroupInfo[];
    /**
     * Namespace of the LocalQueue (the training namespace; created by the caller).
     * @example "miles"
     */
    trainingNamespace: string;
    /**
     * Provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * What the release waits for (nodes, the training namespace).
     * @default []
     * @example [...cluster.aws.ready, namespace.resource]
     */
    dependsOn?: pulumi.Resource[];
    /**
     * Changes to the args of the underlying resources (`queueObject`: every ResourceFlavor,
     * WorkloadPriorityClass, the ClusterQueue and the LocalQueue; a function gets the name to tell them apart).
     * @default none
     * @example { release: { timeout: 900 } }
     */
    transform?: {
        namespace?: Transform<k8s.core.v1.NamespaceArgs>;
        release?: Transform<k8s.helm.v3.ReleaseArgs>;
        queueObject?: Transform<k8s.apiextensions.CustomResourceArgs>;
    };
}

/** The Kueue release and the queue objects; `ready` is what a queued job waits for. */
export class Kueue extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;
    readonly clusterQueue: k8s.apiextensions.CustomResource;
    readonly localQueue: k8s.apiextensions.CustomResource;
    readonly flavors: k8s.apiextensions.CustomResource[];
    readonly priorityClasses: k8s.apiextensions.CustomResource[];
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: KueueArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:addons:Kueue", name, {}, opts);
        const t = args.transform ?? {};
        const ns = new k8s.core.v1.Namespace(
            ...transform(
                t.namespace,
                `${name}-namespace`,
                // The Kueue chart's controller is restricted-compliant (kubernetes-sigs/kueue v0.19.2 charts/kueue/values.yaml
                // podSecurityContext/containerSecurityContext): the namespace enforces `restricted`.
                { metadata: { name: KUEUE_NAMESPACE, labels: { ...partOfLabels(), ...podSecurityLabels("restricted") } } },
                { parent: this, provider: args.provider, dependsOn: args.dependsOn },
            ),
        );
        this.release = helmAddon(
            name,
            { pin: CHARTS.kueue, releaseName: "kueue", namespace: KUEUE_NAMESPACE, values: kueueValues(), policy: KUEUE_POLICY, provider: args.provider, dependsOn: [...(args.dependsOn ?? []), ns], transform: t.release },
            this,
        );
        const cr = (suffix: string, m: { apiVersion: string; kind: string; metadata: object; [k: string]: unknown }, deps: pulumi.Resource[] = []) => {
            const { apiVersion, kind, metadata, ...rest } = m;
            return new k8s.apiextensions.CustomResource(
                ...transform(t.queueObject, `${name}-${suffix}`, { apiVersion, kind, metadata, ...rest }, { parent: this, provider: args.provider, dependsOn: [this.release, ...deps] }),
            );
        };
        this.flavors = args.gpuNodeGroups.map((g) => cr(`flavor-${g.name}`, resourceFlavorManifest(args.queue, g)));
        this.priorityClasses = priorityClassManifests(args.queue).map((m) => cr(`priority-${m.metadata.name}`, m));
        this.clusterQueue = cr("cluster-queue", clusterQueueManifest(args.queue, args.gpuNodeGroups, args.trainingNamespace), this.flavors);
        this.localQueue = cr("local-queue", localQueueManifest(args.queue, args.trainingNamespace), [this.clusterQueue]);
        this.ready = [this.release, this.localQueue, ...this.priorityClasses];
        this.registerOutputs({ clusterQueue: args.queue.clusterQueue, localQueue: args.queue.localQueue });
    }
}

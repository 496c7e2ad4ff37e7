/**
 * The node check on every GPU node (issue 22): one DaemonSet per GPU node group whose pod, once per
 * node boot, runs `dcgmi diag -r 2` and the EFA device count, then removes the node's health-pending
 * startup taint or keeps the node out with the unhealthy taint and the reason (the scripts and the
 * pod: domain/health/nodeCheck.ts). Its identity may only get and patch nodes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { GpuNodeGroupInfo } from "../domain/gpuNodes";
import { NODE_AGENT_NAMESPACE } from "../domain/addons";
import { nodeCheckPodSpec, NODE_CHECK_RULES } from "../domain/health/nodeCheck";
import { partOfLabels } from "../domain/labels";
import { LABEL_NODE_GROUP } from "../catalog/nodeLabels";
import { transform, type Transform } from "./transform";

export const NODE_CHECK_NAME = "miles-node-check";

export interface NodeHealthCheckArgs {
    /**
     * Kubernetes provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * GPU node groups to check (one DaemonSet each: its nodes' expected EFA device count).
     * @example cluster.gpuNodeGroups
     */
    gpuNodeGroups: GpuNodeGroupInfo[];
    /**
     * Run the diagnostic in the EKS node monitoring agent's DCGM host engine on the node (our EKS
     * cluster) instead of starting one in the pod (bring-your-own cluster).
     * @example true
     */
    nodeAgentHostEngine: boolean;
    /**
     * Resources to create first (the cluster's node groups and add-ons).
     * @default none
     * @example cluster.aws?.ready
     */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Changes to the args of the underlying resources.
     * @default none
     * @example { daemonSet: (args) => { args.metadata = { ...args.metadata, labels: { team: "rl" } }; } }
     */
    transform?: {
        serviceAccount?: Transform<k8s.core.v1.ServiceAccountArgs>;
        clusterRole?: Transform<k8s.rbac.v1.ClusterRoleArgs>;
        clusterRoleBinding?: Transform<k8s.rbac.v1.ClusterRoleBindingArgs>;
        daemonSet?: Transform<k8s.apps.v1.DaemonSetArgs>;
    };
}

/** The node check DaemonSets, their service account and its node get/patch grant. */
export class NodeHealthCheck extends pulumi.ComponentResource {
    readonly daemonSets: k8s.apps.v1.DaemonSet[];

    constructor(name: string, args: NodeHealthCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:addons:NodeHealthCheck", name, {}, opts);
        const t = args.transform ?? {};
        const o = { parent: this, provider: args.provider };
        const metadata = { name: NODE_CHECK_NAME, namespace: NODE_AGENT_NAMESPACE, labels: partOfLabels() };
        const sa = new k8s.core.v1.ServiceAccount(...transform(t.serviceAccount, `${name}-sa`, { metadata }, { ...o, dependsOn: args.dependsOn }));
        const role = new k8s.rbac.v1.ClusterRole(...transform(t.clusterRole, `${name}-role`, { metadata: { name: NODE_CHECK_NAME, labels: partOfLabels() }, rules: NODE_CHECK_RULES }, o));
        const binding = new k8s.rbac.v1.ClusterRoleBinding(
            ...transform(
                t.clusterRoleBinding,
                `${name}-binding`,
                {
                    metadata: { name: NODE_CHECK_NAME, labels: partOfLabels() },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: NODE_CHECK_NAME },
                    subjects: [{ kind: "ServiceAccount", name: NODE_CHECK_NAME, namespace: NODE_AGENT_NAMESPACE }],
                },
                o,
            ),
        );
        this.daemonSets = args.gpuNodeGroups.map((g) => {
            const labels = { ...partOfLabels(), "app.kubernetes.io/name": NODE_CHECK_NAME, [LABEL_NODE_GROUP]: g.name };
            return new k8s.apps.v1.DaemonSet(
                ...transform(
                    t.daemonSet,
                    `${name}-${g.name}`,
                    {
                        metadata: { name: `${NODE_CHECK_NAME}-${g.name}`, namespace: NODE_AGENT_NAMESPACE, labels, annotations: { "pulumi.com/skipAwait": "true" } },
                        spec: {
                            selector: { matchLabels: { "app.kubernetes.io/name": NODE_CHECK_NAME, [LABEL_NODE_GROUP]: g.name } },
                            template: { metadata: { labels }, spec: nodeCheckPodSpec(g, { nodeAgentHostEngine: args.nodeAgentHostEngine, serviceAccountName: NODE_CHECK_NAME }) },
                        },
                    },
                    // Not awaited: a node's check takes minutes and GPU groups may have no node yet (scale from zero, a Capacity Block not started).
                    { ...o, dependsOn: [sa, role, binding] },
                ),
            );
        });
        this.registerOutputs({ daemonSets: this.daemonSets.map((d) => d.metadata.name) });
    }
}

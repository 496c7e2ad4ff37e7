/**
 * The identity every run's node watcher (domain/lifecycle/nodeWatch.ts) runs as: a service account in
 * the training namespace with the watcher's grant (domain/lifecycle/jobs.ts NODE_WATCH_RULES): list
 * and delete pods in that namespace, get, list and patch nodes. Created with the cluster's add-ons,
 * so that a run stack (`cluster.clusterStack`), which may create no cluster-scoped object, has it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { NODE_WATCH_RULES, NODE_WATCH_SERVICE_ACCOUNT } from "../domain/lifecycle/jobs";
import { partOfLabels } from "../domain/labels";
import { transform, type Transform } from "./transform";

export interface NodeWatchAccessArgs {
    /**
     * Kubernetes provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * The training namespace (where the runs and their watchers are).
     * @example namespace.name
     */
    namespace: string;
    /**
     * Resources to create first (the namespace).
     * @default none
     * @example [namespace]
     */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
    /**
     * Changes to the args of the underlying resources.
     * @default none
     * @example { clusterRole: (args) => { args.metadata = { ...args.metadata, labels: { team: "rl" } }; } }
     */
    transform?: {
        serviceAccount?: Transform<k8s.core.v1.ServiceAccountArgs>;
        role?: Transform<k8s.rbac.v1.RoleArgs>;
        roleBinding?: Transform<k8s.rbac.v1.RoleBindingArgs>;
        clusterRole?: Transform<k8s.rbac.v1.ClusterRoleArgs>;
        clusterRoleBinding?: Transform<k8s.rbac.v1.ClusterRoleBindingArgs>;
    };
}

/** The node watchers' service account and its grants. */
export class NodeWatchAccess extends pulumi.ComponentResource {
    readonly serviceAccountName: string;
    /** What a watcher's Deployment waits for. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: NodeWatchAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:addons:NodeWatchAccess", name, {}, opts);
        const t = args.transform ?? {};
        const o = { parent: this, provider: args.provider, dependsOn: args.dependsOn };
        this.serviceAccountName = NODE_WATCH_SERVICE_ACCOUNT;
        const labels = partOfLabels();
        const metadata = { name: NODE_WATCH_SERVICE_ACCOUNT, namespace: args.namespace, labels };
        const subjects = [{ kind: "ServiceAccount", name: NODE_WATCH_SERVICE_ACCOUNT, namespace: args.namespace }];
        const sa = new k8s.core.v1.ServiceAccount(...transform(t.serviceAccount, `${name}-sa`, { metadata }, o));
        const role = new k8s.rbac.v1.Role(...transform(t.role, `${name}-role`, { metadata, rules: NODE_WATCH_RULES.namespaced }, o));
        const roleBinding = new k8s.rbac.v1.RoleBinding(
            ...transform(t.roleBinding, `${name}-rolebinding`, { metadata, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: NODE_WATCH_SERVICE_ACCOUNT }, subjects }, o),
        );
        // Cluster-scoped: one per training namespace.
        const clusterName = `${args.namespace}-${NODE_WATCH_SERVICE_ACCOUNT}`;
        const clusterRole = new k8s.rbac.v1.ClusterRole(...transform(t.clusterRole, `${name}-nodes`, { metadata: { name: clusterName, labels }, rules: NODE_WATCH_RULES.nodes }, o));
        const clusterRoleBinding = new k8s.rbac.v1.ClusterRoleBinding(
            ...transform(t.clusterRoleBinding, `${name}-nodes`, { metadata: { name: clusterName, labels }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterName }, subjects }, o),
        );
        this.ready = [sa, role, roleBinding, clusterRole, clusterRoleBinding];
        this.registerOutputs({ serviceAccountName: this.serviceAccountName });
    }
}

/**
 * The KubeRay operator and its CRDs.
 *
 * Helm installs a chart's `crds/` once and never upgrades them (ray-project/kuberay #3133), so a
 * KubeRay upgrade through Helm alone leaves old CRDs behind and new RayJob fields are silently
 * pruned. Here the Helm release skips its CRDs, and a Kubernetes Job named after the pinned version
 * applies the CRDs of exactly that version with server-side apply (the CRDs are 0.8-1.4 MB each:
 * too big for client-side apply's last-applied annotation and for a ConfigMap). Bumping
 * `CHARTS.kuberayOperator.version` renames the Job, so Pulumi replaces it and the new CRDs are
 * applied before the operator is upgraded (the release depends on the Job).
 *
 * The Job downloads the CRD files at deploy time, inside the cluster (nothing is fetched at plan
 * time), from the version's git tag, and refuses any file whose sha256 differs from the pins in
 * `catalog/versions.ts`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { CHARTS, IMAGES, KUBERAY_CRDS, imageRef } from "../catalog/versions";
import { helmAddon, type ReleasePolicy } from "./helmAddon";
import { crdJobName, crdFetchScript, crdApplyArgs } from "../domain/kuberay";
import { partOfLabels } from "../domain/labels";
import { transform, type Transform } from "./transform";
import { sectionDefaults } from "./defaults";

export interface KubeRayArgs {
    /**
     * Namespace of the operator and the CRD job (created by the caller).
     * @default "miles-system" (the stack default, `addons.namespace`)
     * @example "kuberay"
     */
    namespace?: string;
    /**
     * Apply the CRDs with a versioned Job (true) or let Helm install them once (false).
     * @default true
     * @example false
     */
    manageCrds?: boolean;
    /**
     * Provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * What the operator and the CRD job wait for (nodes and networking, the namespace).
     * @default []
     * @example [...cluster.aws.ready, namespace]
     */
    dependsOn?: pulumi.Resource[];
    /**
     * What the CRD job alone also waits for: whatever must serve before a Job of `namespace` can be
     * created — the Kueue release when the cluster runs Kueue. Kueue's Job webhooks mjob.kb.io and
     * vjob.kb.io (kubernetes-sigs/kueue v0.19.2 charts/kueue/templates/webhook/manifests.yaml:157-179
     * and :822-845, CREATE of batch/v1 jobs) have failurePolicy Fail, no objectSelector and, without a
     * managedJobsNamespaceSelector (domain/kueue.ts sets none), select every namespace but kube-system
     * and Kueue's own, so also this one: a Job created while Kueue is installed but not serving yet is
     * rejected. (The operator release does not wait for it: it creates no Job.)
     * @default []
     * @example [kueue.release]
     */
    crdJobAfter?: pulumi.Resource[];
    /**
     * Changes to the args of the underlying resources (the CRD job's only with `manageCrds`).
     * @default none
     * @example { release: { timeout: 600 } }
     */
    transform?: {
        release?: Transform<k8s.helm.v3.ReleaseArgs>;
        crdServiceAccount?: Transform<k8s.core.v1.ServiceAccountArgs>;
        crdClusterRole?: Transform<k8s.rbac.v1.ClusterRoleArgs>;
        crdClusterRoleBinding?: Transform<k8s.rbac.v1.ClusterRoleBindingArgs>;
        crdJob?: Transform<k8s.batch.v1.JobArgs>;
    };
}

/** The args with their defaults applied. */
type Resolved = KubeRayArgs & Required<Pick<KubeRayArgs, "namespace" | "manageCrds">>;

/** Operator: roll back a failed upgrade; it is one small Deployment, 5 minutes is plenty. */
export const KUBERAY_POLICY: ReleasePolicy = { atomic: true, timeout: 300 };




const RESTRICTED_CONTAINER = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
};

/** KubeRay operator (Helm) plus, unless disabled, the versioned CRD job it waits for. */
export class KubeRay extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;
    /** The CRD job; undefined when Helm manages the CRDs. */
    readonly crdJob?: k8s.batch.v1.Job;
    /** What a RayJob must wait for: the CRDs and a ready operator. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: KubeRayArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:addons:KubeRay", name, {}, opts);
        const defaults = sectionDefaults.addons();
        const a: Resolved = { ...args, namespace: args.namespace ?? defaults.namespace, manageCrds: args.manageCrds ?? defaults.kuberay.manageCrds };
        const version = CHARTS.kuberayOperator.version;
        this.crdJob = a.manageCrds ? this.crdJobFor(name, version, a) : undefined;
        this.release = helmAddon(
            name,
            {
                pin: CHARTS.kuberayOperator,
                releaseName: "kuberay-operator",
                namespace: a.namespace,
                values: {},
                policy: KUBERAY_POLICY,
                provider: a.provider,
                skipCrds: a.manageCrds,
                dependsOn: [...(a.dependsOn ?? []), ...(this.crdJob ? [this.crdJob] : [])],
                transform: a.transform?.release,
            },
            this,
        );
        this.ready = [...(this.crdJob ? [this.crdJob] : []), this.release];
        this.registerOutputs({ release: this.release.name, crdJob: this.crdJob?.metadata.name });
    }

    /** ServiceAccount + ClusterRole (CRDs of KubeRay only) + binding + the Job applying the CRDs. */
    private crdJobFor(name: string, version: string, args: Resolved): k8s.batch.v1.Job {
        const opts = () => ({ parent: this, provider: args.provider, dependsOn: args.dependsOn });
        const t = args.transform ?? {};
        const saName = "kuberay-crd-installer";
        const sa = new k8s.core.v1.ServiceAccount(...transform(t.crdServiceAccount, `${name}-crd-installer`, { metadata: { name: saName, namespace: args.namespace } }, opts()));
        const role = new k8s.rbac.v1.ClusterRole(
            ...transform(t.crdClusterRole, `${name}-crd-installer`, {
                metadata: { name: "miles-cluster-kuberay-crd-installer" },
                rules: [
                    // Server-side apply of a missing object is a PATCH that creates: both verbs are checked.
                    // `create` cannot be limited by name (the name is not known at authorization time).
                    { apiGroups: ["apiextensions.k8s.io"], resources: ["customresourcedefinitions"], verbs: ["create"] },
                    { apiGroups: ["apiextensions.k8s.io"], resources: ["customresourcedefinitions"], verbs: ["get", "patch"], resourceNames: KUBERAY_CRDS.map((c) => c.name) },
                ],
            },
            opts()),
        );
        const binding = new k8s.rbac.v1.ClusterRoleBinding(
            ...transform(t.crdClusterRoleBinding, `${name}-crd-installer`, {
                metadata: { name: "miles-cluster-kuberay-crd-installer" },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
                subjects: [{ kind: "ServiceAccount", name: saName, namespace: args.namespace }],
            },
            opts()),
        );
        return new k8s.batch.v1.Job(
            ...transform(t.crdJob, `${name}-crds`, {
                metadata: {
                    name: crdJobName(version),
                    namespace: args.namespace,
                    labels: { "app.kubernetes.io/name": "kuberay-crds", "app.kubernetes.io/version": version, ...partOfLabels() },
                    // A Job that failed once (e.g. no egress yet) is replaced on the next `pulumi up` instead of awaited forever.
                    annotations: { "pulumi.com/replaceUnready": "true" },
                },
                spec: {
                    backoffLimit: 3,
                    activeDeadlineSeconds: 600,
                    template: {
                        metadata: { labels: { "app.kubernetes.io/name": "kuberay-crds" } },
                        spec: {
                            serviceAccountName: saName,
                            // It applies the CRDs: the one pod here that needs the Kubernetes API.
                            automountServiceAccountToken: true,
                            enableServiceLinks: false,
                            restartPolicy: "Never",
                            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } },
                            volumes: [
                                { name: "crds", emptyDir: {} },
                                { name: "tmp", emptyDir: {} },
                            ],
                            initContainers: [
                                {
                                    name: "fetch",
                                    image: imageRef(IMAGES.curl),
                                    command: ["sh", "-c", crdFetchScript(version)],
                                    volumeMounts: [{ name: "crds", mountPath: "/crds" }],
                                    securityContext: RESTRICTED_CONTAINER,
                                    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
                                },
                            ],
                            containers: [
                                {
                                    name: "apply",
                                    image: imageRef(IMAGES.kubectl),
                                    command: ["/bin/kubectl"],
                                    args: crdApplyArgs(),
                                    env: [{ name: "HOME", value: "/tmp" }],
                                    volumeMounts: [
                                        { name: "crds", mountPath: "/crds", readOnly: true },
                                        { name: "tmp", mountPath: "/tmp" },
                                    ],
                                    securityContext: RESTRICTED_CONTAINER,
                                    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
                                },
                            ],
                        },
                    },
                },
            },
            { ...opts(), dependsOn: [...(args.dependsOn ?? []), sa, binding, ...(args.crdJobAfter ?? [])], deleteBeforeReplace: true, customTimeouts: { create: "10m", update: "10m" } }),
        );
    }
}

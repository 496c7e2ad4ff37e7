/**
 * NetworkPolicies of the training namespace and of each run. Pure manifests. Who may reach a run:
 * its own pods (head, workers, job submitter, preparation Jobs: Ray, NCCL bootstrap and torchrun
 * use many ports), and the KubeRay operator's namespace on the dashboard port only (the RayJob
 * controller polls job status through the dashboard's HTTP API). Everything else is denied.
 * Sources: KubeRay v1.7.0 ray-operator/controllers/ray/networkpolicy_controller.go (KubeRay's own
 * model: all ports between the pods of one RayCluster, the submitter to the head's dashboard port)
 * and ray-operator/controllers/ray/utils/constant.go (ports: GCS 6379, dashboard 8265, client
 * 10001, metrics 8080); Kubernetes NetworkPolicy semantics,
 * https://kubernetes.io/docs/concepts/services-networking/network-policies/. Enforced only where
 * the CNI enforces NetworkPolicy (EKS: VPC CNI with `enableNetworkPolicy`, set by this stack);
 * EFA/RDMA traffic bypasses the IP stack and is not filtered.
 */

import type * as k8s from "@pulumi/kubernetes";
import type { MilesConfig } from "../../config";
import { resolveMonitoring } from "../monitoring/resolve";
import { clusterWideAddonEnabled } from "../addons";

type Spec = k8s.types.input.networking.v1.NetworkPolicySpec;

/** Ray's ports (KubeRay v1.7.0 ray-operator/controllers/ray/utils/constant.go). */
export const RAY_PORTS = { gcs: 6379, dashboard: 8265, client: 10001, metrics: 8080 } as const;

/** The instance metadata service: pods get AWS credentials from Pod Identity, never from the node role. */
export const IMDS_CIDR = "169.254.169.254/32";

export interface NetworkPolicyManifest {
    apiVersion: "networking.k8s.io/v1";
    kind: "NetworkPolicy";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    spec: Spec;
}

const LABELS = { "app.kubernetes.io/part-of": "miles-cluster" };
const TCP = "TCP";

function policy(name: string, namespace: string, spec: Spec, labels: Record<string, string> = LABELS): NetworkPolicyManifest {
    return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace, labels }, spec };
}

function namespaceSelector(name: string) {
    // Every namespace carries this label (Kubernetes >= 1.22, immutable).
    return { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": name } } };
}

/**
 * Namespace-wide: deny every ingress and egress, then allow egress to DNS (kube-system), to the
 * namespace's own pods, and to anything outside the cluster but the instance metadata service
 * (model/dataset downloads, W&B, S3 through the gateway endpoint, image registries, Pod Identity's
 * agent at 169.254.170.23).
 */
export function namespacePolicies(namespace: string): NetworkPolicyManifest[] {
    return [
        policy("default-deny", namespace, { podSelector: {}, policyTypes: ["Ingress", "Egress"] }),
        policy("allow-egress", namespace, {
            podSelector: {},
            policyTypes: ["Egress"],
            egress: [
                { to: [{ ...namespaceSelector("kube-system"), podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }], ports: [{ protocol: "UDP", port: 53 }, { protocol: TCP, port: 53 }] },
                { to: [{ podSelector: {} }] },
                { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: [IMDS_CIDR] } }] },
            ],
        }),
    ];
}

/**
 * Who besides a run's own pods may reach them, as the stack that owns the training namespace
 * decided it: the KubeRay operator's namespace (dashboard port) and the namespaces that scrape the
 * runs' metrics ports. Plain data: a cluster stack passes it to its own runs and exports it in its
 * facts (domain/runStack.ts), so a run stack's runs get the very same per-run policy.
 */
export interface RunNetworkPolicy {
    /** Namespace of the KubeRay operator; absent when the stack does not install it. */
    operatorNamespace?: string;
    /** Namespaces allowed to scrape the runs' metrics ports (`metricsNamespaces` and the stack's own monitoring namespace). */
    metricsNamespaces: string[];
}

/**
 * The run NetworkPolicy settings of a cluster stack, or undefined when it creates no
 * NetworkPolicies (`addons.networkPolicies.enabled: false`): the one place this is decided, for the
 * stack's own runs and for its facts.
 */
export function runNetworkPolicy(cfg: Parameters<typeof resolveMonitoring>[0] & Pick<MilesConfig, "addons">): RunNetworkPolicy | undefined {
    if (!cfg.addons.networkPolicies.enabled) return undefined;
    const monitoring = resolveMonitoring(cfg);
    const metricsNamespaces = [...new Set([...cfg.addons.networkPolicies.metricsNamespaces, ...(monitoring ? [monitoring.namespace] : [])])];
    return { ...(clusterWideAddonEnabled(cfg, "kuberay") ? { operatorNamespace: cfg.addons.namespace } : {}), metricsNamespaces };
}

export interface RunPolicyInput {
    runName: string;
    namespace: string;
    /** Labels every pod of the run carries (head, workers, submitter, preparation Jobs). */
    runSelector: Record<string, string>;
    /** Namespace of the KubeRay operator; undefined when the stack does not install it. */
    operatorNamespace?: string;
    /** Namespaces allowed to scrape the run's metrics ports (Prometheus). */
    metricsNamespaces: ReadonlyArray<string>;
    /** Metrics ports of the run's pods (Ray's, and miles' own when enabled). */
    metricsPorts: ReadonlyArray<number>;
    labels: Record<string, string>;
}

/** Ingress of one run's pods: from each other (all ports), the operator (dashboard), metrics scrapers (metrics ports). */
export function runPolicy(i: RunPolicyInput): NetworkPolicyManifest {
    const ingress: Array<Record<string, unknown>> = [{ from: [{ podSelector: { matchLabels: { ...i.runSelector } } }] }];
    if (i.operatorNamespace) ingress.push({ from: [namespaceSelector(i.operatorNamespace)], ports: [{ protocol: TCP, port: RAY_PORTS.dashboard }] });
    if (i.metricsNamespaces.length > 0 && i.metricsPorts.length > 0) {
        ingress.push({ from: i.metricsNamespaces.map(namespaceSelector), ports: i.metricsPorts.map((port) => ({ protocol: TCP, port })) });
    }
    return policy(`${i.runName}-ingress`, i.namespace, { podSelector: { matchLabels: { ...i.runSelector } }, policyTypes: ["Ingress"], ingress }, i.labels);
}

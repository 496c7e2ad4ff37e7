/**
 * Monitoring: kube-prometheus-stack (pinned), the miles-cluster scrape targets (PodMonitors for
 * Ray and miles, a ServiceMonitor for the DCGM exporter), the alert rules, the run dashboard and
 * Grafana's admin credentials. All objects are built by domain/monitoring/ (pure); this component
 * registers them in order: namespace → admin Secret and StorageClass → Helm release (CRDs,
 * operator) → monitors, rules, dashboard.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { podSecurityLabels } from "../domain/security/pods";
import * as random from "@pulumi/random";
import { CHARTS } from "../catalog/versions";
import { EBS_CSI } from "../catalog/observability";
import { helmAddon, type ReleasePolicy } from "./helmAddon";
import { transform, type Transform } from "./transform";
import { GRAFANA_ADMIN_SECRET, MONITORING_RELEASE, type ResolvedMonitoring } from "../domain/monitoring/resolve";
import { kubePrometheusStackValues } from "../domain/monitoring/values";
import { monitorManifests } from "../domain/monitoring/monitors";
import { prometheusRuleManifest } from "../domain/monitoring/rules";
import { runDashboardConfigMap } from "../domain/monitoring/dashboards";
import { grafanaPortForward } from "../domain/monitoring/access";
import { partOfLabels } from "../domain/labels";

/**
 * The stack's Prometheus is waited for (so the monitors after it find their CRDs), but never rolled
 * back: a slow volume attach must not uninstall the metrics history.
 */
export const MONITORING_POLICY: ReleasePolicy = { atomic: false, timeout: 900 };

export interface MonitoringArgs {
    /**
     * The resolved monitoring stack (domain/monitoring/resolve.ts).
     * @example resolveMonitoring({ cluster: {}, addons: AddonsSchema.parse({}), training: { namespace: "miles" } })
     */
    monitoring: ResolvedMonitoring;
    /**
     * Provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * Grafana admin password (a Pulumi secret).
     * @default a random 32-character password kept as a secret in the Pulumi state
     * @example new pulumi.Config().requireSecret("grafanaPassword")
     */
    grafanaAdminPassword?: pulumi.Input<string>;
    /**
     * What the release waits for (nodes, the EBS CSI driver).
     * @default []
     * @example cluster.aws.ready
     */
    dependsOn?: pulumi.Resource[];
    /**
     * Changes to the args of the underlying resources (`monitor`: every PodMonitor/ServiceMonitor).
     * @default none
     * @example { release: { timeout: 1800 } }
     */
    transform?: {
        namespace?: Transform<k8s.core.v1.NamespaceArgs>;
        grafanaAdminPassword?: Transform<random.RandomPasswordArgs>;
        grafanaAdminSecret?: Transform<k8s.core.v1.SecretArgs>;
        storageClass?: Transform<k8s.storage.v1.StorageClassArgs>;
        release?: Transform<k8s.helm.v3.ReleaseArgs>;
        monitor?: Transform<k8s.apiextensions.CustomResourceArgs>;
        rules?: Transform<k8s.apiextensions.CustomResourceArgs>;
        dashboard?: Transform<k8s.core.v1.ConfigMapArgs>;
    };
}

/** kube-prometheus-stack and everything miles-cluster adds to it. */
export class Monitoring extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;
    /** The monitoring namespace (a run's Ray dashboards ConfigMap and Role are created in it). */
    readonly namespace: k8s.core.v1.Namespace;
    /** The Grafana admin password (secret). */
    readonly grafanaAdminPassword: pulumi.Output<string>;
    /** `kubectl port-forward` command that opens Grafana on localhost:3000. */
    readonly grafanaPortForward: string;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:addons:Monitoring", name, {}, opts);
        const m = args.monitoring;
        const t = args.transform ?? {};
        const k = { parent: this, provider: args.provider };
        // Pod Security: the node exporter DaemonSet uses the host's network, PID namespace and root
        // filesystem, which only `privileged` admits; warn/audit stay `restricted` (domain/security/pods.ts).
        const ns = new k8s.core.v1.Namespace(
            ...transform(
                t.namespace,
                `${name}-namespace`,
                { metadata: { name: m.namespace, labels: { ...partOfLabels(), ...podSecurityLabels("privileged") } } },
                { ...k, dependsOn: args.dependsOn },
            ),
        );
        this.namespace = ns;

        const password = args.grafanaAdminPassword
            ? pulumi.secret(args.grafanaAdminPassword)
            : new random.RandomPassword(...transform(t.grafanaAdminPassword, `${name}-grafana-admin`, { length: 32, special: false }, { parent: this })).result;
        this.grafanaAdminPassword = pulumi.secret(password);
        const secret = new k8s.core.v1.Secret(
            ...transform(
                t.grafanaAdminSecret,
                `${name}-grafana-admin`,
                { metadata: { name: GRAFANA_ADMIN_SECRET, namespace: m.namespace }, type: "Opaque", stringData: { "admin-user": "admin", "admin-password": this.grafanaAdminPassword } },
                { ...k, dependsOn: [ns] },
            ),
        );

        const before: pulumi.Resource[] = [ns, secret];
        if (m.createsStorageClass) {
            before.push(
                new k8s.storage.v1.StorageClass(
                    ...transform(t.storageClass, `${name}-gp3`, {
                        metadata: { name: m.storageClassName, labels: partOfLabels() },
                        provisioner: EBS_CSI.provisioner,
                        // Retain: deleting a claim (or the stack) never deletes the metrics history.
                        reclaimPolicy: "Retain",
                        // The volume is created in the zone the pod is scheduled to (EBS volumes are zonal).
                        volumeBindingMode: "WaitForFirstConsumer",
                        allowVolumeExpansion: true,
                        parameters: { type: "gp3", encrypted: "true" },
                    },
                    { ...k, dependsOn: args.dependsOn }),
                ),
            );
        }

        this.release = helmAddon(
            name,
            {
                pin: CHARTS.kubePrometheusStack,
                releaseName: MONITORING_RELEASE,
                namespace: m.namespace,
                values: kubePrometheusStackValues(m),
                policy: MONITORING_POLICY,
                provider: args.provider,
                dependsOn: [...(args.dependsOn ?? []), ...before],
                transform: t.release,
            },
            this,
        );
        const after = () => ({ ...k, dependsOn: [this.release] });
        for (const mon of monitorManifests(m)) {
            new k8s.apiextensions.CustomResource(
                ...transform(t.monitor, `${name}-${mon.kind.toLowerCase()}-${mon.metadata.name}`, { apiVersion: mon.apiVersion, kind: mon.kind, metadata: mon.metadata, spec: mon.spec }, after()),
            );
        }
        const rule = prometheusRuleManifest(m);
        new k8s.apiextensions.CustomResource(...transform(t.rules, `${name}-rules`, { apiVersion: rule.apiVersion, kind: rule.kind, metadata: rule.metadata, spec: rule.spec }, after()));
        const dash = runDashboardConfigMap(m);
        new k8s.core.v1.ConfigMap(...transform(t.dashboard, `${name}-run-dashboard`, { metadata: dash.metadata, data: dash.data }, { ...k, dependsOn: [ns] }));

        this.grafanaPortForward = grafanaPortForward(m);
        this.registerOutputs({ release: this.release.name, grafanaPortForward: this.grafanaPortForward });
    }
}

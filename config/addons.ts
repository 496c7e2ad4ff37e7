import { z } from "zod";

const k8sName = z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a DNS-1123 label (lowercase letters, digits, '-', at most 63)");

const enabled = (description: string) => z.boolean().default(true).meta({ description });

/**
 * The switch of an add-on that acts on the whole cluster (a DaemonSet on every GPU node, cluster-scoped
 * CRDs, webhooks or operators): on by default on a cluster miles-cluster creates; on a bring-your-own
 * cluster, which others share, only when the stack opts in (domain/addons.ts decides).
 */
const byoOptIn = (description: string) =>
    z
        .boolean()
        .optional()
        .meta({ description: `${description} Default: on for a cluster miles-cluster creates; off on a bring-your-own cluster (cluster.existing), which others share: set true to install it there.` });

const duration = z.string().regex(/^[0-9]+(ms|s|m|h|d|w|y)$/, "must be a Prometheus duration such as 30s, 15d");
const labelMap = z.record(z.string().min(1), z.string());

/** kube-prometheus-stack (Prometheus, Alertmanager, Grafana, node exporter, kube-state-metrics) and what it watches. */
const MonitoringSchema = z
    .strictObject({
        enabled: z
            .boolean()
            .optional()
            .meta({ description: "Install kube-prometheus-stack and scrape the DCGM exporter, Ray, miles, node exporter and kube-state-metrics, with the miles-cluster dashboards and alerts. Default: on for a cluster miles-cluster creates, off for a bring-your-own cluster (which usually has its own Prometheus)." }),
        namespace: k8sName.default("miles-monitoring").meta({ description: "Namespace of the monitoring stack (created and deleted with the stack)." }),
        nodeSelector: labelMap
            .optional()
            .meta({ description: "Node labels the monitoring pods (except the node exporter DaemonSet) are pinned to. Default: the system node group on a cluster miles-cluster creates; none on a bring-your-own cluster." }),
        storageClassName: z
            .string()
            .min(1)
            .optional()
            .meta({ description: "StorageClass of the Prometheus, Alertmanager and Grafana volumes. Default: `miles-monitoring-gp3`, an encrypted gp3 EBS class with reclaim policy Retain that miles-cluster creates (with the EBS CSI driver add-on) on its own cluster. Required on a bring-your-own cluster." }),
        prometheus: z
            .strictObject({
                retention: duration.default("15d").meta({ description: "How long Prometheus keeps samples." }),
                storageGiB: z.number().int().min(10, "must be at least 10").max(16384, "must be at most 16384").default(100).meta({ description: "Size of Prometheus' volume in GiB (retention by size is set to 90% of it, so the volume never fills)." }),
                scrapeInterval: duration.default("30s").meta({ description: "Scrape interval of every target." }),
            })
            .prefault({})
            .meta({ description: "Prometheus server." }),
        grafana: z
            .strictObject({
                storageGiB: z.number().int().min(1, "must be at least 1").max(1024, "must be at most 1024").default(10).meta({ description: "Size of Grafana's volume in GiB (users, edited dashboards)." }),
                adminPassword: z
                    .string()
                    .min(12, "must be at least 12 characters")
                    .optional()
                    .meta({ description: "Grafana admin password (a Pulumi secret). Default: a random 32-character password generated once and kept in the Pulumi state as a secret (stack output `grafanaAdminPassword`). There is never a default password." }),
            })
            .prefault({})
            .meta({ description: "Grafana (admin user `admin`)." }),
        alerts: z
            .strictObject({
                idleGpuMinutes: z.number().int().min(5, "must be at least 5").max(1440, "must be at most 1440").default(30).meta({ description: "Alert when a run's GPUs have been idle (mean utilisation below idleGpuPercent) for this many minutes." }),
                idleGpuPercent: z.number().min(1, "must be at least 1").max(90, "must be at most 90").default(10).meta({ description: "Mean GPU utilisation (percent) under which a run's GPUs count as idle." }),
                noProgressMinutes: z.number().int().min(10, "must be at least 10").max(1440, "must be at most 1440").default(60).meta({ description: "Alert when a run's rollout step has not advanced for this many minutes (a hung collective keeps GPUs busy, so the idle alert alone misses it)." }),
            })
            .prefault({})
            .meta({ description: "Thresholds of the miles-cluster alert rules (PrometheusRule `miles-cluster`)." }),
    })
    .prefault({})
    .meta({ description: "Metrics, dashboards and alerts (Helm chart `kube-prometheus-stack`)." });

/** Ray logs shipped to CloudWatch Logs so they outlive the Ray cluster. */
const LogsSchema = z
    .strictObject({
        enabled: z
            .boolean()
            .optional()
            .meta({ description: "Ship the Ray logs of every training pod (driver, head, workers: /tmp/ray/session_*/logs) to a CloudWatch Logs group with a Fluent Bit sidecar. Default: on for a cluster miles-cluster creates; unavailable on a bring-your-own cluster (no IAM role for the pods)." }),
        retentionDays: z
            .union([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653].map((d) => z.literal(d)))
            .default(30)
            .meta({ description: "Days CloudWatch keeps the logs (one of the values CloudWatch Logs accepts: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html)." }),
    })
    .prefault({})
    .meta({ description: "Training logs that survive the Ray cluster (CloudWatch Logs)." });

export const AddonsSchema = z
    .strictObject({
        namespace: k8sName
            .default("miles-system")
            .meta({ description: "Namespace miles-cluster creates for the KubeRay operator and its CRD job. The node agents (device plugins, DCGM exporter) go to `kube-system`, next to the other node agents." }),
        nvidiaDevicePlugin: z
            .strictObject({
                enabled: byoOptIn(
                    "Install NVIDIA's device plugin (it advertises `nvidia.com/gpu`) on every GPU node. It runs on AL2023 GPU nodes only: Bottlerocket NVIDIA nodes ship it. Leave it off on a bring-your-own cluster that already runs the NVIDIA GPU operator."
                ),
            })
            .prefault({})
            .meta({ description: "NVIDIA Kubernetes device plugin (Helm chart `nvidia-device-plugin`)." }),
        efaDevicePlugin: z
            .strictObject({
                enabled: z
                    .boolean()
                    .optional()
                    .meta({ description: "Install the AWS EFA device plugin (it advertises `vpc.amazonaws.com/efa`). Default: on for a cluster miles-cluster creates, off for a bring-your-own cluster." }),
                imageRepository: z
                    .string()
                    .regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+$/, "must be an image repository without a tag, e.g. 602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/aws-efa-k8s-device-plugin")
                    .optional()
                    .meta({
                        description: "Image repository of the plugin. Default: the chart's (EKS ECR account 602401143452, us-west-2), which nodes of any commercial region can pull with the standard node role.",
                        examples: ["602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/aws-efa-k8s-device-plugin"],
                    }),
            })
            .prefault({})
            .meta({ description: "AWS EFA Kubernetes device plugin (Helm chart `aws-efa-k8s-device-plugin`)." }),
        kuberay: z
            .strictObject({
                enabled: byoOptIn(
                    "Install the KubeRay operator and its cluster-wide CRDs. On a bring-your-own cluster without it, a run needs a KubeRay operator already running there (the plan says so)."
                ),
                manageCrds: z
                    .boolean()
                    .default(true)
                    .meta({
                        description:
                            "Apply the RayCluster/RayJob/RayService/RayCronJob CRDs of the pinned KubeRay version with a Kubernetes Job (server-side apply), so that upgrading the pin upgrades the CRDs. When false, Helm installs them once and never upgrades them.",
                    }),
            })
            .prefault({})
            .meta({ description: "KubeRay operator (Helm chart `kuberay-operator`) and its CRDs." }),
        dcgmExporter: z
            .strictObject({
                enabled: byoOptIn(
                    "Install NVIDIA's DCGM exporter on every GPU node (GPU metrics on port 9400)."
                ),
                serviceMonitor: z
                    .boolean()
                    .default(false)
                    .meta({ description: "Create a Prometheus-operator ServiceMonitor for the exporter. Only set it when the cluster has the Prometheus operator CRDs (monitoring.coreos.com/v1): without them the install fails." }),
            })
            .prefault({})
            .meta({ description: "NVIDIA DCGM exporter (Helm chart `dcgm-exporter`)." }),
        monitoring: MonitoringSchema,
        logs: LogsSchema,
        kueue: z
            .strictObject({
                enabled: byoOptIn(
                    "Install Kueue (cluster-scoped CRDs and webhooks) and queue every run: a ResourceFlavor per GPU node group, a ClusterQueue whose quota is the GPUs (and EFA devices) the node groups provision, a LocalQueue in the training namespace. Each RayJob is created suspended and admitted whole (all its pods or none) when its GPUs are free; runs wait in order instead of half-starting. A single-run stack is a queue of one."
                ),
                clusterQueue: k8sName
                    .default("miles")
                    .meta({ description: "Name of the ClusterQueue (cluster-scoped); also the prefix of the ResourceFlavors (`<clusterQueue>-<node group>`) and the WorkloadPriorityClasses (`<clusterQueue>-low|normal|high`)." }),
                localQueue: k8sName.default("miles").meta({ description: "Name of the LocalQueue in the training namespace that every RayJob is labelled for (`kueue.x-k8s.io/queue-name`)." }),
                queueingStrategy: z
                    .enum(["BestEffortFIFO", "StrictFIFO"])
                    .default("BestEffortFIFO")
                    .meta({
                        description:
                            "Order of admission (ClusterQueue `queueingStrategy`): both admit by priority, then age. BestEffortFIFO (Kueue's default) lets a smaller run start while an older, larger one waits for GPUs (no idle paid GPUs); StrictFIFO keeps the order strictly (a large run is never overtaken, GPUs may idle meanwhile).",
                    }),
                preemption: z
                    .enum(["Never", "LowerPriority"])
                    .default("Never")
                    .meta({
                        description:
                            "ClusterQueue `preemption.withinClusterQueue`. Never (default): a running run is never stopped for another. LowerPriority: a waiting run of higher priority evicts lower-priority running runs; an evicted run saves first (a preStop on its Ray pods triggers its save sentinel and waits up to `training.lifecycle.saveTimeoutMinutes`, holding the GPUs meanwhile), then its RayJob is suspended (its Ray cluster deleted), requeued, and resumes from that checkpoint when admitted again.",
                    }),
            })
            .prefault({})
            .meta({ description: "Kueue (Helm chart `kueue`, pinned): the queue with gang admission that lets several runs share the cluster." }),
        networkPolicies: z
            .strictObject({
                enabled: enabled(
                    "Create NetworkPolicies in the training namespace: deny by default; a run's pods reachable only from each other, its job submitter, the KubeRay operator's namespace (dashboard port) and `metricsNamespaces` (metrics ports); egress to DNS, the namespace and outside the cluster except the instance metadata service. On a cluster miles-cluster creates the VPC CNI enforces them; on a bring-your-own cluster only if its CNI does.",
                ),
                metricsNamespaces: z
                    .array(k8sName)
                    .default([])
                    .meta({ description: "Namespaces whose pods may scrape the run's metrics ports (Ray 8080 and miles' Prometheus port), e.g. where Prometheus runs.", examples: [["monitoring"]] }),
            })
            .prefault({})
            .meta({ description: "Kubernetes NetworkPolicies of the training namespace (see docs/security.md)." }),
        trainingS3Access: z
            .boolean()
            .default(false)
            .meta({
                description:
                    "Grant the training pods' IAM role read/write to the checkpoint bucket (scoped to that bucket and its KMS key). Off by default: the pods read and write /shared, and FSx moves the data to and from S3 with its own service-linked role, so the pods need no S3 access. Turn on only if your own code in the pods calls S3.",
            }),
        trainingServiceAccount: k8sName
            .default("miles-training")
            .meta({ description: "Service account the training pods run as, in the training namespace. On a cluster miles-cluster creates it gets an IAM role through EKS Pod Identity (with the checkpoint bucket only if `trainingS3Access`)." }),
    })
    .meta({ description: "Cluster add-ons: device plugins, KubeRay, Kueue, GPU monitoring and the training pods' identity." });

export type AddonsConfig = z.output<typeof AddonsSchema>;
export const addonsSecretPaths: string[][] = [["monitoring", "grafana", "adminPassword"]];




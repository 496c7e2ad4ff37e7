import { z } from "zod";

const k8sName = z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a DNS-1123 label (lowercase letters, digits, '-', at most 63)");

const enabled = (description: string) => z.boolean().default(true).meta({ description });

export const AddonsSchema = z
    .strictObject({
        namespace: k8sName
            .default("miles-system")
            .meta({ description: "Namespace miles-cluster creates for the KubeRay operator and its CRD job. The node agents (device plugins, DCGM exporter) go to `kube-system`, next to the other node agents." }),
        nvidiaDevicePlugin: z
            .strictObject({
                enabled: enabled(
                    "Install NVIDIA's device plugin (it advertises `nvidia.com/gpu`). It runs on AL2023 GPU nodes only: Bottlerocket NVIDIA nodes ship it. Turn it off on a bring-your-own cluster that already runs the NVIDIA GPU operator.",
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
                enabled: enabled("Install the KubeRay operator. Turn it off only if the cluster already runs one (the training RayJob needs it)."),
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
                enabled: enabled("Install NVIDIA's DCGM exporter on every GPU node (GPU metrics on port 9400)."),
                serviceMonitor: z
                    .boolean()
                    .default(false)
                    .meta({ description: "Create a Prometheus-operator ServiceMonitor for the exporter. Only set it when the cluster has the Prometheus operator CRDs (monitoring.coreos.com/v1): without them the install fails." }),
            })
            .prefault({})
            .meta({ description: "NVIDIA DCGM exporter (Helm chart `dcgm-exporter`)." }),
        trainingServiceAccount: k8sName
            .default("miles-training")
            .meta({ description: "Service account the training pods run as, in the training namespace. On a cluster miles-cluster creates it gets read/write access to the checkpoint bucket through EKS Pod Identity." }),
    })
    .meta({ description: "Cluster add-ons: device plugins, KubeRay, GPU monitoring and the training pods' identity." });

export type AddonsConfig = z.output<typeof AddonsSchema>;
export const addonsSecretPaths: string[][] = [];




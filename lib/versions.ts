/**
 * Every pinned version of a chart, image or add-on in one place. Upgrading one is a one-line change
 * here (plus the README's add-on table, which a test compares against this file).
 */
export interface ChartPin {
    chart: string;
    repo: string;
    version: string;
}

export const CHARTS = {
    nvidiaDevicePlugin: { chart: "nvidia-device-plugin", repo: "https://nvidia.github.io/k8s-device-plugin", version: "0.20.0" },
    efaDevicePlugin: { chart: "aws-efa-k8s-device-plugin", repo: "https://aws.github.io/eks-charts", version: "v0.5.30" },
    kuberayOperator: { chart: "kuberay-operator", repo: "https://ray-project.github.io/kuberay-helm/", version: "1.7.0" },
    dcgmExporter: { chart: "dcgm-exporter", repo: "https://nvidia.github.io/dcgm-exporter/helm-charts", version: "4.8.3" },
} as const satisfies Record<string, ChartPin>;

export const IMAGES = {
    /** miles (SGLang + Megatron-LM + Ray). Never `latest` by default. */
    miles: { repository: "radixark/miles", tag: "v0.1.0" },
} as const;

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
    /** The chart version really starts with a `v` (the image is v0.5.20). */
    efaDevicePlugin: { chart: "aws-efa-k8s-device-plugin", repo: "https://aws.github.io/eks-charts", version: "v0.5.30" },
    kuberayOperator: { chart: "kuberay-operator", repo: "https://ray-project.github.io/kuberay-helm/", version: "1.7.0" },
    dcgmExporter: { chart: "dcgm-exporter", repo: "https://nvidia.github.io/dcgm-exporter/helm-charts", version: "4.8.3" },
    /**
     * Prometheus operator + Prometheus + Alertmanager + Grafana + node exporter + kube-state-metrics.
     * github.com/prometheus-community/helm-charts tag kube-prometheus-stack-88.5.3 (commit ea930bae):
     * Chart.yaml appVersion v0.93.1 (the operator; ../shared/schemas/prometheus-operator is v0.93.0),
     * sub-charts kube-state-metrics 8.4.0, prometheus-node-exporter 4.56.1, grafana 12.11.1.
     * domain/monitoring/values.ts writes only keys of that tag's values.yaml.
     */
    kubePrometheusStack: { chart: "kube-prometheus-stack", repo: "https://prometheus-community.github.io/helm-charts", version: "88.5.3" },
    /**
     * Kueue (job queueing, gang admission). kubernetes-sigs/kueue charts/kueue/Chart.yaml at tag v0.19.2
     * (commit 8eab68778fc1, 2026-08-20): `version: 0.19.2`; published as an OCI chart,
     * `oci://registry.k8s.io/kueue/charts/kueue` (charts/kueue/README.md at v0.19.2), so `chart` is the
     * full OCI reference and `repo` is empty (Helm takes no repository for an oci:// chart).
     */
    kueue: { chart: "oci://registry.k8s.io/kueue/charts/kueue", repo: "", version: "0.19.2" },
    /**
     * kubernetes/autoscaler tag cluster-autoscaler-chart-9.59.0: appVersion 1.35.0, image
     * registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.0 — the minor matches the default
     * Kubernetes version (the autoscaler is released per Kubernetes minor; bump both together).
     * The image itself is pinned to the newer patch release (IMAGES.clusterAutoscaler).
     */
    clusterAutoscaler: { chart: "cluster-autoscaler", repo: "https://kubernetes.github.io/autoscaler", version: "9.59.0" },
    /**
     * AWS Node Termination Handler in Queue Processor mode (spot GPU groups only). github.com/aws/
     * aws-node-termination-handler tag v1.25.6 (commit 77ca841d, 2026-04-02):
     * config/helm/aws-node-termination-handler/Chart.yaml `version: 0.27.6`, `appVersion: 1.25.6`;
     * published as an OCI chart (the chart's README.md:22 `oci://public.ecr.aws/aws-ec2/helm/
     * aws-node-termination-handler --version $CHART_VERSION`), so `repo` is empty. Its values.yaml
     * leaves `image.tag` empty = `v<appVersion>`.
     */
    nodeTerminationHandler: { chart: "oci://public.ecr.aws/aws-ec2/helm/aws-node-termination-handler", repo: "", version: "0.27.6" },
} as const satisfies Record<string, ChartPin>;

export interface ImagePin {
    repository: string;
    tag: string;
}

export const IMAGES = {
    /** miles (SGLang + Megatron-LM + Ray). Never `latest` by default. */
    miles: { repository: "radixark/miles", tag: "v0.1.0" },
    /** Applies the KubeRay CRDs (distroless: `/bin/kubectl` only, no shell, no CA bundle). */
    kubectl: { repository: "registry.k8s.io/kubectl", tag: "v1.34.1" },
    /** Downloads the KubeRay CRDs for the kubectl container (has a shell, sha256sum and CA certificates). */
    curl: { repository: "curlimages/curl", tag: "8.15.0" },
    /**
     * Ships the Ray logs of every training pod to CloudWatch Logs (sidecar). Tag listed at
     * https://docs.fluentbit.io/manual/4.2/installation/downloads/docker; EKS Pod Identity
     * credentials are supported since v4.0.0 (fluent/fluent-bit PR #10115, commit f29d2a3e2, an
     * ancestor of v5.0.3). Distroless: no shell. Patch release 5.0.10 of the same 5.0 line (checked
     * 2026-12-07: https://github.com/fluent/fluent-bit/releases/tag/v5.0.10, the newest 5.0 patch; among
     * its fixes since 5.0.3: filter_kubernetes TLS session and upstream leaks, fluent/fluent-bit#11730,
     * #11738, in v5.0.5). 5.1 is a new minor: not taken without reading its upgrade notes.
     */
    fluentBit: { repository: "cr.fluentbit.io/fluent/fluent-bit", tag: "5.0.10" },
    /**
     * The Cluster Autoscaler image, set over the chart's appVersion (v1.35.0) through the chart's
     * `image.repository` / `image.tag` values (kubernetes/autoscaler tag cluster-autoscaler-chart-9.59.0,
     * cluster-autoscaler/charts/cluster-autoscaler/values.yaml:302-306): patch release 1.35.2 (kubernetes/autoscaler tag cluster-autoscaler-1.35.2,
     * the tag catalog/autoscaler.ts reads its facts at), same Kubernetes minor as the default cluster.
     * Digest not pinned: registry.k8s.io could not be queried from here.
     */
    clusterAutoscaler: { repository: "registry.k8s.io/autoscaling/cluster-autoscaler", tag: "v1.35.2" },
    /**
     * Kueue's controller manager. The chart's values.yaml in git names a staging image; its release
     * packaging (hack/helm-chart-package.sh at v0.19.2) rewrites it to registry.k8s.io/kueue/kueue:<tag>
     * for a release tag. Set explicitly so the release never depends on that rewrite.
     */
    kueue: { repository: "registry.k8s.io/kueue/kueue", tag: "v0.19.2" },
    /**
     * The run-lifecycle Jobs' CloudWatch reads (the FSx export queue). AWS CLI v2 >= 2.15.0 reads EKS
     * Pod Identity credentials (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-minimum-sdk.html);
     * tag 2.34.48 as used with `/bin/sh -ec` in public Kubernetes manifests (code search) — no digest
     * pinned: none was verified here.
     */
    awsCli: { repository: "amazon/aws-cli", tag: "2.34.48" },
    /**
     * `dcgmi diag` of the node check (domain/health/nodeCheck.ts). NVIDIA's standalone DCGM image
     * (the GPU operator's `dcgm` operand, deployments/gpu-operator/values.yaml: repository
     * nvcr.io/nvidia/cloud-native, image dcgm, tags `<dcgm>-1-ubuntu22.04`); 4.4.2 is the DCGM of the
     * passing capture in test/fixtures/health (NVIDIA/DCGM#124) and the tag listed for it in public
     * GPU-operator image lists. Its diag plugins must match the driver's CUDA generation (a 4.4.0
     * image has no cuda13 plugins): bump with the AMI's driver. No digest pinned: none verified here.
     */
    dcgm: { repository: "nvcr.io/nvidia/cloud-native/dcgm", tag: "4.4.2-1-ubuntu22.04" },
} as const satisfies Record<string, ImagePin>;

/**
 * The CRDs of the pinned KubeRay version (`CHARTS.kuberayOperator.version`), as files of
 * `ray-operator/config/crd/bases/` at tag `v<version>` of github.com/ray-project/kuberay (identical
 * to the chart's `crds/` directory), with their sha256 so the CRD job refuses anything else.
 * Upgrading KubeRay = change the chart version above and these hashes (docs/addons.md shows how).
 * Hashes computed from the v1.7.0 tag (commit 59d663ae).
 */
export const KUBERAY_CRDS: ReadonlyArray<{ name: string; file: string; sha256: string }> = [
    { name: "rayclusters.ray.io", file: "ray.io_rayclusters.yaml", sha256: "c44704442eef0c6721ad40c1d66782c8bd3fdab9d3344306a5820910a679baa1" },
    { name: "rayjobs.ray.io", file: "ray.io_rayjobs.yaml", sha256: "01a5cf3b17c1769fda44af7e82debcd98722f0c27b9ab84d084681c6649121f5" },
    { name: "rayservices.ray.io", file: "ray.io_rayservices.yaml", sha256: "0a8fc325e6e22b9231c1f282b309555e2ecf94227ca20a03df3d1d9a403907ab" },
    { name: "raycronjobs.ray.io", file: "ray.io_raycronjobs.yaml", sha256: "31c2c753bba01f7e8e89cb8e8c504131b58ee42090ca536d87f5ac27605a568e" },
];

/** Where the CRD job downloads one CRD file of a KubeRay version. */
export function kuberayCrdUrl(version: string, file: string): string {
    return `https://raw.githubusercontent.com/ray-project/kuberay/v${version}/ray-operator/config/crd/bases/${file}`;
}

/** `repository:tag` of a pinned image. */
export function imageRef(pin: ImagePin): string {
    return `${pin.repository}:${pin.tag}`;
}

/**
 * Facts the monitoring stack relies on: the ports, labels and metric names that KubeRay, the DCGM
 * exporter, the EKS node monitoring agent and miles really use, each with where it was read.
 * Nothing here is a decision; domain/monitoring/ builds the monitors, rules and dashboards from it.
 */

/**
 * KubeRay v1.7.0 adds a container port named `metrics` (8080) to the Ray container of the head and
 * of every worker when the template has none, and passes `--metrics-export-port=8080` to
 * `ray start` (ray-project/kuberay v1.7.0, ray-operator/controllers/ray/utils/constant.go:108,115;
 * ray-operator/controllers/ray/common/pod.go:289-296, 689-696, 1373-1374).
 */
export const RAY_METRICS_PORT = { name: "metrics", port: 8080 } as const;

/**
 * Labels KubeRay v1.7.0 puts on every Ray pod (common/pod.go `labelPod`, :1167-1191). Template labels
 * override all of them except `ray.io/node-type`, `ray.io/group` and `ray.io/cluster`, so
 * `app.kubernetes.io/name` is ours (`miles`), not KubeRay's default `kuberay`.
 */
export const KUBERAY_POD_LABELS = {
    isRayNode: "ray.io/is-ray-node",
    cluster: "ray.io/cluster",
    nodeType: "ray.io/node-type",
    group: "ray.io/group",
    identifier: "ray.io/identifier",
    appName: "app.kubernetes.io/name",
    createdBy: "app.kubernetes.io/created-by",
} as const;

/** The values KubeRay v1.7.0 itself sets for `app.kubernetes.io/name` and `created-by` (utils/constant.go). */
export const KUBERAY_DEFAULT_APP_NAME = "kuberay";
export const KUBERAY_CREATED_BY = "kuberay-operator";

/**
 * The DCGM exporter chart's Service (NVIDIA/dcgm-exporter tag 4.5.3-4.8.2, deployment/templates/
 * service.yaml and _helpers.tpl `dcgm-exporter.selectorLabels`): labels name/instance/component,
 * one port named `metrics` (values.yaml `service.port: 9400`).
 */
export const DCGM_EXPORTER_SERVICE = {
    port: "metrics",
    labels: (releaseName: string) => ({ "app.kubernetes.io/name": "dcgm-exporter", "app.kubernetes.io/instance": releaseName }),
} as const;

/**
 * The node monitoring agent's `dcgm-server` DaemonSet runs `nv-hostengine -n -b ALL` with
 * containerPort/hostPort 5555 on every NVIDIA node (aws/eks-node-monitoring-agent, chart 1.7.0,
 * charts/eks-node-monitoring-agent/templates/dcgm-daemonset.yaml; the v1.6.0 chart ran the same
 * command from the dcgm-exporter image). The dcgm-exporter connects to a running host engine with
 * `-r <host>:<port>` (dcgm-exporter deployment/values.yaml, comment on `arguments`).
 */
export const NODE_AGENT_HOSTENGINE_PORT = 5555;

/**
 * DCGM exporter labels on each GPU sample: the pod, namespace and container using the GPU
 * (NVIDIA/dcgm-exporter 4.5.3-4.8.2, internal/pkg/transformation/const.go). Counters it exports by
 * default (etc/default-counters.csv at that tag) that the rules use: DCGM_FI_DEV_GPU_UTIL (gauge,
 * percent), DCGM_FI_DEV_XID_ERRORS (gauge: the last XID), DCGM_FI_DEV_FB_USED (MiB),
 * DCGM_FI_DEV_POWER_USAGE (W).
 */
export const DCGM_METRICS = {
    gpuUtil: "DCGM_FI_DEV_GPU_UTIL",
    xid: "DCGM_FI_DEV_XID_ERRORS",
    fbUsed: "DCGM_FI_DEV_FB_USED",
    power: "DCGM_FI_DEV_POWER_USAGE",
} as const;

/**
 * NVIDIA's DCGM exporter dashboard (grafana.com dashboard 12239, named in the dcgm-exporter
 * README) as the JSON file of the dcgm-exporter repository at tag 4.5.3-4.8.2 (uses a `$datasource`
 * variable, so no datasource rewriting). Grafana downloads it at start-up (chart `dashboards.*.url`);
 * the JSON is never copied into this repository.
 */
export const DCGM_DASHBOARD_URL = "https://raw.githubusercontent.com/NVIDIA/dcgm-exporter/4.5.3-4.8.2/grafana/dcgm-exporter-dashboard.json";

/**
 * miles v0.1.0's Prometheus exporter (radixark/miles tag v0.1.0,
 * miles/utils/tracking_utils/prometheus_utils.py): a Ray actor on the driver's node (the Ray head in
 * K8sJobMode) serves every logged number as a gauge named `miles_metric_` + key with `/`, `-`, `@`
 * replaced by `_`, `_`, `_at_`, with one label `run_name` (= `--prometheus-run-name`).
 */
export const MILES_METRIC_PREFIX = "miles_metric_";
export const MILES_RUN_LABEL = "run_name";

/** The gauge name miles v0.1.0 gives a logged key (prometheus_utils.py `_PrometheusCollector.update`). */
export function milesMetricName(key: string): string {
    return MILES_METRIC_PREFIX + key.replace(/\//g, "_").replace(/-/g, "_").replace(/@/g, "_at_");
}

/**
 * Keys miles v0.1.0 logs, with the file that logs them (radixark/miles tag v0.1.0). Only these are
 * used by the dashboard and the rules; `checkpoint save time` is not among them: miles v0.1.0 has no
 * timer around `save_model` (miles/backends/megatron_utils/actor.py:672), so the checkpoint probe of
 * miles-cluster reports the checkpoint's iteration and age instead.
 */
export const MILES_KEYS = {
    /** miles/backends/training_utils/log_utils.py `log_rollout_data` → `gather_log_data("rollout", …)` (prefix `rollout/`). */
    rawReward: "rollout/raw_reward",
    /** miles/ray/rollout/metrics.py `_compute_metrics_from_samples` (`response_len/` + compute_statistics mean/median/max/min). */
    responseLenMean: "rollout/response_len/mean",
    responseLenMax: "rollout/response_len/max",
    truncatedRatio: "rollout/truncated_ratio",
    /** miles/ray/rollout/metrics.py `log_rollout_data` (the step every rollout log carries; = rollout_id unless --wandb-always-use-train-step). */
    rolloutStep: "rollout/step",
    /** miles/ray/rollout/metrics.py `_compute_perf_metrics_from_samples`. */
    rolloutTime: "perf/rollout_time",
    tokensPerGpuPerSec: "perf/tokens_per_gpu_per_sec",
    /** miles/utils/train_metric_utils.py `log_perf_data_raw` (`perf/<timer>_time`, timers in miles/backends/megatron_utils/actor.py). */
    trainTime: "perf/train_time",
    trainWaitTime: "perf/train_wait_time",
    actorTrainTime: "perf/actor_train_time",
    stepTime: "perf/step_time",
    actorTrainTokPerSec: "perf/actor_train_tok_per_s",
    actorTrainMfu: "perf/actor_train_mfu",
    updateWeightsTime: "perf/update_weights_implementation_time",
    /** miles/backends/training_utils/log_utils.py `log_train_step` (`train/` + loss_dict keys of loss_hub/losses.py, + grad_norm). */
    loss: "train/loss",
    pgLoss: "train/pg_loss",
    gradNorm: "train/grad_norm",
    ppoKl: "train/ppo_kl",
} as const;

/** `--save` tracker file Megatron and miles write after each checkpoint (miles v0.1.0 megatron_utils/checkpoint.py:174). */
export const CHECKPOINT_TRACKER_FILE = "latest_checkpointed_iteration.txt";

/**
 * Grafana's dashboard sidecar of kube-prometheus-stack 88.5.3 loads every ConfigMap labelled
 * `grafana_dashboard: "1"` in any namespace (values.yaml `grafana.sidecar.dashboards`: label,
 * labelValue, searchNamespace ALL).
 */
export const GRAFANA_DASHBOARD_LABEL = { key: "grafana_dashboard", value: "1" } as const;

/**
 * kube-state-metrics exposes pod labels only when allow-listed (`--metric-labels-allowlist`,
 * chart value `metricLabelsAllowlist`, kube-state-metrics chart 8.4.0 values.yaml:416), as
 * `kube_pod_labels{label_<name with non-alphanumerics as _>}`.
 */
export function ksmLabelName(podLabel: string): string {
    return "label_" + podLabel.replace(/[^a-zA-Z0-9_]/g, "_");
}

/**
 * gp3 storage price, USD per GB-month, us-east-1 (https://aws.amazon.com/ebs/pricing/). Used only
 * for the plan's cost line of the monitoring volumes.
 */
export const GP3_USD_PER_GB_MONTH = 0.08;

/**
 * AWS managed policy and service account of the EBS CSI driver add-on (`aws-ebs-csi-driver`):
 * https://docs.aws.amazon.com/eks/latest/userguide/add-ons-aws-ebs-csi-driver.html
 */
export const EBS_CSI = {
    addonName: "aws-ebs-csi-driver",
    serviceAccount: "ebs-csi-controller-sa",
    policyArn: "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
    provisioner: "ebs.csi.aws.com",
} as const;

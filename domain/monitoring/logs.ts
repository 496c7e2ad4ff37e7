/**
 * Logs that outlive the Ray cluster: a Fluent Bit sidecar in every Ray pod tails Ray's log
 * directory (/tmp/ray/session_latest/logs: the job driver's `job-driver-*.log`, raylet, GCS, every
 * worker's stdout/stderr) and ships it to one CloudWatch Logs group per stack, whose retention is
 * `addons.logs.retentionDays`. /tmp/ray becomes an emptyDir named `ray-logs` shared by both
 * containers — the name and path KubeRay v1.7.0 itself uses for it (ray-operator/controllers/ray/
 * common/pod.go:30-31, `RayLogVolumeName`, `RayLogVolumeMountPath`), so KubeRay's own log volume
 * logic (autoscaler, history server) finds ours instead of adding a second.
 *
 * Fluent Bit is configured on its command line (`-i tail … -o cloudwatch_logs …`, the form shown in
 * aws/aws-for-fluent-bit #811); options of the cloudwatch_logs output as in fluent/fluent-bit
 * plugins/out_cloudwatch_logs/cloudwatch_logs.c (log_group_name, log_stream_prefix,
 * auto_create_group). Credentials: the pod's EKS Pod Identity (supported since Fluent Bit v4.0.0).
 * Verified only on a real cluster.
 */
import type * as k8s from "@pulumi/kubernetes";
import { IMAGES, imageRef } from "../../catalog/versions";
import type { MilesConfig } from "../../config";
import { logShippingEnabled, type ClusterMode } from "../addons";

export const RAY_LOG_VOLUME = "ray-logs";
export const RAY_LOG_DIR = "/tmp/ray";
export const LOG_SHIPPER_CONTAINER = "log-shipper";
const STATE_VOLUME = "log-shipper-state";

/** The stack's log group. */
export function logGroupName(stack: string): string {
    return `/miles-cluster/${stack}/training`;
}

export interface LogShipping {
    logGroupName: string;
    region: string;
}

/** Where the stack's training pods ship their logs; undefined when they do not (switched off, bring-your-own cluster, no region). */
export function logShipping(cfg: ClusterMode & Pick<MilesConfig, "stack" | "addons" | "region">): LogShipping | undefined {
    if (!logShippingEnabled(cfg) || cfg.cluster.existing !== undefined || !cfg.region) return undefined;
    return { logGroupName: logGroupName(cfg.stack), region: cfg.region };
}

/** Fluent Bit's arguments; $(RUN_NAME) and $(POD_NAME) are expanded by Kubernetes from the container env. */
export function logShipperArgs(l: LogShipping): string[] {
    const p = (kv: string) => ["-p", kv];
    return [
        "-i", "tail",
        ...p(`path=${RAY_LOG_DIR}/session_latest/logs/*`),
        ...p("tag=ray.*"),
        ...p("read_from_head=true"),
        ...p("refresh_interval=10"),
        ...p("skip_long_lines=on"),
        ...p("mem_buf_limit=50MB"),
        // Offsets survive a sidecar restart (no duplicates, no gaps).
        ...p("db=/fluent-bit/state/tail.db"),
        "-o", "cloudwatch_logs",
        ...p("match=*"),
        ...p(`region=${l.region}`),
        ...p(`log_group_name=${l.logGroupName}`),
        // One stream per run, pod and file: <run>/<pod>/ray.tmp.ray.session_latest.logs.<file>
        ...p("log_stream_prefix=$(RUN_NAME)/$(POD_NAME)/"),
        // The group is ours (retention set); the pods may only write to it.
        ...p("auto_create_group=false"),
        "-f", "5",
    ];
}

/**
 * The log shipper, a native sidecar: an init container with `restartPolicy: Always` starts before
 * the Ray container and is stopped only after it has exited — so the lines Ray writes while it stops
 * (a preStop save before preemption can take minutes) are still shipped, and a sidecar that
 * crashes is restarted. https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/
 * (on by default since Kubernetes 1.29, stable in 1.33; EKS versions here are ≥ 1.31).
 */
export function logShipperContainer(l: LogShipping, runName: string): k8s.types.input.core.v1.Container {
    return {
        name: LOG_SHIPPER_CONTAINER,
        restartPolicy: "Always",
        image: imageRef(IMAGES.fluentBit),
        args: logShipperArgs(l),
        env: [
            { name: "RUN_NAME", value: runName },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        ],
        resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
        // hardenPodSpec adds no privilege escalation, every capability dropped, RuntimeDefault
        // seccomp; Fluent Bit writes only its tail offsets (the state emptyDir), so its root
        // filesystem is read-only. It keeps the image's user: with every capability dropped (no
        // CAP_DAC_OVERRIDE) it reads the logs as their owner would, which is the Ray container's
        // user when both run as root (⚠ verified only on a real cluster).
        securityContext: { readOnlyRootFilesystem: true },
        volumeMounts: [
            { name: RAY_LOG_VOLUME, mountPath: RAY_LOG_DIR, readOnly: true },
            { name: STATE_VOLUME, mountPath: "/fluent-bit/state" },
        ],
    };
}

export const LOG_VOLUMES: k8s.types.input.core.v1.Volume[] = [
    { name: RAY_LOG_VOLUME, emptyDir: {} },
    { name: STATE_VOLUME, emptyDir: { sizeLimit: "64Mi" } },
];

export const RAY_LOG_MOUNT: k8s.types.input.core.v1.VolumeMount = { name: RAY_LOG_VOLUME, mountPath: RAY_LOG_DIR };

/**
 * What the training role may do in CloudWatch Logs: create streams in the stack's group and put
 * events into them, nothing else (no other group, no reads, no group creation or retention change:
 * the group and its retention are ours, `auto_create_group=false`). Fluent Bit's C
 * `cloudwatch_logs` output calls only CreateLogGroup, PutRetentionPolicy, CreateLogStream and
 * PutLogEvents (fluent/fluent-bit plugins/out_cloudwatch_logs/cloudwatch_api.c, the
 * `X-Amz-Target` headers), so DescribeLogStreams — which the older Go plugin needed — is not
 * granted. `<group ARN>:*` covers the group (CreateLogStream) and its streams
 * (`…:log-group:<name>:log-stream:<stream>`, PutLogEvents):
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html
 * (the LogGroup's `arn` attribute has no trailing `:*` in @pulumi/aws v7).
 */
export function logsPolicy(logGroupArn: string): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [{ Sid: "ShipRayLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${logGroupArn}:*`] }],
    };
}

/** How to read a run's logs, also after the Ray cluster is gone (AWS CLI v2 `aws logs tail`). */
export function readLogsCommand(l: LogShipping, runName: string): string {
    return `aws logs tail ${l.logGroupName} --region ${l.region} --log-stream-name-prefix ${runName}/ --since 7d   # add --follow while it runs; the driver is in the head pod's job-driver-*.log stream`;
}

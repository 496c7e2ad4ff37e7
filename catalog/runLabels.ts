/**
 * The labels and names miles-cluster gives a run's pods (domain/training/pod.ts sets them; the
 * monitors, alert rules and dashboards of domain/monitoring/ select on them). One definition keeps
 * the pods and their selectors from drifting apart.
 */

/** `app.kubernetes.io/component` of the Ray head and worker pods (also their Ray container names). */
export const HEAD_COMPONENT = "ray-head";
export const WORKER_COMPONENT = "ray-worker";
/** Container port name of miles' Prometheus endpoint on the head (`--prometheus-port`). */
export const MILES_METRICS_PORT_NAME = "miles-metrics";

/** The labels every pod and object of a run carries (`app.kubernetes.io/instance` = the run name). */
export const RUN_LABELS = { name: "app.kubernetes.io/name", instance: "app.kubernetes.io/instance", component: "app.kubernetes.io/component", partOf: "app.kubernetes.io/part-of" } as const;
export const RUN_APP_NAME = "miles";
export const PART_OF = "miles-cluster";

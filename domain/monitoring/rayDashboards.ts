/**
 * Ray's own Grafana dashboards, provisioned: every Ray head writes its dashboards' JSON (one file
 * per dashboard, matching the Ray version the run uses) into its session directory,
 * `/tmp/ray/session_latest/metrics/grafana/dashboards/` (Ray docs, "Using an existing Grafana
 * server", doc/source/cluster/metrics.md in ray-project/ray, commit 364df490: "find the
 * Ray-provided default Grafana dashboard JSONs at /tmp/ray/session_latest/metrics/grafana/
 * dashboards"; https://docs.ray.io/en/latest/cluster/metrics.html). A native sidecar of the head
 * reads them from the /tmp/ray volume it shares with the Ray container (the log shipper's volume,
 * logs.ts) and writes them into one ConfigMap per run in the monitoring namespace, labelled like
 * the run dashboard, which Grafana's dashboard sidecar loads. Pure.
 *
 * The ConfigMap is created empty by Pulumi (which then ignores its `data`), so the sidecar only
 * writes an existing object: one GET (is it there?) and one server-side-apply PATCH
 * (`Content-Type: application/apply-patch+yaml`, field manager `ray-dashboards`, `force=true`;
 * https://kubernetes.io/docs/reference/using-api/server-side-apply/). RBAC authorizes an HTTP GET of
 * one object as verb `get` and a PATCH as `patch`
 * (https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb),
 * so the Role grants exactly get and patch, of that one name. (`kubectl apply --server-side` would
 * need the same two verbs, but the pinned kubectl image is distroless — no shell to wait and loop
 * in — so the sidecar is the curl image, as the lifecycle Jobs, domain/lifecycle/scripts.ts.)
 *
 * Verified only on a real cluster: that Ray writes the files there for the miles image's Ray
 * version, that the curl image's user reads them, and that Grafana shows them.
 */
import type * as k8s from "@pulumi/kubernetes";
import { IMAGES, imageRef } from "../../catalog/versions";
import { GRAFANA_DASHBOARD_LABEL } from "../../catalog/observability";
import { partOfLabels } from "../labels";
import { RAY_LOG_DIR, RAY_LOG_VOLUME } from "./logs";
import type { ConfigMapManifest } from "./dashboards";
import { KUBE_CURL } from "../lifecycle/scripts";

/** Where the Ray head writes its Grafana dashboards (Ray docs, see above). */
export const RAY_DASHBOARDS_DIR = `${RAY_LOG_DIR}/session_latest/metrics/grafana/dashboards`;
export const RAY_DASHBOARDS_CONTAINER = "ray-dashboards";
/** The server-side-apply field manager owning the ConfigMap's `data`. */
export const RAY_DASHBOARDS_FIELD_MANAGER = "ray-dashboards";
/** Projected service-account token of the sidecar only (the head pod mounts no token otherwise). */
export const RAY_DASHBOARDS_TOKEN_VOLUME = "ray-dashboards-token";
const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Where a run's Ray dashboards go. */
export interface RayDashboardsTarget {
    /** Namespace of the monitoring stack (Grafana's dashboard sidecar watches it). */
    namespace: string;
    /** ConfigMap name, `<run>-ray-dashboards`. */
    configMap: string;
}

export function rayDashboardsConfigMapName(runName: string): string {
    return `${runName}-ray-dashboards`;
}

export function rayDashboardsTarget(runName: string, monitoringNamespace: string): RayDashboardsTarget {
    return { namespace: monitoringNamespace, configMap: rayDashboardsConfigMapName(runName) };
}

/** The empty ConfigMap Pulumi creates (the head's sidecar fills `data`). */
export function rayDashboardsConfigMap(t: RayDashboardsTarget): ConfigMapManifest {
    return {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: t.configMap, namespace: t.namespace, labels: { [GRAFANA_DASHBOARD_LABEL.key]: GRAFANA_DASHBOARD_LABEL.value, ...partOfLabels() } },
        data: {},
    };
}

export interface RoleManifest {
    apiVersion: "rbac.authorization.k8s.io/v1";
    kind: "Role";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    rules: Array<{ apiGroups: string[]; resources: string[]; resourceNames: string[]; verbs: string[] }>;
}

export interface RoleBindingManifest {
    apiVersion: "rbac.authorization.k8s.io/v1";
    kind: "RoleBinding";
    metadata: { name: string; namespace: string; labels: Record<string, string> };
    roleRef: { apiGroup: "rbac.authorization.k8s.io"; kind: "Role"; name: string };
    subjects: Array<{ kind: "ServiceAccount"; name: string; namespace: string }>;
}

/** get + patch of that one ConfigMap, nothing else. */
export function rayDashboardsRole(t: RayDashboardsTarget): RoleManifest {
    return {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: t.configMap, namespace: t.namespace, labels: partOfLabels() },
        rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: [t.configMap], verbs: ["get", "patch"] }],
    };
}

/** The Role, bound to the service account the Ray head runs as (training namespace). */
export function rayDashboardsRoleBinding(t: RayDashboardsTarget, serviceAccount: { name: string; namespace: string }): RoleBindingManifest {
    return {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: t.configMap, namespace: t.namespace, labels: partOfLabels() },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: t.configMap },
        subjects: [{ kind: "ServiceAccount", name: serviceAccount.name, namespace: serviceAccount.namespace }],
    };
}

/**
 * The sidecar's script (POSIX sh, busybox in the curl image). Env: NAMESPACE, CONFIGMAP, DIR; SA_DIR
 * only for tests. Waits for `*.json` in DIR and until their total size stops changing, checks
 * the ConfigMap exists, applies every file as one key of `data`, then sleeps. A failed apply is
 * retried every 30 s (a run's pod restart re-applies: the head writes the files again).
 *
 * JSON-string escaping without jq: a valid JSON text contains raw tab, CR and LF only as whitespace
 * between tokens (RFC 8259 §2 and §7: control characters inside strings must be escaped), so they
 * become spaces without changing the dashboard; then only `\` and `"` need escaping.
 */
export const RAY_DASHBOARDS_SCRIPT = `set -eu
${KUBE_CURL}
URL="$API/api/v1/namespaces/$NAMESPACE/configmaps/$CONFIGMAP"
size() { cat "$DIR"/*.json 2>/dev/null | wc -c | tr -d ' '; }
echo "waiting for Ray's Grafana dashboards in $DIR"
last=-1
while :; do
  n=$(size)
  if [ "$n" -gt 0 ] && [ "$n" = "$last" ]; then break; fi
  last=$n
  sleep 5
done
body() {
  printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s","namespace":"%s"},"data":{' "$CONFIGMAP" "$NAMESPACE"
  sep=
  for f in "$DIR"/*.json; do
    printf '%s"%s":"' "$sep" "$(basename "$f")"
    tr '\\t\\r\\n' '   ' < "$f" | sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g' | tr -d '\\n'
    printf '"'
    sep=,
  done
  printf '}}'
}
while :; do
  code=$(kube -o /dev/null -w '%{http_code}' "$URL") || code=000
  if [ "$code" = 200 ]; then
    out=$(body | kube -X PATCH -H 'Content-Type: application/apply-patch+yaml' --data-binary @- -w '\\n%{http_code}' "$URL?fieldManager=${RAY_DASHBOARDS_FIELD_MANAGER}&force=true") || out=000
    code=$(printf '%s\\n' "$out" | tail -n 1)
    if [ "$code" = 200 ]; then
      echo "applied $(ls "$DIR"/*.json | wc -l | tr -d ' ') Ray dashboards to configmap $NAMESPACE/$CONFIGMAP"
      while :; do sleep 3600; done
    fi
    echo "applying the dashboards to configmap $NAMESPACE/$CONFIGMAP failed: HTTP $code"
    printf '%s\\n' "$out" | sed '$d' | head -c 2000
    echo
  else
    echo "configmap $NAMESPACE/$CONFIGMAP is not readable (HTTP $code): is the monitoring stack deployed? retrying"
  fi
  sleep 30
done
`;

/**
 * The sidecar: a native sidecar (init container, `restartPolicy: Always`, like the log shipper) of
 * the head only. It mounts /tmp/ray read-only and the service-account token only it gets (projected
 * volume: the token, the cluster CA, as an automounted token would be); no other container of the
 * head has a token. Read-only root filesystem; hardenPodSpec drops every capability.
 */
export function rayDashboardsContainer(t: RayDashboardsTarget): k8s.types.input.core.v1.Container {
    return {
        name: RAY_DASHBOARDS_CONTAINER,
        restartPolicy: "Always",
        image: imageRef(IMAGES.curl),
        command: ["/bin/sh", "-ec", RAY_DASHBOARDS_SCRIPT],
        env: [
            { name: "NAMESPACE", value: t.namespace },
            { name: "CONFIGMAP", value: t.configMap },
            { name: "DIR", value: RAY_DASHBOARDS_DIR },
        ],
        resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
        securityContext: { readOnlyRootFilesystem: true },
        volumeMounts: [
            { name: RAY_LOG_VOLUME, mountPath: RAY_LOG_DIR, readOnly: true },
            { name: RAY_DASHBOARDS_TOKEN_VOLUME, mountPath: SA_DIR, readOnly: true },
        ],
    };
}

/**
 * The sidecar's token volume: what Kubernetes automounts (a bound token of 3607 s the kubelet
 * refreshes, and the `kube-root-ca.crt` ConfigMap's `ca.crt`), for one container only.
 * https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-token-volume
 */
export const RAY_DASHBOARDS_TOKEN: k8s.types.input.core.v1.Volume = {
    name: RAY_DASHBOARDS_TOKEN_VOLUME,
    projected: {
        sources: [
            { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
            { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        ],
    },
};

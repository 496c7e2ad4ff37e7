/**
 * How a user reaches the monitoring UIs. Service names follow the chart's naming: Grafana's is
 * `<release>-grafana` port 80 (grafana chart 12.11.1 `grafana.fullname`, values `service.port: 80`);
 * the operator creates `prometheus-operated` (9090) and `alertmanager-operated` (9093) for its
 * StatefulSets.
 */
import { MONITORING_RELEASE, GRAFANA_ADMIN_SECRET, type ResolvedMonitoring } from "./resolve";

export function grafanaPortForward(m: ResolvedMonitoring): string {
    return `kubectl -n ${m.namespace} port-forward svc/${MONITORING_RELEASE}-grafana 3000:80   # then http://localhost:3000, user admin`;
}

export function prometheusPortForward(m: ResolvedMonitoring): string {
    return `kubectl -n ${m.namespace} port-forward svc/prometheus-operated 9090:9090`;
}

export function grafanaPasswordCommand(m: ResolvedMonitoring): string {
    return `kubectl -n ${m.namespace} get secret ${GRAFANA_ADMIN_SECRET} -o jsonpath='{.data.admin-password}' | base64 -d   # or: pulumi stack output --show-secrets grafanaAdminPassword`;
}

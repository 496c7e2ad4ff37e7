/**
 * The checkpoint probe: a small sidecar of the Ray head that serves, in the Prometheus text format,
 * which iteration the run last checkpointed and when (`latest_checkpointed_iteration.txt` in the
 * `--save` directory, its content and mtime) and the run's save interval. miles v0.1.0 exports no
 * checkpoint metric (catalog/observability.ts MILES_KEYS), and "the last checkpoint is older than
 * two save intervals" is the alert that protects hours of paid GPU time.
 *
 * It runs the run's own image (already on the node for the head container) with python3's standard
 * library only. test/monitoring.test.ts runs this very script and scrapes it.
 */
import type * as k8s from "@pulumi/kubernetes";
import { CHECKPOINT_TRACKER_FILE, MILES_RUN_LABEL } from "../../catalog/observability";

export const CHECKPOINT_PROBE_PORT_NAME = "ckpt-metrics";
export const CHECKPOINT_PROBE_PORT = 9109;
export const CHECKPOINT_PROBE_CONTAINER = "checkpoint-probe";

/** Metric names the probe serves. */
export const PROBE_METRICS = {
    iteration: "miles_cluster_checkpoint_iteration",
    lastSave: "miles_cluster_checkpoint_last_save_timestamp_seconds",
    saveInterval: "miles_cluster_checkpoint_save_interval",
} as const;

/** The probe (python3, stdlib only). Env: MILES_CLUSTER_SAVE_DIR, MILES_CLUSTER_RUN, MILES_CLUSTER_SAVE_INTERVAL, MILES_CLUSTER_PROBE_PORT. */
export const PROBE_SCRIPT = `
import http.server, os
save = os.environ["MILES_CLUSTER_SAVE_DIR"]
run = os.environ["MILES_CLUSTER_RUN"].replace("\\\\", "").replace('"', "")
interval = int(os.environ["MILES_CLUSTER_SAVE_INTERVAL"])
tracker = os.path.join(save, "${CHECKPOINT_TRACKER_FILE}")
label = '{${MILES_RUN_LABEL}="%s"}' % run
def body():
    out = ["# TYPE ${PROBE_METRICS.saveInterval} gauge", "${PROBE_METRICS.saveInterval}%s %d" % (label, interval)]
    try:
        text = open(tracker).read().strip()
        mtime = os.stat(tracker).st_mtime
    except OSError:
        text = ""
    if text.isdigit():
        out += ["# TYPE ${PROBE_METRICS.iteration} gauge", "${PROBE_METRICS.iteration}%s %s" % (label, text),
                "# TYPE ${PROBE_METRICS.lastSave} gauge", "${PROBE_METRICS.lastSave}%s %.3f" % (label, mtime)]
    return ("\\n".join(out) + "\\n").encode()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0] != "/metrics":
            self.send_response(404); self.end_headers(); return
        b = body()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", int(os.environ["MILES_CLUSTER_PROBE_PORT"])), Handler).serve_forever()
`.trimStart();

export interface ProbeTarget {
    image: k8s.types.input.core.v1.Container["image"];
    imagePullPolicy?: string;
    runName: string;
    /** The run's `--save` directory inside the pod. */
    saveDir: string;
    saveInterval: number;
}

/** The sidecar container (mounts what the head mounts, read-only). */
export function checkpointProbeContainer(p: ProbeTarget, volumeMounts: k8s.types.input.core.v1.VolumeMount[]): k8s.types.input.core.v1.Container {
    return {
        name: CHECKPOINT_PROBE_CONTAINER,
        image: p.image,
        imagePullPolicy: p.imagePullPolicy,
        command: ["python3", "-c", PROBE_SCRIPT],
        env: [
            { name: "MILES_CLUSTER_SAVE_DIR", value: p.saveDir },
            { name: "MILES_CLUSTER_RUN", value: p.runName },
            { name: "MILES_CLUSTER_SAVE_INTERVAL", value: String(p.saveInterval) },
            { name: "MILES_CLUSTER_PROBE_PORT", value: String(CHECKPOINT_PROBE_PORT) },
        ],
        ports: [{ name: CHECKPOINT_PROBE_PORT_NAME, containerPort: CHECKPOINT_PROBE_PORT }],
        resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "128Mi" } },
        volumeMounts: volumeMounts.map((v) => ({ ...v, readOnly: true })),
    };
}

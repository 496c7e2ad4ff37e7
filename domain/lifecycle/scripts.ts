/**
 * The shell scripts of the run-lifecycle Jobs (end-of-block save, pre-replacement save, resume).
 * Plain POSIX sh for the curl image (busybox) and bash for the AWS CLI image; every input comes from
 * the environment, so the same text runs in every Job and is tested offline with stand-ins for
 * `curl` and `aws` (test/runLifecycle.test.ts).
 *
 * The run's own save: miles v0.1.0 `--save-trigger-sentinel PATH` (radixark/miles
 * miles/utils/arguments.py:1334, tag v0.1.0) — "If the file exists at an iteration's save point, a
 * checkpoint is saved and the file is removed"; train.py:121-127 removes it only after the forced
 * synchronous save returned. So "the sentinel is gone" means "the checkpoint is written".
 *
 * Kubernetes API calls use the pod's service-account token (RBAC: get/patch of this one RayJob,
 * list of nodes for the resume); no kubectl is needed.
 */

import { SAVED_AT_FILE } from "../training/preStop";

/** Files the containers of one Job pass on to each other (an emptyDir mounted here). */
export const STATE_DIR = "/lifecycle";

/** Annotation the end-of-block save puts on the RayJob it suspends; the resume only resumes such a RayJob. */
export const SUSPENDED_BY_ANNOTATION = "miles-cluster/suspended-by";
export const SUSPENDED_BY_BLOCK_END = "capacity-block-end";

/** `kube ARGS…`: curl to the API server with the pod's service-account token and CA (also the Ray head's dashboards sidecar, domain/monitoring/rayDashboards.ts). */
export const KUBE_CURL = `API=https://kubernetes.default.svc
SA=\${SA_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
kube() { curl -sS --cacert "$SA/ca.crt" -H "Authorization: Bearer $(cat "$SA/token")" "$@"; }`;

const K8S_API = `${KUBE_CURL}
RAYJOB_URL="$API/apis/ray.io/v1/namespaces/$NAMESPACE/rayjobs/$RAYJOB"`;

/**
 * Step 1 (curl image): read the RayJob; if it runs, create the sentinel and wait until the run
 * removes it. Writes `$STATE_DIR/state`: absent | finished | not-running | saved | timeout, and
 * `$STATE_DIR/saved-at` (epoch seconds).
 *
 * Env: NAMESPACE, RAYJOB, SENTINEL, SAVE_DEADLINE (epoch s) or SAVE_TIMEOUT_SECONDS, ON_TIMEOUT
 * (fail | continue), REFUSE_RUNNING (true: fail instead of saving), BLOCK_END (epoch s, optional:
 * a CronJob firing after it does nothing).
 */
export const TRIGGER_SAVE_SCRIPT = `set -eu
S=\${STATE_DIR:-${STATE_DIR}}
${K8S_API}
state() { echo "$1" > $S/state; }
now() { date -u +%s; }
if [ -n "\${BLOCK_END:-}" ] && [ "$(now)" -ge "$BLOCK_END" ]; then echo "the Capacity Block already ended: nothing to do"; state absent; exit 0; fi
code=$(kube -o $S/rayjob.json -w '%{http_code}' "$RAYJOB_URL")
if [ "$code" = 404 ]; then echo "no RayJob $RAYJOB: nothing to save"; state absent; exit 0; fi
[ "$code" = 200 ] || { echo "reading RayJob $RAYJOB failed: HTTP $code"; cat $S/rayjob.json; exit 1; }
status=$(tr -d ' \\n' < $S/rayjob.json | sed -n 's/.*"jobDeploymentStatus":"\\([A-Za-z]*\\)".*/\\1/p')
case "$status" in
  Complete|Failed) echo "RayJob $RAYJOB is $status: nothing to save"; state finished; exit 0 ;;
  Running) ;;
  *) echo "RayJob $RAYJOB is \${status:-not started}: no training step to save"; state not-running; exit 0 ;;
esac
if [ "\${REFUSE_RUNNING:-false}" = true ]; then
  echo "RayJob $RAYJOB is Running and training.lifecycle.onRunningChange is refuse: not replacing it (set save-then-replace or restart, or suspend the run first)"
  exit 1
fi
deadline=\${SAVE_DEADLINE:-$(( $(now) + \${SAVE_TIMEOUT_SECONDS:-1800} ))}
mkdir -p "$(dirname "$SENTINEL")"
touch "$SENTINEL"
echo "asked the run to save: created $SENTINEL (deadline $(date -u -d @"$deadline" 2>/dev/null || echo "$deadline"))"
while [ -e "$SENTINEL" ]; do
  if [ "$(now)" -ge "$deadline" ]; then
    rm -f "$SENTINEL"
    echo "the run did not save before the deadline (a training step takes longer than the time left, or the run is stuck)"
    state timeout
    [ "\${ON_TIMEOUT:-fail}" = continue ] && exit 0
    exit 1
  fi
  sleep 10
done
now > $S/saved-at
state saved
echo "checkpoint written: the run removed $SENTINEL"
`;

/**
 * Step 2 (AWS CLI image): after a save, wait until FSx has exported it to S3 — the auto-export
 * queue is empty when CloudWatch `AWS/FSx` `AgeOfOldestQueuedMessage` (FileSystemId, Publisher=
 * AutoExport) is 0 (FSx API reference, DeleteFileSystemLustreConfiguration.SkipFinalBackup; FSx
 * user guide, monitoring-cloudwatch.html#auto-import-export-metrics). Export tasks cannot run
 * beside automatic export, so none is created. Two consecutive 1-minute datapoints of 0 newer than
 * the save = empty; no datapoint at all for NO_DATA_MINUTES = nothing was queued.
 *
 * Env: FILE_SYSTEM_ID, EXPORT_DEADLINE (epoch s) or EXPORT_TIMEOUT_SECONDS, ON_TIMEOUT, NO_DATA_MINUTES.
 */
export const WAIT_EXPORT_SCRIPT = `set -eu
S=\${STATE_DIR:-${STATE_DIR}}
st=$(cat $S/state)
[ "$st" = saved ] || { echo "no new checkpoint ($st): nothing to wait for"; exit 0; }
saved=$(cat $S/saved-at)
deadline=\${EXPORT_DEADLINE:-$(( $(date -u +%s) + \${EXPORT_TIMEOUT_SECONDS:-1200} ))}
since=$(date -u -d @"$saved" +%Y-%m-%dT%H:%M:%SZ)
quiet=0
while :; do
  if [ "$(date -u +%s)" -ge "$deadline" ]; then
    echo "the FSx export queue of $FILE_SYSTEM_ID was not empty before the deadline: the checkpoint is on the file system but maybe not in S3 yet"
    [ "\${ON_TIMEOUT:-fail}" = continue ] && exit 0
    exit 1
  fi
  sleep 60
  last=$(aws cloudwatch get-metric-statistics --namespace AWS/FSx --metric-name AgeOfOldestQueuedMessage \\
    --dimensions Name=FileSystemId,Value="$FILE_SYSTEM_ID" Name=Publisher,Value=AutoExport \\
    --start-time "$since" --end-time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --period 60 --statistics Maximum \\
    --query 'sort_by(Datapoints,&Timestamp)[-2:].Maximum' --output text) || { echo "CloudWatch read failed, retrying: $last"; continue; }
  last=$(echo $last)
  echo "AgeOfOldestQueuedMessage (AutoExport) of $FILE_SYSTEM_ID, last minutes: \${last:-no datapoint}"
  case "$last" in
    "0.0 0.0") echo "export queue empty: the checkpoint is in S3"; exit 0 ;;
    ""|None) quiet=$((quiet + 1)); if [ "$quiet" -ge "\${NO_DATA_MINUTES:-10}" ]; then echo "no AutoExport datapoint for $quiet minutes after the save: nothing is queued"; exit 0; fi ;;
    *) quiet=0 ;;
  esac
done
`;

/**
 * Step 3 of the end-of-block save (curl image): suspend the RayJob so KubeRay deletes its Ray
 * cluster instead of burning its retries on nodes that are going away, and mark it for the resume.
 */
export const SUSPEND_SCRIPT = `set -eu
S=\${STATE_DIR:-${STATE_DIR}}
${K8S_API}
st=$(cat $S/state)
case "$st" in absent|finished) echo "nothing to suspend ($st)"; exit 0 ;; esac
body='{"metadata":{"annotations":{"${SUSPENDED_BY_ANNOTATION}":"${SUSPENDED_BY_BLOCK_END}"}},"spec":{"suspend":true}}'
code=$(kube -o $S/patch.json -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' --data "$body" "$RAYJOB_URL")
[ "$code" = 200 ] || { echo "suspending RayJob $RAYJOB failed: HTTP $code"; cat $S/patch.json; exit 1; }
echo "RayJob $RAYJOB suspended before the Capacity Block ends ($st); it resumes when the next block's nodes are Ready"
`;

/**
 * The resume (curl image): at a block's start, wait until NODES_NEEDED nodes matching NODE_SELECTOR
 * are Ready, then resume the RayJob — only if the end-of-block save suspended it (a RayJob the user
 * paused stays paused).
 *
 * Env: NAMESPACE, RAYJOB, NODE_SELECTOR (label selector, URL-encoded), NODES_NEEDED, BLOCK_END (epoch s).
 */
/** The resume's first part: wait for the block's nodes, then read the RayJob and go on only if the end-of-block stop marked it. */
const WAIT_FOR_BLOCK_NODES = `set -eu
S=\${STATE_DIR:-${STATE_DIR}}
${K8S_API}
now() { date -u +%s; }
ready() { kube "$API/api/v1/nodes?labelSelector=$NODE_SELECTOR" | tr -d ' \\n' | grep -o '"type":"Ready","status":"True"' | wc -l; }
while :; do
  [ "$(now)" -lt "$BLOCK_END" ] || { echo "the block ended before its nodes were Ready: not resuming"; exit 0; }
  n=$(ready)
  echo "$n of $NODES_NEEDED nodes Ready ($NODE_SELECTOR)"
  [ "$n" -ge "$NODES_NEEDED" ] && break
  sleep 30
done
code=$(kube -o $S/rayjob.json -w '%{http_code}' "$RAYJOB_URL")
[ "$code" = 200 ] || { echo "no RayJob $RAYJOB to resume (HTTP $code)"; exit 0; }
if ! tr -d ' \\n' < $S/rayjob.json | grep -q '"${SUSPENDED_BY_ANNOTATION}":"${SUSPENDED_BY_BLOCK_END}"'; then
  echo "RayJob $RAYJOB was not suspended by an end-of-block save: left as it is"; exit 0
fi
`;

export const RESUME_SCRIPT = `${WAIT_FOR_BLOCK_NODES}body='{"metadata":{"annotations":{"${SUSPENDED_BY_ANNOTATION}":null}},"spec":{"suspend":false}}'
code=$(kube -o $S/patch.json -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' --data "$body" "$RAYJOB_URL")
[ "$code" = 200 ] || { echo "resuming RayJob $RAYJOB failed: HTTP $code"; cat $S/patch.json; exit 1; }
echo "RayJob $RAYJOB resumed: it continues from its last checkpoint"
`;

/**
 * Under Kueue, the end-of-block stop (curl image): Kueue owns a queued RayJob's `spec.suspend` and
 * unsuspends an admitted job "regardless of its previous value" (kubernetes-sigs/kueue v0.19.2
 * site/content/en/docs/tasks/run/rayjobs.md, "Suspend control"), so the stop deactivates the run's
 * Kueue Workload instead: "Changing .spec.Active from true to false will cause a running workload
 * to be evicted and not be requeued" (site/content/en/docs/concepts/workload.md). Kueue then
 * suspends the RayJob itself and keeps it suspended until the Workload is active again. The
 * Workload is found by the label Kueue puts on it, `kueue.x-k8s.io/job-uid=<RayJob uid>`
 * (pkg/controller/constants/constants.go JobUIDLabel, set in pkg/controller/jobframework/
 * reconciler.go). Reads `$STATE_DIR/rayjob.json` from the save step. Env: NAMESPACE, RAYJOB.
 */
const WORKLOAD_OF_RAYJOB = `uid=$(tr -d ' \\n' < $S/rayjob.json | grep -o '"uid":"[^"]*"' | head -n 1 | cut -d'"' -f4)
[ -n "$uid" ] || { echo "RayJob $RAYJOB has no uid in its JSON"; exit 1; }
WL_URL="$API/apis/kueue.x-k8s.io/v1beta2/namespaces/$NAMESPACE/workloads"
code=$(kube -o $S/workloads.json -w '%{http_code}' "$WL_URL?labelSelector=kueue.x-k8s.io%2Fjob-uid%3D$uid")
[ "$code" = 200 ] || { echo "listing the Kueue Workloads of RayJob $RAYJOB failed: HTTP $code"; cat $S/workloads.json; exit 1; }
# The API server writes a custom object's keys in sorted order, so an item's first "name" is its metadata.name (managedFields entries have no "name" key).
wl=$(tr -d ' \\n' < $S/workloads.json | grep -o '"name":"[^"]*"' | head -n 1 | cut -d'"' -f4)`;

export const DEACTIVATE_SCRIPT = `set -eu
S=\${STATE_DIR:-${STATE_DIR}}
${K8S_API}
st=$(cat $S/state)
case "$st" in absent|finished) echo "nothing to stop ($st)"; exit 0 ;; esac
${WORKLOAD_OF_RAYJOB}
[ -n "$wl" ] || { echo "RayJob $RAYJOB has no Kueue Workload ($st): nothing is admitted to stop"; exit 0; }
body='{"metadata":{"annotations":{"${SUSPENDED_BY_ANNOTATION}":"${SUSPENDED_BY_BLOCK_END}"}}}'
code=$(kube -o $S/patch.json -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' --data "$body" "$RAYJOB_URL")
[ "$code" = 200 ] || { echo "marking RayJob $RAYJOB failed: HTTP $code"; cat $S/patch.json; exit 1; }
code=$(kube -o $S/patch.json -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' --data '{"spec":{"active":false}}' "$WL_URL/$wl")
[ "$code" = 200 ] || { echo "deactivating Workload $wl failed: HTTP $code"; cat $S/patch.json; exit 1; }
echo "Workload $wl of RayJob $RAYJOB deactivated before the Capacity Block ends ($st): Kueue suspends the RayJob and keeps it out of the queue until the next block's resume"
`;

/**
 * Under Kueue, the resume at a block's start (curl image): after RESUME_SCRIPT's wait for the
 * nodes, reactivate the Workload the end-of-block stop deactivated (only a RayJob it marked); Kueue
 * then queues and admits it as usual. Env: NAMESPACE, RAYJOB, NODE_SELECTOR, NODES_NEEDED, BLOCK_END.
 */
export const REACTIVATE_SCRIPT = `${WAIT_FOR_BLOCK_NODES}${WORKLOAD_OF_RAYJOB}
[ -n "$wl" ] || { echo "RayJob $RAYJOB has no Kueue Workload to reactivate"; exit 1; }
code=$(kube -o $S/patch.json -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' --data '{"spec":{"active":true}}' "$WL_URL/$wl")
[ "$code" = 200 ] || { echo "reactivating Workload $wl failed: HTTP $code"; cat $S/patch.json; exit 1; }
body='{"metadata":{"annotations":{"${SUSPENDED_BY_ANNOTATION}":null}}}'
code=$(kube -o $S/patch.json -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' --data "$body" "$RAYJOB_URL")
[ "$code" = 200 ] || { echo "unmarking RayJob $RAYJOB failed: HTTP $code"; cat $S/patch.json; exit 1; }
echo "Workload $wl reactivated: Kueue admits RayJob $RAYJOB again and it continues from its last checkpoint"
`;

/** After a save step (curl image): record when the forced save finished (Env: SENTINEL). */
export const MARK_SAVED_SCRIPT = `set -eu
S=\${STATE_DIR:-${STATE_DIR}}
[ "$(cat $S/state)" = saved ] || { echo "no new checkpoint: nothing to record"; exit 0; }
date -u +%s > "$(dirname "$SENTINEL")/${SAVED_AT_FILE}"
echo "recorded the save: the run's pods will not save again when they stop"
`;


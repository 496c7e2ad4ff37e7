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

/** Files the containers of one Job pass on to each other (an emptyDir mounted here). */
export const STATE_DIR = "/lifecycle";

/** Annotation the end-of-block save puts on the RayJob it suspends; the resume only resumes such a RayJob. */
export const SUSPENDED_BY_ANNOTATION = "miles-cluster/suspended-by";
export const SUSPENDED_BY_BLOCK_END = "capacity-block-end";

const K8S_API = `API=https://kubernetes.default.svc
SA=\${SA_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
kube() { curl -sS --cacert "$SA/ca.crt" -H "Authorization: Bearer $(cat "$SA/token")" "$@"; }
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
export const RESUME_SCRIPT = `set -eu
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
body='{"metadata":{"annotations":{"${SUSPENDED_BY_ANNOTATION}":null}},"spec":{"suspend":false}}'
code=$(kube -o $S/patch.json -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' --data "$body" "$RAYJOB_URL")
[ "$code" = 200 ] || { echo "resuming RayJob $RAYJOB failed: HTTP $code"; cat $S/patch.json; exit 1; }
echo "RayJob $RAYJOB resumed: it continues from its last checkpoint"
`;

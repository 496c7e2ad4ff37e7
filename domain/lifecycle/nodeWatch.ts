/**
 * The node watcher of a run (issue 22): a one-replica Deployment per run (curl image, POSIX sh, on
 * the system nodes, the run's lifecycle service account) that watches the nodes the run's Ray pods
 * are on, and the nodes of the run's node groups.
 *
 * On a node with run pods:
 * - (spot groups only) the taint AWS Node Termination Handler sets when an interruption notice or a
 *   rebalance recommendation arrives (catalog/spotInterruption.ts NTH_TAINTS; why a watcher and not
 *   the drain's preStop: domain/lifecycle/spot.ts): it asks the run to save (the sentinel) and waits
 *   until the event's deadline; the node goes away by itself.
 * - the node monitoring agent's conditions (catalog/nodeHealth.ts NODE_MONITORING_CONDITIONS) with
 *   status False, or our unhealthy taint (put there by the boot check, another run's watcher or an
 *   operator): it taints the node `miles-cluster.io/unhealthy:NoSchedule` with the reason annotation
 *   (the patch of domain/health/nodeHealth.ts healthTaintPatch, in the sh of domain/health/nodeCheck.ts;
 *   a node already tainted keeps its reason), writes an `excluded` run event, asks the save at once,
 *   waits for it until a deadline that ends before EKS auto repair acts on that condition
 *   (`healthWatchList`) and within saveTimeoutMinutes, then deletes the run's pods on that node.
 *
 * Why deleting the pods restarts the run without the node (ray-project/kuberay v1.7.0,
 * ray-operator/controllers/ray/): the RayCluster recreates a deleted worker pod
 * (raycluster_controller.go:1167-1213, `diff := numExpectedWorkerPods - len(runningPods)`); it cannot
 * land on the tainted node (the run's pods do not tolerate the unhealthy taint: test/sim/health.test.ts).
 * The Ray actors on the deleted pod die, so train.py (the Ray driver) fails; KubeRay sets the RayJob
 * Failed once the Ray job is terminal and the submitter Job finished (rayjob_controller.go:336-349),
 * or when the submitter Job failed (:1138-1165); while `failed < backoffLimit + 1` it moves it to
 * Retrying (:542-555), deletes the RayCluster and the submitter and starts again with a new RayCluster
 * (:366-410) whose pods land on healthy nodes; --load = --save resumes from the save just written.
 * A collective hung on the bad GPU does not keep the run stuck: the deletion kills that node's ranks
 * (within POD_DELETE_GRACE_SECONDS), and the surviving ranks' collectives end by the NCCL watchdog
 * after --distributed-timeout-minutes (miles' default 10: radixark/miles v0.1.0 miles/utils/arguments.py:257, used as the process group's timeout in miles/ray/train_actor.py:111), which fails
 * the driver; under Kueue a worker that cannot be placed is also bounded by waitForPodsReady's
 * recoveryTimeout (domain/kueue.ts).
 *
 * On the nodes of the run's groups, once the run has pods: a node already tainted unhealthy gets one
 * `excluded` run event per node and boot (a taint of ours stays until the node reboots or is replaced:
 * a boot is one taint instance), so `miles-cluster runs` lists the nodes each attempt ran without.
 *
 * Events (RUN_EVENT_SCHEMA) go to the run's records directory; what must survive a restart of this
 * pod (the events written, the saves waited for) is kept beside them (`node-watch/`, no .json files).
 * Every input comes from the environment; the script runs offline under /bin/sh against stand-ins
 * for the API server (test/nodeWatch.test.ts, test/spotInterruption.test.ts, test/sim/).
 */
import type { ResolvedRun } from "../training/run";
import { runLabels } from "../training/pod";
import { RUN_EVENT_SCHEMA, RUN_EVENTS_DIR, RUN_RECORD_DIR } from "../training/runRecord";
import { NODE_HEALTH_EVENT_KIND } from "../training/attempts";
import { SAVED_AT_FILE } from "../training/preStop";
import { CHECKPOINT_TRACKER_FILE } from "../../catalog/observability";
import { IMAGES, imageRef } from "../../catalog/versions";
import { NTH_TAINTS, SPOT_NOTICE_SECONDS } from "../../catalog/spotInterruption";
import { NODE_MONITORING_CONDITIONS, NODE_REPAIR_AFTER_MINUTES } from "../../catalog/nodeHealth";
import { HEAD_COMPONENT, RUN_LABELS, WORKER_COMPONENT } from "../../catalog/runLabels";
import { HEALTH_PENDING_TAINT, UNHEALTHY_REASON_ANNOTATION, UNHEALTHY_TAINT } from "../health/nodeHealth";
import { NODE_API_SH, taintJson } from "../health/nodeCheck";
import { STATE_DIR } from "./scripts";
import { lifecycleName, podSpec, runOnSpot, step, type LifecycleContext } from "./jobs";

/** How often the watcher looks (seconds): AWS recommends checking for the notice every 5 s (spot-instance-termination-notices.html). */
export const NODE_WATCH_POLL_SECONDS = 5;
/**
 * The run's groups (a NodeList with every node's status and image list) are listed every this many
 * polls, not every poll: that scan only records nodes already kept out, nothing waits on it.
 */
export const GROUP_SCAN_POLLS = 12;
/** After the two-minute notice the node is gone: a save still asked for 60 s later will not come from this attempt. */
export const SPOT_SAVE_GRACE_SECONDS = 60;
/**
 * How long before EKS auto repair acts on a condition the watcher's wait for the save ends: one poll,
 * the pods' deletion (POD_DELETE_GRACE_SECONDS) and slack for the API calls, rounded up to whole minutes.
 */
export const HEALTH_REPAIR_MARGIN_MINUTES = 2;
/**
 * Grace period of the deletion of the run's pods on an unhealthy node (DeleteOptions.gracePeriodSeconds,
 * https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/delete-options/): it overrides
 * the pods' terminationGracePeriodSeconds, so a preStop save (domain/training/preStop.ts) does not try
 * a second save after the watcher's own, and a process stuck on the bad GPU is killed within it.
 */
export const POD_DELETE_GRACE_SECONDS = 30;
/** What the component label and the Deployment's name say. */
export const NODE_WATCH = "node-watch";

/** The run's events directory on the shared volume. */
export const runEventsDir = (r: Pick<ResolvedRun, "paths">) => `${r.paths.checkpointDir}/${RUN_RECORD_DIR}/${RUN_EVENTS_DIR}`;

/**
 * awk: JSON (the API server's answer, pretty-printed or not: it pretty-prints for a User-Agent that
 * starts with "curl", kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/endpoints/handlers/
 * negotiation/negotiate.go isPrettyPrint) → one `path<TAB>value` line per scalar, in one pass over the lines,
 * e.g. `.items[0].status.conditions[3].type<TAB>AcceleratedHardwareReady`. String escapes are decoded
 * (\n, \t, \r become a space; \uXXXX is kept as written).
 */
export const JSON_FLAT_AWK = `function path(   d, p) { p = ""; for (d = 1; d <= depth; d++) p = p (T[d] == "[" ? "[" K[d] "]" : "." K[d]); return p }
# Line by line (the API server pretty-prints for curl; a JSON string holds no raw newline), the state kept across lines.
{
  buf = $0; n = length(buf); i = 1
  while (i <= n) {
    c = substr(buf, i, 1)
    if (c == "{" || c == "[") { depth++; T[depth] = c; K[depth] = (c == "[" ? 0 : ""); E[depth] = (c == "{"); i++; continue }
    if (c == "}" || c == "]") { depth--; i++; continue }
    if (c == ",") { if (T[depth] == "[") K[depth]++; else E[depth] = 1; i++; continue }
    if (c == ":") { E[depth] = 0; i++; continue }
    if (c == "\\"") {
      j = i + 1; v = ""
      while (j <= n) {
        d = substr(buf, j, 1)
        if (d == "\\\\") { e = substr(buf, j + 1, 1); if (e == "n" || e == "t" || e == "r") v = v " "; else if (e == "u") v = v "\\\\u"; else v = v e; j += 2; continue }
        if (d == "\\"") break
        v = v d; j++
      }
      i = j + 1
      if (T[depth] == "{" && E[depth]) { K[depth] = v; continue }
      print path() "\\t" v; continue
    }
    if (c == " " || c == "\\t" || c == "\\r") { i++; continue }
    j = i; while (j <= n && index(",}] \\t\\r", substr(buf, j, 1)) == 0) j++
    print path() "\\t" substr(buf, i, j - i); i = j
  }
}`;

/**
 * awk over a flattened NodeList (or, with `single=1`, one Node) → per node `N<TAB>name<TAB>boot ID<TAB>
 * tainted (0|1)<TAB>seconds (the shortest wait of its False conditions, or UNHEALTHY_SECONDS)<TAB>number
 * of C lines<TAB>repair bound (epoch seconds: the earliest lastTransitionTime + REPAIR seconds of its False
 * conditions, or "-")<TAB>annotated reason`, then one `C<TAB>name<TAB>reason` per watched condition with
 * status False, in the node's order — the reasons of domain/health/nodeHealth.ts monitoringProblems — and
 * one `T<TAB>name<TAB>key<TAB>value` per taint. Vars: conditions (CONDITIONS), unhealthy
 * (UNHEALTHY_SECONDS), repair (REPAIR: `Type=seconds` after the condition's transition by which the save
 * must be over). A condition's lastTransitionTime is RFC 3339 in UTC (metav1.Time), turned into epoch
 * seconds by the days-from-civil formula (no mktime: busybox and mawk differ), printed with %.0f (mawk
 * prints a number past 2^31 with OFMT's %.6g, and clamps %d to 2^31 − 1).
 */
export const NODE_HEALTH_AWK = `function epoch(s,   y, mo, d, era, yoe, doy, doe) {
  y = substr(s, 1, 4) + 0; mo = substr(s, 6, 2) + 0; d = substr(s, 9, 2) + 0
  if (y < 1970 || mo < 1 || d < 1) return ""
  if (mo <= 2) y--
  era = int(y / 400); yoe = y - era * 400; doy = int((153 * ((mo + 9) % 12) + 2) / 5) + d - 1
  doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
  return (era * 146097 + doe - 719468) * 86400 + substr(s, 12, 2) * 3600 + substr(s, 15, 2) * 60 + substr(s, 18, 2)
}
BEGIN { FS = "\\t"; nw = split(conditions, W, " "); for (k = 1; k <= nw; k++) { split(W[k], kv, "="); S[kv[1]] = kv[2] }
  nr = split(repair, RW, " "); for (k = 1; k <= nr; k++) { split(RW[k], kv, "="); RB[kv[1]] = kv[2] } }
{
  p = $1; if (single) p = ".items[0]" p; if (p !~ /^\\.items\\[[0-9]+\\]/) next
  i = p; sub(/^\\.items\\[/, "", i); sub(/\\].*$/, "", i); rest = p; sub(/^\\.items\\[[0-9]+\\]/, "", rest)
  v = substr($0, length($1) + 2)
  if (!(i in seen)) { seen[i] = 1; order[++m] = i }
  if (rest == ".metadata.name") N[i] = v
  else if (rest == ".status.nodeInfo.bootID") B[i] = v
  else if (rest == ".metadata.annotations.${UNHEALTHY_REASON_ANNOTATION}") R[i] = v
  else if (rest ~ /^\\.spec\\.taints\\[[0-9]+\\]\\.(key|value)$/) {
    t = rest; sub(/^\\.spec\\.taints\\[/, "", t); f = t; sub(/\\].*$/, "", t); sub(/^[0-9]+\\]\\./, "", f)
    TV[i, t, f] = v; if (!((i, t) in ts)) { ts[i, t] = 1; to[i, ++nt[i]] = t }
    if (f == "key" && v == "${UNHEALTHY_TAINT.key}") U[i] = 1
  }
  else if (rest ~ /^\\.status\\.conditions\\[[0-9]+\\]\\.[A-Za-z]+$/) {
    c = rest; sub(/^\\.status\\.conditions\\[/, "", c); f = c; sub(/\\].*$/, "", c); sub(/^[0-9]+\\]\\./, "", f)
    C[i, c, f] = v; if (!((i, c) in cs)) { cs[i, c] = 1; co[i, ++nc[i]] = c }
  }
}
END {
  for (k = 1; k <= m; k++) {
    i = order[k]; secs = ""; due = ""
    for (q = 1; q <= nc[i]; q++) {
      c = co[i, q]; t = C[i, c, "type"]
      if (!(t in S) || C[i, c, "status"] != "False") continue
      r = t "=False"; if (C[i, c, "reason"] != "") r = r " (" C[i, c, "reason"] (C[i, c, "message"] != "" ? ": " C[i, c, "message"] : "") ")"
      out[++no] = "C\\t" N[i] "\\t" r
      if (secs == "" || S[t] + 0 < secs + 0) secs = S[t]
      e = (t in RB) ? epoch(C[i, c, "lastTransitionTime"]) : ""
      if (e != "" && (due == "" || e + RB[t] < due + 0)) due = e + RB[t]
    }
    print "N\\t" N[i] "\\t" (B[i] == "" ? "-" : B[i]) "\\t" (U[i] ? 1 : 0) "\\t" (secs == "" ? unhealthy : secs) "\\t" (no + 0) "\\t" (due == "" ? "-" : sprintf("%.0f", due)) "\\t" R[i]
    for (q = 1; q <= no; q++) print out[q]
    for (q = 1; q <= nt[i]; q++) print "T\\t" N[i] "\\t" TV[i, to[i, q], "key"] "\\t" TV[i, to[i, q], "value"]
    no = 0
  }
}`;

/**
 * Env: NAMESPACE, RUN, POD_SELECTOR (URL-encoded label selector of the run's Ray pods), NODE_SELECTORS
 * (space-separated URL-encoded label selectors of the run's node groups), SENTINEL, EVENTS_DIR, WATCH
 * (space-separated `taint-key=kind=seconds` triples: which NTH taint means what and how long to wait for
 * the save; empty off spot), CONDITIONS (space-separated `Type=seconds`: the agent's conditions and the
 * wait for the save after each), UNHEALTHY_SECONDS (the wait after our taint seen on a node of the run),
 * REPAIR (space-separated `Type=seconds` after the condition's lastTransitionTime by which the save
 * must be over: EKS auto repair's delay less the margin; empty on a bring-your-own cluster),
 * DELETE_GRACE_SECONDS, POLL_SECONDS, ONCE (1: one pass, for tests).
 */
export const NODE_WATCH_SCRIPT = `set -u
S=\${STATE_DIR:-${STATE_DIR}}
NODE_NAME=none
${NODE_API_SH}
now() { date -u +%s; }
iso() { date -u +%Y-%m-%dT%H:%M:%SZ; }
log() { echo "$(iso) ${NODE_WATCH}: $*"; }
M="$(dirname "$SENTINEL")/${SAVED_AT_FILE}"
# What must survive a restart of this pod: the events written (seen-*), the saves waited for (pending/*).
W="$(dirname "$EVENTS_DIR")/${NODE_WATCH}"
mkdir -p "$W/pending" 2>/dev/null || true
cat > $S/flat.awk <<'AWK'
${JSON_FLAT_AWK}
AWK
cat > $S/health.awk <<'AWK'
${NODE_HEALTH_AWK}
AWK
nodes_health() { awk -f $S/flat.awk "$@" | awk -v single="\${SINGLE:-0}" -v conditions="\${CONDITIONS:-}" -v unhealthy="\${UNHEALTHY_SECONDS:-0}" -v repair="\${REPAIR:-}" -f $S/health.awk; }
TAB=$(printf '\\t')
# A run event; $3 (the event) is written as a JSON string.
note() {
  mkdir -p "$EVENTS_DIR" || return 0
  # A counter after the second keeps two notes of one second in the order they were written (file names sort).
  c=$(( $(cat "$S/note-seq" 2>/dev/null || echo 0) + 1 )); echo "$c" > "$S/note-seq"
  f="$EVENTS_DIR/$(now)-$(printf %06d "$c")-$1-$4.json"
  ev=$(printf '%s\\n' "$3" | json_str)
  printf '{"schema":"${RUN_EVENT_SCHEMA}","run":"%s","kind":"%s","node":"%s","event":"%s","outcome":"%s","at":"%s"}\\n' "$RUN" "$1" "$2" "$ev" "$4" "$(iso)" > "$f.tmp" && mv "$f.tmp" "$f"
}
# ask_save KIND NODE ID DEADLINE ACTION EVENT: the sentinel at once, and a pending save until the deadline (epoch seconds).
# The watcher owns a sentinel only when it created it ($W/own-sentinel): one that the pre-replacement or
# end-of-block save created stays theirs to remove at their own deadline.
ask_save() {
  if [ -e "$SENTINEL" ]; then
    log "$1 on node $2 ($6): a save is already asked for"
  else
    mkdir -p "$(dirname "$SENTINEL")" && touch "$SENTINEL" && : > "$W/own-sentinel"
    log "$1 on node $2 ($6): asked the run to save ($SENTINEL)"
  fi
  echo "$1 $2 $4 $5 $6" > "$W/pending/$3"
  note "$1" "$2" "$6" save-requested
}
# Delete the run's pods on a node (KubeRay recreates the workers elsewhere and retries the failed job).
restart_without() {
  ok=1
  for pod in $(awk -v n="$1" '$2 == n { print $1 }' $S/pods); do
    code=$(kube -o $S/delete.out -w '%{http_code}' -X DELETE "$API/api/v1/namespaces/$NAMESPACE/pods/$pod?gracePeriodSeconds=\${DELETE_GRACE_SECONDS:-${POD_DELETE_GRACE_SECONDS}}")
    case "$code" in 200|202|404) log "deleted pod $pod on node $1" ;; *) ok=0; log "deleting pod $pod on node $1 failed: HTTP $code" ;; esac
  done
  if [ $ok = 1 ]; then note "$2" "$1" "$3" restarted; log "the run's pods on node $1 are deleted: KubeRay retries the run on other nodes"; else note "$2" "$1" "$3" restart-failed; fi
}
log "watching the nodes of the pods $POD_SELECTOR in $NAMESPACE for: \${WATCH:-} \${CONDITIONS:-} ${UNHEALTHY_TAINT.key}"
while :; do
  # The run's Ray pods as "pod node" lines, their nodes one per line.
  kube "$API/api/v1/namespaces/$NAMESPACE/pods?labelSelector=$POD_SELECTOR" | awk -f $S/flat.awk | awk -F '\\t' -v nodes=$S/nodes '
    $1 ~ /^\\.items\\[[0-9]+\\]\\.metadata\\.name$/ { i = $1; sub(/\\].*$/, "", i); P[i] = $2 }
    $1 ~ /^\\.items\\[[0-9]+\\]\\.spec\\.nodeName$/ { i = $1; sub(/\\].*$/, "", i); D[i] = $2 }
    END { printf "" > nodes; for (i in P) if (i in D) { print P[i], D[i]; if (!(D[i] in seen)) { seen[D[i]] = 1; print D[i] > nodes } } }' > $S/pods
  nodes=""
  while read -r n; do nodes="$nodes $n"; done < $S/nodes
  for n in $nodes; do
    code=$(kube -o $S/node.raw -w '%{http_code}' "$API/api/v1/nodes/$n")
    [ "$code" = 200 ] || { log "reading node $n failed: HTTP $code"; continue; }
    SINGLE=1 nodes_health $S/node.raw > $S/health
    IFS="$TAB" read -r _ name boot tainted secs nbad due annotated < $S/health
    for w in \${WATCH:-}; do
      key=\${w%%=*}; rest=\${w#*=}; kind=\${rest%%=*}; wsecs=\${rest#*=}
      ev=""
      while IFS="$TAB" read -r t _ k v; do [ "$t" = T ] && [ "$k" = "$key" ] && { ev=$v; break; }; done < $S/health
      # Taint values are label values ([A-Za-z0-9._-]): a file name as they are.
      [ -n "$ev" ] || continue
      [ -e "$W/seen-$ev" ] && continue
      : > "$W/seen-$ev"
      ask_save "$kind" "$n" "$ev" "$(( $(now) + wsecs ))" none "$ev"
    done
    # Boot IDs are UUIDs, node names DNS names: a file name as they are.
    id="health-$n-$boot"
    [ -e "$W/seen-$id" ] && continue
    if [ "$tainted" = 1 ]; then
      reason=\${annotated:-unhealthy (no reason recorded)}
    elif [ "$nbad" -gt 0 ]; then
      NODE_NAME=$n; NODE_URL="$API/api/v1/nodes/$n"
      read_node > $S/read.log 2>&1 || { cat $S/read.log; continue; }
      reason=$(grep '^C' $S/health | cut -f 3- | json_str)
      # healthTaintPatch: the reason first (a node kept out always carries it), then the taints.
      patch_node application/merge-patch+json "{\\"metadata\\":{\\"annotations\\":{\\"${UNHEALTHY_REASON_ANNOTATION}\\":\\"$reason\\"}}}" || continue
      ops=$(remove_ops ${HEALTH_PENDING_TAINT.key} ${UNHEALTHY_TAINT.key})
      patch_node application/json-patch+json "[\${ops:+$ops,}$(add_op '${taintJson(UNHEALTHY_TAINT)}')]" || continue
      reason=$(grep '^C' $S/health | cut -f 3- | awk 'BEGIN { ORS = "" } { printf "%s%s", (NR > 1 ? "; " : ""), $0 }')
      log "node $n: $reason: tainted ${UNHEALTHY_TAINT.key}:${UNHEALTHY_TAINT.effect}"
    else
      continue
    fi
    : > "$W/seen-$id"
    note ${NODE_HEALTH_EVENT_KIND} "$n" "$reason" excluded
    # The wait ends at the condition's repair bound when that is sooner and still ahead (the watcher may
    # see a condition late: a restart, a failed read), else after its own wait.
    deadline=$(( $(now) + secs ))
    [ "$due" != - ] && [ "$due" -gt "$(now)" ] && [ "$due" -lt "$deadline" ] && deadline=$due
    ask_save ${NODE_HEALTH_EVENT_KIND} "$n" "$id" "$deadline" restart "$reason"
  done
  # Nodes of the run's groups already kept out, once the run has pods: one event per node and boot
  # (every GROUP_SCAN_POLLS polls, the first one included).
  polls=$(( \${polls:-0} + 1 ))
  if [ -n "$nodes" ] && [ $(( (polls - 1) % \${GROUP_SCAN_POLLS:-${GROUP_SCAN_POLLS}} )) = 0 ]; then
    for sel in \${NODE_SELECTORS:-}; do
      kube "$API/api/v1/nodes?labelSelector=$sel" | nodes_health > $S/group
      while IFS="$TAB" read -r t name boot tainted _ _ _ annotated; do
        [ "$t" = N ] && [ "$tainted" = 1 ] || continue
        id="health-$name-$boot"
        [ -e "$W/seen-$id" ] && continue
        : > "$W/seen-$id"
        note ${NODE_HEALTH_EVENT_KIND} "$name" "\${annotated:-unhealthy (no reason recorded)}" excluded
        log "node $name of the run's group is kept out (${UNHEALTHY_TAINT.key}): \${annotated:-no reason recorded}"
      done < $S/group
    done
  fi
  # The saves asked for: one sentinel serves them all, so they end together (the first deadline ends them).
  due=0; any=0; first=""
  for p in "$W"/pending/*; do
    [ -f "$p" ] || continue
    any=1; read -r _ _ deadline _ < "$p"
    [ "$(now)" -ge "$deadline" ] && due=1
    [ -n "$first" ] && [ ! "$p" -ot "$first" ] || first=$p
  done
  if [ $any = 1 ] && { [ ! -e "$SENTINEL" ] || [ $due = 1 ]; }; then
    # Saved only with evidence: the checkpoint tracker Megatron rewrites after each save is newer than the
    # request (a sentinel that went because another save job gave up is not a save).
    if [ -e "$SENTINEL" ]; then
      outcome=not-saved
      [ -e "$W/own-sentinel" ] && rm -f "$SENTINEL"
    elif [ -n "$(find "$TRACKER" -newer "$first" 2>/dev/null)" ]; then outcome=saved; now > "$M"
    else outcome=not-saved
    fi
    rm -f "$W/own-sentinel"
    for p in "$W"/pending/*; do
      [ -f "$p" ] || continue
      read -r kind n _ action ev < "$p"
      note "$kind" "$n" "$ev" $outcome
      if [ $outcome = saved ]; then log "checkpoint written after the $kind on node $n: the run resumes from it"
      else log "the run did not save before the deadline of the $kind on node $n: it resumes from its latest complete checkpoint"; fi
      [ "$action" = restart ] && restart_without "$n" "$kind" "$ev"
      rm -f "$p"
    done
  fi
  [ "\${ONCE:-0}" = 1 ] && exit 0
  sleep "$POLL_SECONDS"
done
`;

/** The NTH taints the watcher reacts to on a spot group and how long it waits for the save after each. */
export function spotWatchList(saveTimeoutMinutes: number): string {
    return [`${NTH_TAINTS.spotInterruption}=spot-interruption=${SPOT_NOTICE_SECONDS + SPOT_SAVE_GRACE_SECONDS}`, `${NTH_TAINTS.rebalanceRecommendation}=rebalance-recommendation=${saveTimeoutMinutes * 60}`].join(" ");
}

/**
 * The node monitoring agent's conditions and how long the watcher waits for the save after each goes
 * False: saveTimeoutMinutes, but never past EKS auto repair (NODE_REPAIR_AFTER_MINUTES, minus the margin),
 * which reboots or replaces the node. Seconds.
 */
export function healthWatchList(saveTimeoutMinutes: number): Array<{ condition: string; seconds: number }> {
    return NODE_MONITORING_CONDITIONS.map((c) => ({ condition: c, seconds: Math.min(saveTimeoutMinutes, NODE_REPAIR_AFTER_MINUTES[c] - HEALTH_REPAIR_MARGIN_MINUTES) * 60 }));
}

/** `Type=seconds` after a condition's lastTransitionTime by which the save must be over: EKS auto repair's delay less the margin. */
export function repairBoundList(): string {
    return NODE_MONITORING_CONDITIONS.map((c) => `${c}=${(NODE_REPAIR_AFTER_MINUTES[c] - HEALTH_REPAIR_MARGIN_MINUTES) * 60}`).join(" ");
}

/** The label selector of the run's Ray pods (head and workers; the Kueue/KubeRay-created pods carry the run's labels). */
export function rayPodSelector(r: ResolvedRun): string {
    return `${RUN_LABELS.instance}=${r.runName},${RUN_LABELS.component} in (${HEAD_COMPONENT},${WORKER_COMPONENT})`;
}

/** The label selectors of the run's node groups (groups without a selector, e.g. some bring-your-own ones, are not scanned). */
export function runGroupSelectors(r: Pick<ResolvedRun, "groups">): string[] {
    return r.groups.map((x) => Object.entries(x.group.selector).map(([k, v]) => `${k}=${v}`).join(",")).filter((s) => s !== "");
}

/**
 * The watcher Deployment (one replica; Recreate, so two never race on the sentinel). `serviceAccountName`:
 * the cluster's node-watch account (NODE_WATCH_SERVICE_ACCOUNT), or the run's lifecycle account when it
 * carries the grant itself.
 */
export function runNodeWatcher(r: ResolvedRun, ctx: LifecycleContext, serviceAccountName = ctx.serviceAccountName) {
    const labels = runLabels(r, NODE_WATCH);
    const lc = r.training.lifecycle;
    const health = healthWatchList(lc.saveTimeoutMinutes);
    const env = [
        { name: "NAMESPACE", value: ctx.namespace },
        { name: "RUN", value: r.runName },
        { name: "POD_SELECTOR", value: encodeURIComponent(rayPodSelector(r)) },
        { name: "NODE_SELECTORS", value: runGroupSelectors(r).map(encodeURIComponent).join(" ") },
        { name: "SENTINEL", value: r.paths.saveSentinel },
        { name: "TRACKER", value: `${r.paths.checkpointDir}/${CHECKPOINT_TRACKER_FILE}` },
        { name: "EVENTS_DIR", value: runEventsDir(r) },
        { name: "WATCH", value: runOnSpot(r) ? spotWatchList(lc.saveTimeoutMinutes) : "" },
        { name: "CONDITIONS", value: health.map((h) => `${h.condition}=${h.seconds}`).join(" ") },
        { name: "UNHEALTHY_SECONDS", value: String(Math.min(...health.map((h) => h.seconds))) },
        // EKS auto repair acts only on a cluster miles-cluster creates (its managed node groups' nodeRepairConfig).
        { name: "REPAIR", value: r.imageChoice.platform === "existing" ? "" : repairBoundList() },
        { name: "DELETE_GRACE_SECONDS", value: String(POD_DELETE_GRACE_SECONDS) },
        { name: "POLL_SECONDS", value: String(NODE_WATCH_POLL_SECONDS) },
    ];
    return {
        apiVersion: "apps/v1" as const,
        kind: "Deployment" as const,
        metadata: { name: lifecycleName(r, NODE_WATCH), namespace: ctx.namespace, labels },
        spec: {
            replicas: 1,
            strategy: { type: "Recreate" },
            selector: { matchLabels: labels },
            template: { metadata: { labels }, spec: podSpec({ ...ctx, serviceAccountName }, [step("watch", imageRef(IMAGES.curl), NODE_WATCH_SCRIPT, env)], "Always") },
        },
    };
}

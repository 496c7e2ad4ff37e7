/**
 * The spot save watcher of a run on a spot GPU group: a one-replica Deployment (curl image, POSIX sh,
 * on the system nodes, the run's lifecycle service account) that watches the nodes the run's Ray
 * pods are on for the taint AWS Node Termination Handler sets when an interruption notice or a
 * rebalance recommendation arrives (catalog/spotInterruption.ts NTH_TAINTS; why a watcher and not
 * the drain's preStop: domain/lifecycle/spot.ts), and then:
 *
 * 1. creates the run's save sentinel at once (miles saves at the end of the step in progress and
 *    removes it: radixark/miles v0.1.0 train.py:121-127, docs/lifecycle.md "The save sentinel");
 * 2. waits for the sentinel to go (the checkpoint is written) until the event's deadline — the
 *    two-minute notice, or `saveTimeoutMinutes` after a rebalance recommendation (the node may live
 *    on) — then records the save time next to the sentinel (preStop.ts SAVED_AT_FILE: the pods'
 *    preStop, if they are deleted after all, does not save again), or removes a sentinel the run
 *    could not honour (so the next attempt does not save right after its first step);
 * 3. writes a run event (RUN_EVENT_SCHEMA) for each step into the run's records directory, which
 *    `miles-cluster runs` reads to say why an attempt ended (domain/training/attempts.ts).
 *
 * Every input comes from the environment; the script runs offline under /bin/sh against stand-ins
 * for the API server (test/spotSave.test.ts).
 */
import type { ResolvedRun } from "../training/run";
import { runLabels } from "../training/pod";
import { RUN_EVENT_SCHEMA, RUN_EVENTS_DIR, RUN_RECORD_DIR } from "../training/runRecord";
import { SAVED_AT_FILE } from "../training/preStop";
import { IMAGES, imageRef } from "../../catalog/versions";
import { NTH_TAINTS, SPOT_NOTICE_SECONDS } from "../../catalog/spotInterruption";
import { HEAD_COMPONENT, RUN_LABELS, WORKER_COMPONENT } from "../../catalog/runLabels";
import { KUBE_CURL, STATE_DIR } from "./scripts";
import { lifecycleName, podSpec, step, type LifecycleContext } from "./jobs";

/** How often the watcher looks (seconds): AWS recommends checking for the notice every 5 s (spot-instance-termination-notices.html). */
export const SPOT_WATCH_POLL_SECONDS = 5;
/** After the two-minute notice the node is gone: a save still asked for 60 s later will not come from this attempt. */
export const SPOT_SAVE_GRACE_SECONDS = 60;

/** The run's events directory on the shared volume. */
export const runEventsDir = (r: Pick<ResolvedRun, "paths">) => `${r.paths.checkpointDir}/${RUN_RECORD_DIR}/${RUN_EVENTS_DIR}`;

/**
 * Env: NAMESPACE, RUN, POD_SELECTOR (URL-encoded label selector of the run's Ray pods), SENTINEL,
 * EVENTS_DIR, WATCH (space-separated `taint-key=kind=seconds` triples: which taint means what and how
 * long to wait for the save), POLL_SECONDS, ONCE (1: one pass, for tests).
 */
export const SPOT_SAVE_WATCH_SCRIPT = `set -u
S=\${STATE_DIR:-${STATE_DIR}}
${KUBE_CURL}
now() { date -u +%s; }
iso() { date -u +%Y-%m-%dT%H:%M:%SZ; }
log() { echo "$(iso) spot-save: $*"; }
M="$(dirname "$SENTINEL")/${SAVED_AT_FILE}"
note() {
  mkdir -p "$EVENTS_DIR" || return 0
  # A counter after the second keeps two notes of one second in the order they were written (file names sort).
  c=$(( $(cat "$S/note-seq" 2>/dev/null || echo 0) + 1 )); echo "$c" > "$S/note-seq"
  f="$EVENTS_DIR/$(now)-$(printf %06d "$c")-$1-$4.json"
  printf '{"schema":"${RUN_EVENT_SCHEMA}","run":"%s","kind":"%s","node":"%s","event":"%s","outcome":"%s","at":"%s"}\\n' "$RUN" "$1" "$2" "$3" "$4" "$(iso)" > "$f.tmp" && mv "$f.tmp" "$f"
}
log "watching the nodes of the pods $POD_SELECTOR in $NAMESPACE for: $WATCH"
while :; do
  nodes=$(kube "$API/api/v1/namespaces/$NAMESPACE/pods?labelSelector=$POD_SELECTOR" | tr -d ' \\n' | grep -o '"nodeName":"[^"]*"' | cut -d'"' -f4 | sort -u)
  for n in $nodes; do
    body=$(kube "$API/api/v1/nodes/$n" | tr -d ' \\n') || continue
    for w in $WATCH; do
      key=\${w%%=*}; rest=\${w#*=}; kind=\${rest%%=*}; secs=\${rest#*=}
      ev=$(echo "$body" | grep -o "{[^{}]*\\"key\\":\\"$key\\"[^{}]*}" | grep -o '"value":"[^"]*"' | head -n 1 | cut -d'"' -f4)
      [ -n "$ev" ] || continue
      id=$(echo "$ev" | tr -c 'A-Za-z0-9\\n-' '_')
      [ -e "$S/seen-$id" ] && continue
      : > "$S/seen-$id"
      if [ -e "$SENTINEL" ]; then
        log "$kind on node $n ($ev): a save is already asked for"
      else
        mkdir -p "$(dirname "$SENTINEL")" && touch "$SENTINEL"
        log "$kind on node $n ($ev): asked the run to save ($SENTINEL)"
      fi
      echo "$kind $n $id $(( $(now) + secs ))" > "$S/pending"
      note "$kind" "$n" "$ev" save-requested
    done
  done
  if [ -f "$S/pending" ]; then
    read -r kind n ev deadline < "$S/pending"
    if [ ! -e "$SENTINEL" ]; then
      now > "$M"
      note "$kind" "$n" "$ev" saved
      log "checkpoint written after the $kind on node $n: the run resumes from it"
      rm -f "$S/pending"
    elif [ "$(now)" -ge "$deadline" ]; then
      rm -f "$SENTINEL"
      note "$kind" "$n" "$ev" not-saved
      log "the run did not save before the deadline of the $kind on node $n: it resumes from its latest complete checkpoint"
      rm -f "$S/pending"
    fi
  fi
  [ "\${ONCE:-0}" = 1 ] && exit 0
  sleep "$POLL_SECONDS"
done
`;

/** The taints the watcher reacts to and how long it waits for the save after each. */
export function spotWatchList(saveTimeoutMinutes: number): string {
    return [`${NTH_TAINTS.spotInterruption}=spot-interruption=${SPOT_NOTICE_SECONDS + SPOT_SAVE_GRACE_SECONDS}`, `${NTH_TAINTS.rebalanceRecommendation}=rebalance-recommendation=${saveTimeoutMinutes * 60}`].join(" ");
}

/** The label selector of the run's Ray pods (head and workers; the Kueue/KubeRay-created pods carry the run's labels). */
export function rayPodSelector(r: ResolvedRun): string {
    return `${RUN_LABELS.instance}=${r.runName},${RUN_LABELS.component} in (${HEAD_COMPONENT},${WORKER_COMPONENT})`;
}

/** The watcher Deployment (one replica; Recreate, so two never race on the sentinel). */
export function spotSaveWatcher(r: ResolvedRun, ctx: LifecycleContext) {
    const labels = runLabels(r, "spot-save");
    const env = [
        { name: "NAMESPACE", value: ctx.namespace },
        { name: "RUN", value: r.runName },
        { name: "POD_SELECTOR", value: encodeURIComponent(rayPodSelector(r)) },
        { name: "SENTINEL", value: r.paths.saveSentinel },
        { name: "EVENTS_DIR", value: runEventsDir(r) },
        { name: "WATCH", value: spotWatchList(r.training.lifecycle.saveTimeoutMinutes) },
        { name: "POLL_SECONDS", value: String(SPOT_WATCH_POLL_SECONDS) },
    ];
    return {
        apiVersion: "apps/v1" as const,
        kind: "Deployment" as const,
        metadata: { name: lifecycleName(r, "spot-save"), namespace: ctx.namespace, labels },
        spec: {
            replicas: 1,
            strategy: { type: "Recreate" },
            selector: { matchLabels: labels },
            template: { metadata: { labels }, spec: podSpec(ctx, [step("watch", imageRef(IMAGES.curl), SPOT_SAVE_WATCH_SCRIPT, env)], "Always") },
        },
    };
}

/**
 * What a run's Ray pods do when they are deleted while the run trains and Kueue may preempt it
 * (`addons.kueue.preemption: LowerPriority`): save first. Kueue evicts a preempted RayJob by
 * suspending it; it releases the run's quota only once the job is no longer active
 * (kubernetes-sigs/kueue v0.19.2 pkg/controller/jobframework/reconciler.go: the admission is
 * cleared when `!job.IsActive()`; a RayJob is active until its status is Suspended,
 * pkg/controller/jobs/rayjob/rayjob_controller.go IsActive), and KubeRay marks it Suspended only
 * after its Ray cluster is deleted (ray-project/kuberay v1.7.0 rayjob_controller.go: "Wait for the
 * resources to be deleted before the status transitions"). So the higher-priority run waits while
 * the preempted one saves in its pods' preStop.
 */
import type * as k8s from "@pulumi/kubernetes";

/** Written next to the sentinel by a lifecycle save that the deletion of the run follows: the pods' preStop then saves no second time. */
export const SAVED_AT_FILE = "saved-at";
/** A forced save this recent (seconds) makes the preStop save unnecessary. */
export const SAVED_RECENTLY_SECONDS = 600;

/**
 * preStop of a run's Ray pods when Kueue may preempt the run (`addons.kueue.preemption:
 * LowerPriority`). Kueue evicts a preempted RayJob by suspending it; KubeRay then deletes its Ray
 * cluster without stopping the job, and "If users want to stop the Ray job by SIGTERM, users need
 * to set the Pod's preStop hook by themselves" (ray-project/kuberay v1.7.0
 * ray-operator/controllers/ray/rayjob_controller.go, JobDeploymentStatusSuspending). A preStop runs
 * before the container gets SIGTERM, within terminationGracePeriodSeconds, so the run keeps
 * training until it has saved. The head (where train.py runs) creates the sentinel when the driver
 * still runs; every pod waits for the run to remove it (the checkpoint is written) or for SAVE_SECONDS.
 * A forced save of the last SAVED_RECENTLY_SECONDS (pre-replacement save, end-of-block stop) is not
 * repeated. Env: SENTINEL, SAVE_SECONDS, ROLE (head | worker), ENTRY_RE (the entry script as a regex, train[.]py).
 */
export const PRESTOP_SAVE_SCRIPT = `log() { echo "preStop: $*" > "\${PROC:-/proc}/1/fd/1" 2>/dev/null || echo "preStop: $*"; }
M="$(dirname "$SENTINEL")/${SAVED_AT_FILE}"
now=$(date -u +%s)
if [ -f "$M" ] && [ $((now - $(cat "$M"))) -lt ${SAVED_RECENTLY_SECONDS} ]; then log "saved $((now - $(cat "$M"))) s ago: not saving again"; exit 0; fi
deadline=$((now + SAVE_SECONDS))
if [ "$ROLE" = head ]; then
  # ENTRY_RE is the script's name as a regex (train[.]py): this hook's own command line holds the
  # regex, which does not match itself, so only the running driver does.
  grep -qs "$ENTRY_RE" "\${PROC:-/proc}"/[0-9]*/cmdline || { log "the run's $ENTRY_RE is not running: nothing to save"; exit 0; }
  mkdir -p "$(dirname "$SENTINEL")"; touch "$SENTINEL"
  log "the pod is stopping: asked the run to save ($SENTINEL)"
else
  i=0; while [ ! -e "$SENTINEL" ] && [ $i -lt 12 ]; do sleep 5; i=$((i + 1)); done
  [ -e "$SENTINEL" ] || { log "no save was asked for"; exit 0; }
fi
while [ -e "$SENTINEL" ] && [ "$(date -u +%s)" -lt "$deadline" ]; do sleep 5; done
if [ -e "$SENTINEL" ]; then rm -f "$SENTINEL"; log "the run did not save within $SAVE_SECONDS s: stopping anyway (it resumes from its last periodic save)"; else log "checkpoint written"; fi
exit 0
`;

/**
 * The preStop hook and grace period of a run's head or GPU worker container. The values are set in
 * the script itself (no env of the training container is added; paths are shell-safe by schema).
 */
export function preStopSave(saveSentinel: string, saveTimeoutMinutes: number, entry: string, role: "head" | "worker"): { lifecycle: k8s.types.input.core.v1.Lifecycle; terminationGracePeriodSeconds: number } {
    const saveSeconds = saveTimeoutMinutes * 60;
    const vars = `SENTINEL=${saveSentinel} SAVE_SECONDS=${saveSeconds} ROLE=${role} ENTRY_RE=${entry.replace(/\./g, "[.]")}`;
    return {
        lifecycle: { preStop: { exec: { command: ["/bin/sh", "-c", `${vars}\n${PRESTOP_SAVE_SCRIPT}`] } } },
        // The worker waits up to a minute for the head's sentinel, then as long as the head for the save.
        terminationGracePeriodSeconds: saveSeconds + 120,
    };
}

/**
 * Plan lines of a run's lifecycle (part of the training section): the save sentinel, what a
 * redeploy does to a running run, what a failure costs, and the Capacity Block schedule.
 */
import type { MilesConfig } from "../../config";
import type { ResolvedRun } from "../../domain/training/run";
import { blockGroupOf, blockNodes, lifecycleName, runOnSpot } from "../../domain/lifecycle/jobs";
import { healthWatchList, NODE_WATCH } from "../../domain/lifecycle/nodeWatch";
import { UNHEALTHY_TAINT } from "../../domain/health/nodeHealth";
import { reclaimCost } from "../../domain/lifecycle/spot";
import { sizeFsx, storageNeedOf, formatSeconds } from "../../domain/sizing";
import { groupCost } from "../../domain/lifecycle/cost";
import { isBringYourOwnCluster } from "../../domain/addons";
import { blockHours, blockPhase, blockSchedule, formatUtc, EC2_TERMINATION_MINUTES_BEFORE_END, EKS_SCALEDOWN_MINUTES_BEFORE_END } from "../../domain/lifecycle/capacityBlock";

export interface LifecyclePlan {
    lines: Array<[string, string]>;
    warnings: string[];
    data: Record<string, unknown>;
}

/** `storageCapacityGiB`: the resolved stack's FSx capacity (set or sized from the runs; ResolvedStack.storage). */
export function lifecyclePlan(cfg: MilesConfig, r: ResolvedRun, now: Date, storageCapacityGiB?: number): LifecyclePlan {
    const lc = r.training.lifecycle;
    const lines: Array<[string, string]> = [];
    const warnings: string[] = [];
    const data: Record<string, unknown> = { saveSentinel: r.paths.saveSentinel, onRunningChange: lc.onRunningChange };
    lines.push(["save trigger", `--save-trigger-sentinel ${r.paths.saveSentinel}: miles saves at the end of the step that finds the file, then removes it`]);
    const exportWait = cfg.storage.type === "fsx-lustre" ? `, then up to ${lc.saveTimeoutMinutes} min for its export to S3 (FSx AgeOfOldestQueuedMessage = 0)` : "";
    lines.push([
        "running-run change",
        lc.onRunningChange === "save-then-replace"
            ? `save, then replace: a change that replaces the RayJob while it runs first creates Job ${r.runName}-presave-<spec hash>, which makes the run save and waits up to ${lc.saveTimeoutMinutes} min for the checkpoint${exportWait}; the new RayJob resumes from it. A save that does not finish fails the deploy and leaves the run running`
            : lc.onRunningChange === "refuse"
              ? "refused: a change that replaces the RayJob fails the deploy while the run is Running (training.lifecycle.onRunningChange: refuse); suspend it first or choose save-then-replace"
              : `restart: a change replaces the RayJob at once (training.lifecycle.onRunningChange: restart), losing up to ${r.training.checkpoints.saveInterval} rollouts since the last periodic save`,
    ]);

    const g = r.group;
    const nodes = r.nodesNeeded;
    const si = r.training.checkpoints.saveInterval;
    // The group's own rate, the one its cost line uses (domain/lifecycle/cost.ts): never a second price.
    const groupConfig = g && !isBringYourOwnCluster(cfg) ? cfg.cluster.gpuNodeGroups.find((x) => x.name === g.name) : undefined;
    const lost = `a node failure${groupConfig?.capacity.type === "spot" ? " or spot reclaim" : ""} resumes from the last save: up to ${si} rollouts (saveInterval) = ${si} × T min on ${nodes} node(s) × ${r.gpusPerNode} GPUs`;
    const gpuHours = `${((si * 5 * nodes * r.gpusPerNode) / 60).toFixed(1)} GPU-hours at T = 5 min`;
    if (groupConfig) {
        const gc = groupCost(groupConfig);
        const perRolloutMinute = (nodes * gc.usdPerNodeHour) / 60;
        lines.push(["at risk on a failure", `${lost}, ≈ $${(si * perRolloutMinute).toFixed(0)} per minute of rollout time T at ${gc.rate} (${gpuHours}, $${(si * 5 * perRolloutMinute).toFixed(0)})`]);
        data.atRisk = { rollouts: si, nodes, gpus: nodes * r.gpusPerNode, usdPerRolloutMinute: Math.round(si * perRolloutMinute * 100) / 100, rate: gc.rate };
    } else if (g) {
        // A bring-your-own cluster: its nodes are billed to their owner at a price this stack does not know.
        lines.push(["at risk on a failure", `${lost}, ${(si * nodes * r.gpusPerNode / 60).toFixed(1)} GPU-hours per minute of rollout time T (${gpuHours}); no dollar figure: the cluster's nodes are not priced by this stack`]);
        data.atRisk = { rollouts: si, nodes, gpus: nodes * r.gpusPerNode, gpuHoursPerRolloutMinute: Math.round(((si * nodes * r.gpusPerNode) / 60) * 100) / 100 };
    }

    lines.push(["node watch", nodeWatchLine(r, isBringYourOwnCluster(cfg))]);
    if (runOnSpot(r)) spotLines(cfg, r, lines, warnings, data, storageCapacityGiB);

    const bg = blockGroupOf(r);
    const cb = bg?.capacityBlock;
    const blockGroups = r.groups.length > 1 ? r.groups.filter((x) => x.group.capacityBlock).map((x) => x.group) : bg ? [bg] : [];
    if (cb) {
        data.capacityBlock = { reservationId: cb.reservationId, window: cb.window, saveLeadMinutes: cb.saveLeadMinutes };
        if (!cb.window) {
            warnings.push(`capacity block ${cb.reservationId}: capacity.window is not set, so plan cannot show the block schedule (pulumi up reads it from the reservation); set it from \`aws ec2 describe-capacity-reservations --capacity-reservation-ids ${cb.reservationId}\``);
            lines.push(["capacity block", `${cb.reservationId}: window known at deploy (from the reservation)`]);
        } else {
            const s = blockSchedule(cb.window, cb.saveLeadMinutes);
            const phase = blockPhase(cb.window, now);
            lines.push(["capacity block", `${cb.reservationId}: ${formatUtc(s.nodesAppear)} → ${formatUtc(s.end)} (${blockHours(cb.window)} h), ${phase} now`]);
            lines.push(["  nodes appear", `${formatUtc(s.nodesAppear)}: ASG scheduled action scales ${blockGroups.map((x) => `${x.name} to ${x.nodes}`).join(", ")} (group${blockGroups.length > 1 ? "s" : ""} created empty)`]);
            lines.push(["  resume", `${formatUtc(s.resume)}: CronJob ${r.runName}-block-resume waits for ${blockNodes(r).nodes} Ready node(s), then resumes a RayJob the previous block's end suspended`]);
            lines.push(["  save triggered", `${formatUtc(s.saveTrigger)}: CronJob ${r.runName}-block-end-save creates the sentinel (${cb.saveLeadMinutes} min before the drain)`]);
            lines.push(["  save deadline", `${formatUtc(s.saveDeadline)}: checkpoint written by then, or the last periodic save stands`]);
            lines.push(["  suspended by", `${formatUtc(s.suspendBy)}: export to S3 waited for, RayJob suspended (its retries are not burnt on a group without GPUs)`]);
            lines.push(["  drain", `${formatUtc(s.drain)}: EKS scales the group to 0 (T-${EKS_SCALEDOWN_MINUTES_BEFORE_END} min)`]);
            lines.push(["  termination", `${formatUtc(s.termination)}: EC2 terminates the instances (T-${EC2_TERMINATION_MINUTES_BEFORE_END} min)`]);
            lines.push(["  next block", "point the group's reservationId (and window) at the next block and `pulumi up`: its start scales the group up and the resume continues the run"]);
            data.capacityBlock = { ...(data.capacityBlock as object), phase, schedule: Object.fromEntries(Object.entries(s).map(([k, v]) => [k, (v as Date).toISOString()])) };
            if (phase === "ended") warnings.push(`capacity block ${cb.reservationId} ended at ${formatUtc(s.end)}: its group stays at 0 nodes; point it at the next block or remove it`);
        }
    }
    return { lines, warnings, data };
}

/** What the run's node watcher (domain/lifecycle/nodeWatch.ts) reacts to and does, in one line. */
function nodeWatchLine(r: ResolvedRun, byo: boolean): string {
    const waits = healthWatchList(r.training.lifecycle.saveTimeoutMinutes);
    const byWait = new Map<number, string[]>();
    for (const w of waits) byWait.set(w.seconds, [...(byWait.get(w.seconds) ?? []), w.condition]);
    const bounds = [...byWait].map(([s, cs]) => `${s / 60} min after ${cs.join("/")}`).join(", ");
    const retries = r.training.lifecycle.backoffLimit;
    const agent = byo ? "the node monitoring agent's conditions = False (if the cluster runs eks-node-monitoring-agent)" : "the node monitoring agent's conditions = False";
    const deadline = byo ? "within saveTimeoutMinutes" : "and never past the condition's lastTransitionTime + EKS auto repair's delay − 2 min, within saveTimeoutMinutes";
    const restart =
        retries === 0
            ? "then deletes the run's pods on it, which ends the run Failed (training.lifecycle.backoffLimit is 0: no retry)"
            : `then deletes the run's pods on it so KubeRay retries on other nodes (each such restart is one of the RayJob's ${retries} retries, training.lifecycle.backoffLimit: after that the run stays Failed)`;
    return `${lifecycleName(r, NODE_WATCH)} watches the nodes of the run's Ray pods for ${agent} and the ${UNHEALTHY_TAINT.key} taint${runOnSpot(r) ? ", and the interruption handler's taints (spot reclaim below)" : ""}: it taints an unhealthy node (with the reason), records it excluded, asks a save and waits for it (${bounds}, ${deadline}), ${restart}; kept-out nodes of the run's groups go into its record`;
}

/**
 * A run on spot: what a reclaim costs at most and whether the save the notice triggers can finish in
 * the notice (domain/lifecycle/spot.ts reclaimCost; the checkpoint write time from the storage sizing
 * on FSx).
 */
function spotLines(cfg: MilesConfig, r: ResolvedRun, lines: Array<[string, string]>, warnings: string[], data: Record<string, unknown>, storageCapacityGiB: number | undefined): void {
    const spotGroups = r.groups.filter((x) => x.group.spot);
    for (const { group, nodes } of spotGroups) {
        const g = cfg.cluster.gpuNodeGroups.find((x) => x.name === group.name);
        if (!g) continue;
        const c = reclaimCost(g, { nodes, gpusPerNode: r.gpusPerNode, saveInterval: r.training.checkpoints.saveInterval });
        const t5 = 5;
        lines.push([
            "spot reclaim",
            `group ${group.name}: EC2's interruption notice (${c.noticeSeconds} s) or a rebalance recommendation → EventBridge → SQS → aws-node-termination-handler taints the node → ${lifecycleName(r, NODE_WATCH)} creates the sentinel; the run saves at the end of the step in progress if that step and the write end within ~${c.saveBudgetSeconds} s, else it resumes from its last periodic save. At most ${c.saveInterval} rollouts (saveInterval) × T min on ${nodes} node(s) × ${r.gpusPerNode} GPUs are lost: ${c.gpuHoursPerRolloutMinute.toFixed(2)} GPU-hours and $${c.usdPerRolloutMinute.toFixed(2)} per minute of rollout time T (T = ${t5} min: ${(c.gpuHoursPerRolloutMinute * t5).toFixed(1)} GPU-hours, $${(c.usdPerRolloutMinute * t5).toFixed(0)}), plus the restart on a new node; ${c.basis}`,
        ]);
        const spot: Record<string, unknown> = { group: group.name, ...c };
        if (cfg.storage.type === "fsx-lustre" && storageCapacityGiB !== undefined) {
            const need = storageNeedOf(r).need;
            if (need) {
                const write = sizeFsx(need, storageCapacityGiB, cfg.storage.throughputPerTiB).writeSeconds;
                spot.checkpointWriteSeconds = Math.round(write);
                if (write > c.saveBudgetSeconds) {
                    warnings.push(
                        `spot group ${group.name}: one checkpoint of ${r.runName} takes ${formatSeconds(write)} to write, longer than the ~${c.saveBudgetSeconds} s a spot interruption notice leaves: only a rebalance recommendation that comes early enough saves in time; otherwise up to ${c.saveInterval} rollouts are lost (lower checkpoints.saveInterval, or raise storage throughput)`,
                    );
                }
            }
        }
        data.spotReclaim = [...((data.spotReclaim as unknown[]) ?? []), spot];
    }
}

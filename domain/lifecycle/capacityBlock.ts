/**
 * The schedule of a Capacity Block: when its nodes appear, when the run is asked to save, when EKS
 * drains the group and when EC2 terminates the instances.
 *
 * EKS (https://docs.aws.amazon.com/eks/latest/userguide/capacity-blocks-mng.html): "Amazon EC2 starts
 * shutting down the instances 30 minutes before reservation end time. As a result, Amazon EKS will
 * setup a scheduled scale down on the node group 40 minutes prior to their reservation end" (the
 * scheduled action "Amazon EKS Node Group Capacity Scaledown Before Reservation End"). A group
 * created at desired size 0 is scaled up by "a scheduled scaling policy for the ASG that aligns to
 * the Capacity Block reservation start time" (same page).
 */

/** EKS scales a Capacity Block node group to 0 this many minutes before the block ends. */
export const EKS_SCALEDOWN_MINUTES_BEFORE_END = 40;
/** EC2 starts terminating the block's instances this many minutes before it ends. */
export const EC2_TERMINATION_MINUTES_BEFORE_END = 30;
/** The save must be written, exported and the RayJob suspended this long before the EKS drain. */
export const SUSPEND_MARGIN_MINUTES = 2;
/** The resume check starts this long after the block starts (instances take minutes to join). */
export const RESUME_DELAY_MINUTES = 5;

export interface BlockWindow {
    /** Start of the block (RFC 3339, UTC). */
    start: string;
    /** End of the block (RFC 3339, UTC); blocks end at 11:30 UTC. */
    end: string;
}

export interface BlockSchedule {
    /** The ASG scheduled action scales the group up: nodes appear (a few minutes later they are Ready). */
    nodesAppear: Date;
    /** The resume Job starts waiting for Ready nodes, then resumes a RayJob suspended at the previous end. */
    resume: Date;
    /** The end-of-block Job creates the run's sentinel (miles saves at its next iteration end). */
    saveTrigger: Date;
    /** No new checkpoint by then: give up waiting (the RayJob is suspended with the last periodic save). */
    saveDeadline: Date;
    /** The export wait ends and the RayJob is suspended by then at the latest. */
    suspendBy: Date;
    /** EKS scales the group to 0 (T-40 min) and drains its nodes. */
    drain: Date;
    /** EC2 terminates the instances (T-30 min). */
    termination: Date;
    end: Date;
}

const minutes = (d: Date, m: number) => new Date(d.getTime() + m * 60_000);

/** Parses an RFC 3339 instant; undefined when it is not one. */
export function parseInstant(s: string): Date | undefined {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s)) return undefined;
    const t = Date.parse(s);
    return Number.isNaN(t) ? undefined : new Date(t);
}

/**
 * @param saveLeadMinutes how long before the drain the sentinel is created: at least one training
 *   step (miles checks the sentinel at the end of each step) + the checkpoint write + the export.
 */
export function blockSchedule(w: BlockWindow, saveLeadMinutes: number): BlockSchedule {
    const start = parseInstant(w.start);
    const end = parseInstant(w.end);
    if (!start || !end) throw new Error(`not an RFC 3339 block window: ${w.start} .. ${w.end}`);
    const drain = minutes(end, -EKS_SCALEDOWN_MINUTES_BEFORE_END);
    const suspendBy = minutes(drain, -SUSPEND_MARGIN_MINUTES);
    const saveTrigger = minutes(drain, -saveLeadMinutes);
    // Half of the lead for the step and the write, the rest for the export.
    const saveDeadline = minutes(saveTrigger, Math.max(1, Math.floor((saveLeadMinutes - SUSPEND_MARGIN_MINUTES) / 2)));
    return {
        nodesAppear: start,
        resume: minutes(start, RESUME_DELAY_MINUTES),
        saveTrigger,
        saveDeadline,
        suspendBy,
        drain,
        termination: minutes(end, -EC2_TERMINATION_MINUTES_BEFORE_END),
        end,
    };
}

/**
 * A CronJob schedule that fires once a year at this UTC minute ("M H D Mon *", with
 * `timeZone: Etc/UTC`); the Jobs themselves do nothing outside their block (BLOCK_END).
 */
export function cronAt(d: Date): string {
    return `${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`;
}

/** `2026-12-08 09:50 UTC`. */
export function formatUtc(d: Date): string {
    return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/**
 * When the ASG scheduled action of a block fires: the block's start, or two minutes from `now` when
 * the start is (nearly) past — Auto Scaling rejects a start time in the past. No window known (an
 * offline plan without capacity.window): two minutes from now.
 */
export function blockStartTime(w: BlockWindow | undefined, now: Date): string {
    const soon = new Date(now.getTime() + 2 * 60_000);
    const start = w ? parseInstant(w.start) : undefined;
    const t = start && start.getTime() > soon.getTime() ? start : soon;
    return `${t.toISOString().slice(0, 19)}Z`;
}

/** Block length in hours (for the price per hour of an up-front block price). */
export function blockHours(w: BlockWindow): number {
    return (parseInstant(w.end)!.getTime() - parseInstant(w.start)!.getTime()) / 3_600_000;
}

/** Where the block stands at `now`. */
export function blockPhase(w: BlockWindow, now: Date): "scheduled" | "active" | "ended" {
    if (now.getTime() >= parseInstant(w.end)!.getTime()) return "ended";
    return now.getTime() >= parseInstant(w.start)!.getTime() ? "active" : "scheduled";
}

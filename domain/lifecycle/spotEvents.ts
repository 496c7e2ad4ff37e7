/**
 * The EC2 events the spot interruption queue carries, parsed the way the handler reads them
 * (aws/aws-node-termination-handler v1.25.6 pkg/monitor/sqsevent/event-bridge.go: the EventBridge
 * envelope; spot-itn-event.go:45-49 and rebalance-recommendation-event.go:44-47: the `detail`), with
 * the deadline each one sets: the interruption two minutes after the warning
 * (catalog/spotInterruption.ts SPOT_NOTICE_SECONDS); none after a rebalance recommendation, which
 * only says the risk is elevated (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/rebalance-recommendations.html).
 */
import { SPOT_EVENTS, SPOT_NOTICE_SECONDS, type SpotEventKind } from "../../catalog/spotInterruption";

export interface SpotEvent {
    kind: Exclude<SpotEventKind, "instanceStateChange">;
    id: string;
    instanceId: string;
    /** When EC2 emitted it. */
    time: Date;
    /** The spot interruption's `instance-action` (hibernate, stop or terminate). */
    action?: string;
    /** When EC2 interrupts the instance (the warning + two minutes); undefined for a rebalance recommendation. */
    interruptionAt?: Date;
}

/** The event, or a reason it is not a spot event we act on. */
export function parseSpotEvent(json: unknown): SpotEvent | { error: string } {
    const e = json as { id?: unknown; source?: unknown; "detail-type"?: unknown; time?: unknown; detail?: { "instance-id"?: unknown; "instance-action"?: unknown } };
    if (typeof e !== "object" || e === null) return { error: "not a JSON object" };
    const kind = (["spotInterruption", "rebalanceRecommendation"] as const).find((k) => SPOT_EVENTS[k].source === e.source && SPOT_EVENTS[k].detailType === e["detail-type"]);
    if (!kind) return { error: `not a spot interruption or rebalance recommendation: source ${String(e.source)}, detail-type ${String(e["detail-type"])}` };
    const instanceId = e.detail?.["instance-id"];
    if (typeof instanceId !== "string" || !/^i-[0-9a-f]{8,17}$/.test(instanceId)) return { error: `detail.instance-id is not an instance id: ${String(instanceId)}` };
    const time = typeof e.time === "string" ? new Date(e.time) : undefined;
    if (!time || Number.isNaN(time.getTime())) return { error: `time is not a timestamp: ${String(e.time)}` };
    const action = typeof e.detail?.["instance-action"] === "string" ? (e.detail["instance-action"] as string) : undefined;
    return {
        kind,
        id: String(e.id ?? ""),
        instanceId,
        time,
        ...(action ? { action } : {}),
        ...(kind === "spotInterruption" ? { interruptionAt: new Date(time.getTime() + SPOT_NOTICE_SECONDS * 1000) } : {}),
    };
}

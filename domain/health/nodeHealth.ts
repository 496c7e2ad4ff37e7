/**
 * Health of a GPU node before it serves a run, and while it does (issue 22), as pure decisions:
 * - `parseDcgmDiag`: the table `dcgmi diag -r 2` prints (DCGM 4.x: a test row, its result, then
 *   Warning/Error rows and one `GPUn: <result>` row per GPU; DCGM 3.x: one row per test).
 * - `monitoringProblems`: the node monitoring agent's conditions that say the node is unhealthy.
 * - `nodeVerdict`: diagnostics + EFA devices found + conditions → healthy, or kept out with reasons.
 * - `healthTaintPatch`: what the node gets: its startup taint removed, or the unhealthy taint and
 *   the reason annotation (a node kept out stays tainted until EKS auto repair replaces it).
 */
import { DCGM_RESULTS, NODE_MONITORING_CONDITIONS, type DcgmResult } from "../../catalog/nodeHealth";
import type { Taint } from "../../catalog/nodeLabels";

/** Present on a GPU node from its start until the health check passed (a startup taint: the Cluster Autoscaler is told with --startup-taint). */
export const HEALTH_PENDING_TAINT: Taint = { key: "miles-cluster.io/health-pending", value: "", effect: "NoSchedule" };
/** Put on a node whose check failed, or that the node monitoring agent marks unhealthy: no new run pod lands there. */
export const UNHEALTHY_TAINT: Taint = { key: "miles-cluster.io/unhealthy", value: "", effect: "NoSchedule" };
/** Annotation with the reasons, on the node (and copied into the run record, domain/health/runRecordHealth.ts). */
export const UNHEALTHY_REASON_ANNOTATION = "miles-cluster.io/unhealthy-reason";

export interface DcgmTest {
    category: string;
    name: string;
    result: DcgmResult;
    /** Per-GPU results (DCGM 4.x), by GPU index. */
    gpus: Record<number, DcgmResult>;
    /** Warning/Error text, rows joined. */
    messages: string[];
}

export interface DcgmDiag {
    version?: string;
    tests: DcgmTest[];
}

const RESULT_RE = new RegExp(`^(${DCGM_RESULTS.join("|")})\\b`);

/** Parses the table of `dcgmi diag`; throws when it is not one (the check then fails closed). */
export function parseDcgmDiag(text: string): DcgmDiag {
    if (!/Successfully ran diagnostic for group\./.test(text)) throw new Error("not a dcgmi diag result: no 'Successfully ran diagnostic for group.'");
    const out: DcgmDiag = { tests: [] };
    let category = "";
    let current: DcgmTest | undefined;
    let message: string[] | undefined;
    for (const line of text.split("\n")) {
        const header = /^[|+]-----\s+(\w+)\s+-/.exec(line);
        if (header) {
            category = header[1];
            current = undefined;
            continue;
        }
        // A row is "| " + 25 characters + " | " + 45 characters + "  |" (the table's fixed widths).
        // DCGM wraps long text at exactly 45 characters, mid-word (a space that falls at the end of
        // a piece is kept), so the pieces of a message join without a separator.
        const row = /^\| (.{25}) \| (.{45}) {2}\|\s*$/.exec(line);
        if (!row) continue;
        const left = row[1].trim();
        const right = row[2];
        if (category === "Metadata") {
            if (left === "DCGM Version") out.version = right.trim();
            continue;
        }
        if (left === "") {
            const gpu = /^GPU(\d+):\s*(.*)$/.exec(right.trim());
            if (gpu && current && RESULT_RE.test(gpu[2])) {
                current.gpus[Number(gpu[1])] = RESULT_RE.exec(gpu[2])![1] as DcgmResult;
                message = undefined;
            } else if (message) message[message.length - 1] += right;
            continue;
        }
        if ((left === "Warning" || left === "Error") && current) {
            current.messages.push(right);
            message = current.messages;
            continue;
        }
        const result = RESULT_RE.exec(right.trim());
        if (result) {
            current = { category, name: left, result: result[1] as DcgmResult, gpus: {}, messages: [] };
            out.tests.push(current);
            message = undefined;
        }
    }
    if (out.tests.length === 0) throw new Error("dcgmi diag printed no test result");
    out.tests.forEach((t) => (t.messages = t.messages.map((m) => m.replace(/\s+/g, " ").trim())));
    return out;
}

/** A node condition as the API server returns it. */
export interface NodeCondition {
    type: string;
    status: "True" | "False" | "Unknown";
    reason?: string;
    message?: string;
}

/** The node monitoring agent's conditions that say the node is unhealthy (status False), as reasons. */
export function monitoringProblems(conditions: ReadonlyArray<NodeCondition>): string[] {
    return conditions
        .filter((c) => (NODE_MONITORING_CONDITIONS as readonly string[]).includes(c.type) && c.status === "False")
        .map((c) => `${c.type}=False${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ""})` : ""}`);
}

export interface NodeVerdict {
    healthy: boolean;
    reasons: string[];
}

/**
 * The verdict on a node: unhealthy when a DCGM test failed (a test-level Fail counts even when every
 * per-GPU line passes — DCGM 4.4.1 reports an internal pcie error that way, NVIDIA/DCGM#253), when a
 * GPU failed, when fewer EFA devices than the node has are present, or when the node monitoring agent
 * says so. Warn and Skip do not keep a node out.
 */
export function nodeVerdict(input: { diag?: DcgmDiag | Error; efa?: { expected: number; found: number }; conditions?: ReadonlyArray<NodeCondition> }): NodeVerdict {
    const reasons: string[] = [];
    if (input.diag instanceof Error) reasons.push(`dcgmi diag: ${input.diag.message}`);
    else if (input.diag)
        for (const t of input.diag.tests) {
            const bad = Object.entries(t.gpus).filter(([, r]) => r === "Fail").map(([g]) => `GPU${g}`);
            if (t.result === "Fail" || bad.length > 0) reasons.push(`dcgmi diag ${t.category}/${t.name}: Fail${bad.length ? ` on ${bad.join(", ")}` : ""}${t.messages.length ? ` — ${t.messages[0]}` : ""}`);
        }
    if (input.efa && input.efa.found < input.efa.expected) reasons.push(`EFA: ${input.efa.found} of ${input.efa.expected} devices present`);
    reasons.push(...monitoringProblems(input.conditions ?? []));
    return { healthy: reasons.length === 0, reasons };
}

/** The JSON merge patch of the node for a verdict (taints are replaced as a list: pass the node's current ones). */
export function healthTaintPatch(current: ReadonlyArray<Taint>, v: NodeVerdict): { metadata: { annotations: Record<string, string | null> }; spec: { taints: Taint[] } } {
    const others = current.filter((t) => t.key !== HEALTH_PENDING_TAINT.key && t.key !== UNHEALTHY_TAINT.key);
    return v.healthy
        ? { metadata: { annotations: { [UNHEALTHY_REASON_ANNOTATION]: null } }, spec: { taints: others } }
        : { metadata: { annotations: { [UNHEALTHY_REASON_ANNOTATION]: v.reasons.join("; ").slice(0, 4096) } }, spec: { taints: [...others, UNHEALTHY_TAINT] } };
}

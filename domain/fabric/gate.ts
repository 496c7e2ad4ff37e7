/**
 * The fabric gate of a run, as pure decisions: what it checks (the fabric the run's nodes should
 * use, how many nodes, the bus-bandwidth threshold and where the threshold comes from) and the
 * verdict on what the gate Job measured (parsed by ncclLog.ts). The Job itself is gateJob.ts.
 */
import { EFA_ALLREDUCE_REFERENCE, GATE_FRACTION_MORE_NODES, GATE_FRACTION_NVLINK, GATE_FRACTION_TWO_NODES, NVLINK_ALLREDUCE_FLOOR_GBPS, NVLINK_FLOOR_SOURCE } from "../../catalog/fabric";
import type { ResolvedRun } from "../training/run";
import { measuredBusBw, type NcclLogReport, type NcclTransport } from "./ncclLog";

/** What the nodes of a run talk over: EFA (aws-ofi-nccl), InfiniBand/RoCE verbs, plain TCP, or NVLink only (one node). */
export type Fabric = "efa" | "rdma" | "tcp" | "nvlink";

export interface FabricGatePlan {
    enabled: boolean;
    fabric: Fabric;
    nodes: number;
    gpusPerNode: number;
    efaPerNode: number;
    /** GB/s the measured bus bandwidth must reach; undefined = measured and reported, not enforced. */
    thresholdGBps?: number;
    /** Where the threshold comes from (config, or the published reference × share). */
    thresholdSource: string;
    messageBytes: number;
    iterations: number;
    timeoutMinutes: number;
    /** The node groups the gate's pods may land on, when the run spans several. */
    groups?: string[];
}

const round = (x: number) => Math.round(x * 10) / 10;

/** The fabric a run's nodes should use, from its node group. */
export function expectedFabric(r: ResolvedRun): Fabric {
    if (r.nodesNeeded <= 1) return "nvlink";
    const g = r.group;
    if (r.training.network.efa && (g?.efaPerNode ?? 0) > 0) return "efa";
    if ((g?.rdma?.perNode ?? 0) > 0) return "rdma";
    return "tcp";
}

/** The gate of a run: fabric, nodes, threshold and its source. */
export function fabricGatePlan(r: ResolvedRun): FabricGatePlan {
    const fg = r.training.fabricGate;
    const fabric = expectedFabric(r);
    const g = r.group;
    const base = {
        enabled: fg.enabled,
        fabric,
        nodes: r.nodesNeeded,
        gpusPerNode: r.gpusPerNode,
        efaPerNode: fabric === "efa" ? (g?.efaPerNode ?? 0) : 0,
        messageBytes: fg.messageSizeMiB * 1024 * 1024,
        iterations: fg.iterations,
        timeoutMinutes: fg.timeoutMinutes,
        ...(r.groups.length > 1 ? { groups: r.groups.map((x) => x.group.name) } : {}),
    };
    if (fg.minBusBandwidthGBps !== undefined) return { ...base, thresholdGBps: fg.minBusBandwidthGBps, thresholdSource: "training.fabricGate.minBusBandwidthGBps" };
    if (fabric === "nvlink") {
        const t = round(NVLINK_ALLREDUCE_FLOOR_GBPS * GATE_FRACTION_NVLINK);
        return { ...base, thresholdGBps: t, thresholdSource: `${GATE_FRACTION_NVLINK * 100}% of ${NVLINK_ALLREDUCE_FLOOR_GBPS} GB/s, ${NVLINK_FLOOR_SOURCE}` };
    }
    if (fabric === "efa" && g?.instanceType) {
        const ref = EFA_ALLREDUCE_REFERENCE[g.instanceType];
        const share = r.nodesNeeded <= 2 ? GATE_FRACTION_TWO_NODES : GATE_FRACTION_MORE_NODES;
        const borrowed = ref.borrowedFrom ? `; no published ${g.instanceType} run found, the ${ref.borrowedFrom} figure is used (same 3,200 Gbps EFA)` : "";
        return { ...base, thresholdGBps: round(ref.busBwGBps * share), thresholdSource: `${share * 100}% of ${ref.busBwGBps} GB/s, ${ref.source}${borrowed}` };
    }
    return { ...base, thresholdSource: "none known for these nodes: set training.fabricGate.minBusBandwidthGBps to enforce one (the gate still checks the transport and records the figure)" };
}

export interface FabricVerdict {
    pass: boolean;
    transport: NcclTransport;
    measuredGBps?: number;
    /** Each reason the gate failed, in words a user can act on. */
    problems: string[];
    summary: string;
}

const OFI_LINES = "'NCCL INFO Using network Libfabric' / 'Using network AWS Libfabric', 'NET/OFI Selected Provider is efa' or 'via NET/Libfabric/…'";
const IB_LINES = "'NCCL INFO Using network IB' or 'NET/IB : Using [0]…'";

/** Judges a parsed gate log against the gate plan. */
export function fabricVerdict(report: NcclLogReport, plan: FabricGatePlan): FabricVerdict {
    const problems: string[] = [];
    const measured = measuredBusBw(report);
    const socketLine = report.evidence.find((e) => e.transport === "socket")?.line;
    const why = [socketLine, ...report.pluginProblems].filter((l): l is string => l !== undefined).slice(0, 3).map((l) => `'${l}'`).join(", ");
    if (plan.fabric === "efa" && report.transport !== "ofi") {
        problems.push(
            `NCCL did not use the aws-ofi-nccl (EFA) network plugin between nodes: transport ${report.transport}; looked for ${OFI_LINES}${why ? `, found ${why}` : ""}. ` +
                "Run the project EFA image (training.image.source: efa-build) or an image with libfabric and aws-ofi-nccl on LD_LIBRARY_PATH, and check that the pods got their vpc.amazonaws.com/efa devices.",
        );
    } else if (plan.fabric === "efa" && report.ofiNics !== undefined && report.ofiNics < plan.efaPerNode) {
        problems.push(`the OFI plugin found ${report.ofiNics} EFA NICs but the node has ${plan.efaPerNode}: check the launch template's interfaces and the EFA device plugin on that node.`);
    }
    if (plan.fabric === "rdma" && report.transport !== "ib") {
        problems.push(`NCCL did not use InfiniBand/RoCE verbs between nodes: transport ${report.transport}; looked for ${IB_LINES}${why ? `, found ${why}` : ""}. Check the RDMA resource the pods request (cluster.existing.gpuNodes.rdma), the image's libibverbs, and NCCL_IB_HCA.`);
    }
    if (measured === undefined) {
        problems.push("the all-reduce printed no result table (the benchmark did not finish): read the gate Job's logs (kubectl logs) for the NCCL WARN or Python error.");
    } else if (plan.thresholdGBps !== undefined && measured < plan.thresholdGBps) {
        problems.push(`measured bus bandwidth ${measured} GB/s at ${report.largest?.sizeBytes ?? "?"} bytes is below the threshold ${plan.thresholdGBps} GB/s (${plan.thresholdSource}).`);
    }
    const figure = measured === undefined ? "no figure" : `${measured} GB/s bus bandwidth`;
    const summary = `${plan.nodes} node(s), ${plan.fabric}, transport ${report.transport}, ${figure}${plan.thresholdGBps !== undefined ? ` (threshold ${plan.thresholdGBps} GB/s)` : ""}`;
    return { pass: problems.length === 0, transport: report.transport, ...(measured !== undefined ? { measuredGBps: measured } : {}), problems, summary };
}

/** Plan warnings about the fabric a run will really get. */
export function fabricWarnings(r: ResolvedRun): string[] {
    const out: string[] = [];
    const plan = fabricGatePlan(r);
    const g = r.group;
    if (plan.nodes > 1 && plan.fabric === "efa" && r.imageChoice.hasEfaSoftware === false) {
        out.push(
            `training.image: ${r.imageChoice.describe} on ${plan.nodes} EFA nodes — NCCL will fall back to TCP sockets (NET/Socket), a small fraction of the ${g?.efaPerNode ?? "?"} EFA devices' bandwidth you pay for${plan.enabled ? ", and the fabric gate will fail" : ""}. Fix: ${r.imageChoice.platform === "eks" ? "training.image.source: efa-build (the project EFA image, built by the deployment itself), or a named image with libfabric + aws-ofi-nccl" : "push images/miles-efa (the miles image + the AWS EFA installer) to your registry and set training.image.source: named with its repository and digest (efa-build needs the ECR repository only an EKS stack creates)"}.`,
        );
    }
    if (plan.nodes > 1 && plan.fabric === "tcp") {
        out.push(
            `${plan.nodes} GPU nodes with no EFA (efaPerNode: 0) and no RDMA resource: NCCL will use TCP sockets between nodes. On an InfiniBand/RoCE cluster set cluster.existing.gpuNodes.rdma (resource name and count) so the workers request it and NCCL is pinned to IB.`,
        );
    }
    if (!plan.enabled && plan.nodes > 1) out.push("training.fabricGate.enabled: false — nothing checks that NCCL uses the fabric before the run starts.");
    return out;
}

/** One plan line describing the gate; `queued`: the stack's runs wait in Kueue (the gate Job does too, and Pulumi does not wait for it). */
export function describeGate(plan: FabricGatePlan, queued = false): string {
    if (!plan.enabled) return "off (training.fabricGate.enabled: false): the RayJob starts without a bandwidth check";
    const what = plan.fabric === "nvlink" ? "NVLink all-reduce on the run's node" : `NCCL all-reduce across the run's ${plan.nodes} GPU nodes${plan.groups && plan.groups.length > 1 ? ` of node groups ${plan.groups.join(" + ")}` : ""} over ${plan.fabric === "efa" ? `EFA (aws-ofi-nccl, ${plan.efaPerNode} devices per node)` : plan.fabric === "rdma" ? "InfiniBand/RoCE" : "TCP"}`;
    const threshold = plan.thresholdGBps !== undefined ? `bus bandwidth ≥ ${plan.thresholdGBps} GB/s at ${plan.messageBytes / 1024 ** 2} MiB (${plan.thresholdSource})` : `no threshold (${plan.thresholdSource})`;
    const when = queued
        ? `submitted to the Kueue queue ahead of the RayJob (pulumi up does not wait for it; it runs when admitted, up to ${plan.timeoutMinutes} min; the stack output fabricGate.follow says how to read its verdict); the run's entrypoint starts train.py only after a passing verdict of this gate on the shared volume, waiting up to ${plan.timeoutMinutes} min for it`
        : `the RayJob is created only after it passes (pulumi up waits up to ${plan.timeoutMinutes} min)`;
    return `${what}, one pod per node with all ${plan.gpusPerNode} GPUs; ${threshold}; ${when}`;
}

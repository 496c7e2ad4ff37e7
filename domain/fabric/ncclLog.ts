/**
 * Reads what NCCL and an all-reduce benchmark printed: which network transport NCCL selected
 * (aws-ofi-nccl over EFA, InfiniBand/RoCE verbs, or plain TCP sockets), the libfabric provider and
 * NIC count the OFI plugin found, and the nccl-tests style result table (size, algbw, busbw).
 * Pure and total: any text in, a report out; tested on output captured from public runs
 * (test/fixtures/fabric/, each file names its source).
 *
 * Line formats recognised (all quoted in the fixtures):
 *   - `NCCL INFO Using network <name>` (NCCL ≥ 2.1x): `Libfabric` / `AWS Libfabric` (aws-ofi-nccl),
 *     `IB` / `IBext…` (verbs, SHARP plugin), `Socket` (TCP fallback);
 *   - `NCCL INFO Channel … via NET/<name>/<dev>` and the older `Ring … via NET/<name>/…`;
 *   - `NET/OFI Selected Provider is efa (found 16 nics)`, `NET/OFI Using aws-ofi-nccl 1.4.0aws`;
 *   - `NET/IB : Using [0]mlx5_0:1/IB …`, `NET/IB : No device found.`, `NET/Socket : Using [0]eth0…`,
 *     `NET/Plugin : No plugin found (libnccl-net.so).`, `NET/OFI aws-ofi-nccl initialization failed`;
 *   - the table header `#  size  count  type  redop  root  time  algbw  busbw  #wrong  time  algbw
 *     busbw  #wrong` (older versions: no `root`, `error` instead of `#wrong`), rows with or without
 *     launcher prefixes (`0: `, `[1,0]<stdout>:`), and `# Avg bus bandwidth : <GB/s>`.
 */

export type NcclTransport = "ofi" | "ib" | "socket" | "unknown";

export interface NcclTableRow {
    sizeBytes: number;
    /** Out-of-place bus bandwidth, GB/s. */
    busBwGBps: number;
    /** In-place bus bandwidth, GB/s (absent when the table has only out-of-place columns). */
    inPlaceBusBwGBps?: number;
    algBwGBps: number;
}

export interface NcclEvidence {
    transport: Exclude<NcclTransport, "unknown">;
    /** `explicit`: NCCL named the network it uses; `inferred`: deduced from init lines. */
    strength: "explicit" | "inferred";
    line: string;
}

export interface NcclLogReport {
    /** The transport NCCL used between nodes; a mix resolves to the slowest one seen (one rank on sockets slows every collective). */
    transport: NcclTransport;
    /** The lines the transport was decided from (at most a few per kind). */
    evidence: NcclEvidence[];
    /** Libfabric provider the OFI plugin selected (`efa`), and how many NICs it found. */
    ofiProvider?: string;
    ofiNics?: number;
    /** `NET/OFI Using aws-ofi-nccl <version>` when printed. */
    ofiPluginVersion?: string;
    /** Lines saying a network plugin or device was not available. */
    pluginProblems: string[];
    rows: NcclTableRow[];
    /** `# Avg bus bandwidth : X` of the last table, GB/s. */
    avgBusBwGBps?: number;
    /** The row of the largest message size (the figure the gate compares). */
    largest?: NcclTableRow;
}

export const USING_NETWORK = /NCCL INFO Using network (.+?)\s*$/;
export const VIA_NET = /\bvia NET\/([A-Za-z][A-Za-z0-9_ ]*?)\/\d+/;
export const OFI_PROVIDER = /NET\/OFI Selected Provider is (\S+)(?: \(found (\d+) nics?\))?/;
const OFI_VERSION = /NET\/OFI Using aws-ofi-nccl (\S+)/;
export const IB_USING = /NET\/IB : Using \[\d+\]/;
export const SOCKET_USING = /NET\/Socket : Using \[\d+\]/;
const PLUGIN_PROBLEMS = [/NET\/Plugin ?: No plugin found/, /NET\/IB : No device found/, /aws-ofi-nccl initialization failed/, /Failed to open libibverbs/, /NET\/Plugin ?: Plugin load .* returned/];
export const AVG_BUSBW = /#\s*Avg bus bandwidth\s*:\s*([0-9.]+)/;
/** Launcher prefixes before a table line: `0: ` (srun), `[1,0]<stdout>:` (mpirun --tag-output), `10.3.35.83: ` (pdsh). */
export const PREFIX = /^(?:\[\d+,\d+\]<std(?:out|err)>:|\d+:\s|[\w.-]+:\s+(?=[#\d\s]))/;

/** The transport a network name NCCL printed stands for. */
export function transportOfNetworkName(name: string): NcclTransport {
    const n = name.trim();
    if (/libfabric/i.test(n) || /^ofi$/i.test(n)) return "ofi";
    if (/^IB/i.test(n)) return "ib";
    if (/^Socket/i.test(n)) return "socket";
    return "unknown";
}

const SLOWEST_FIRST: Array<Exclude<NcclTransport, "unknown">> = ["socket", "ib", "ofi"];

function decide(evidence: NcclEvidence[]): NcclTransport {
    for (const strength of ["explicit", "inferred"] as const) {
        const kinds = new Set(evidence.filter((e) => e.strength === strength).map((e) => e.transport));
        if (kinds.size === 0) continue;
        if (strength === "inferred") {
            // Old NCCL prints `NET/Socket : Using` next to a working IB or OFI transport: sockets only
            // count when nothing faster initialised.
            if (kinds.has("ofi")) return "ofi";
            if (kinds.has("ib")) return "ib";
            return "socket";
        }
        return SLOWEST_FIRST.find((k) => kinds.has(k)) ?? "unknown";
    }
    return "unknown";
}

function stripPrefix(line: string): string {
    return line.replace(PREFIX, "");
}

interface Header {
    width: number;
    busbw: number[];
    algbw: number;
}

function parseHeader(tokens: string[]): Header | undefined {
    if (tokens[0] !== "size" || !tokens.includes("busbw")) return undefined;
    const busbw = tokens.flatMap((t, i) => (t === "busbw" ? [i] : []));
    return { width: tokens.length, busbw, algbw: tokens.indexOf("algbw") };
}

function num(s: string | undefined): number | undefined {
    if (s === undefined) return undefined;
    const n = Number(s);
    return Number.isFinite(n) ? n : undefined;
}

/** Parses NCCL_DEBUG=INFO output and nccl-tests (or compatible) result tables. */
export function parseNcclLog(text: string): NcclLogReport {
    const evidence: NcclEvidence[] = [];
    const pluginProblems: string[] = [];
    const rows: NcclTableRow[] = [];
    let ofiProvider: string | undefined;
    let ofiNics: number | undefined;
    let ofiPluginVersion: string | undefined;
    let avgBusBwGBps: number | undefined;
    let header: Header | undefined;
    const perKind = new Map<string, number>();
    // At most three lines per kind are kept: enough to show, small enough for a Job annotation.
    const addEvidence = (e: NcclEvidence) => {
        const key = `${e.strength}:${e.transport}`;
        const n = perKind.get(key) ?? 0;
        perKind.set(key, n + 1);
        if (n < 3) evidence.push(e);
    };

    for (const raw of text.split(/\r?\n/)) {
        const line = raw.trimEnd();
        if (line === "") continue;
        const using = USING_NETWORK.exec(line);
        if (using) {
            const t = transportOfNetworkName(using[1]);
            if (t !== "unknown") addEvidence({ transport: t, strength: "explicit", line: line.trim() });
        }
        const via = VIA_NET.exec(line);
        if (via) {
            const t = transportOfNetworkName(via[1]);
            if (t !== "unknown") addEvidence({ transport: t, strength: "explicit", line: line.trim() });
        }
        const prov = OFI_PROVIDER.exec(line);
        if (prov) {
            ofiProvider = prov[1];
            if (prov[2] !== undefined) ofiNics = Math.max(ofiNics ?? 0, Number(prov[2]));
            addEvidence({ transport: "ofi", strength: "inferred", line: line.trim() });
        }
        const ver = OFI_VERSION.exec(line);
        if (ver) ofiPluginVersion = ver[1];
        if (IB_USING.test(line)) addEvidence({ transport: "ib", strength: "inferred", line: line.trim() });
        if (SOCKET_USING.test(line)) addEvidence({ transport: "socket", strength: "inferred", line: line.trim() });
        if (PLUGIN_PROBLEMS.some((p) => p.test(line)) && pluginProblems.length < 5 && !pluginProblems.includes(line.trim())) pluginProblems.push(line.trim());

        const body = stripPrefix(line).trim();
        const avg = AVG_BUSBW.exec(body);
        if (avg) {
            avgBusBwGBps = Number(avg[1]);
            continue;
        }
        if (body.startsWith("#")) {
            const h = parseHeader(body.replace(/^#\s*/, "").split(/\s+/));
            if (h) header = h;
            continue;
        }
        if (!header || !/^\d+\s/.test(body)) continue;
        const tokens = body.split(/\s+/);
        if (tokens.length !== header.width) continue;
        const sizeBytes = num(tokens[0]);
        const busBw = num(tokens[header.busbw[0]]);
        const algBw = num(tokens[header.algbw]);
        if (sizeBytes === undefined || busBw === undefined || algBw === undefined) continue;
        const inPlace = header.busbw.length > 1 ? num(tokens[header.busbw[1]]) : undefined;
        rows.push({ sizeBytes, busBwGBps: busBw, algBwGBps: algBw, ...(inPlace !== undefined ? { inPlaceBusBwGBps: inPlace } : {}) });
    }
    const largest = rows.reduce<NcclTableRow | undefined>((best, r) => (best === undefined || r.sizeBytes >= best.sizeBytes ? r : best), undefined);
    return {
        transport: decide(evidence),
        evidence,
        ...(ofiProvider !== undefined ? { ofiProvider } : {}),
        ...(ofiNics !== undefined ? { ofiNics } : {}),
        ...(ofiPluginVersion !== undefined ? { ofiPluginVersion } : {}),
        pluginProblems,
        rows,
        ...(avgBusBwGBps !== undefined ? { avgBusBwGBps } : {}),
        ...(largest ? { largest } : {}),
    };
}

/** The bus bandwidth the gate compares: the better of out-of-place and in-place at the largest size. */
export function measuredBusBw(report: NcclLogReport): number | undefined {
    const l = report.largest;
    if (!l) return undefined;
    return Math.max(l.busBwGBps, l.inPlaceBusBwGBps ?? l.busBwGBps);
}

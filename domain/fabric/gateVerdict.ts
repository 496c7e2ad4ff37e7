/**
 * The gate's verdict where the queued run can read it (issue 22). With Kueue on, `pulumi up` no
 * longer waits for the gate Job (components/fabricGate.ts), so nobody judged what it measured before
 * the run started. Now pod 0 of the gate judges its own log and writes the verdict as JSON to the
 * run's control directory on the shared volume (`ResolvedRun.paths.gateVerdict`, never linked to S3:
 * catalog/sharedPaths.ts), and the run's entrypoint (domain/training/runRecord.ts) refuses to start
 * train.py unless a passing verdict of the same gate identity (gateJob.ts runHash) is there.
 *
 * The judgement is the one of gate.ts `fabricVerdict` on what ncclLog.ts `parseNcclLog` reads, in
 * Python (the gate runs in the run's image: python3, no node): the line formats are ncclLog.ts's
 * own regular expressions (their `.source`, valid in Python's `re` too), the decisions are written
 * out again below, and test/gateVerdict.test.ts runs both over every captured log in
 * test/fixtures/fabric/ and requires the same pass, transport and figure.
 */
import type { FabricGatePlan } from "./gate";
import { AVG_BUSBW, IB_USING, OFI_PROVIDER, PREFIX, SOCKET_USING, USING_NETWORK, VIA_NET } from "./ncclLog";

export const GATE_VERDICT_SCHEMA = "miles-cluster/fabric-gate-verdict/v1";

/** What pod 0 writes (JSON) at `paths.gateVerdict`. */
export interface GateVerdictFile {
    schema: string;
    /** The gate Job's name. */
    gate: string;
    /** The gate identity it measured (gateJob.ts runHash). */
    hash: string;
    pass: boolean;
    fabric: string;
    nodes: number;
    transport: string;
    busBandwidthGBps: number | null;
    thresholdGBps: number | null;
    thresholdSource: string;
    problems: string[];
    measuredAt: string;
}

/** What the run's entrypoint expects of the verdict: the gate's name, identity and where it is written (gateJob.ts gateExpectation). */
export interface GateExpectation {
    gate: string;
    hash: string;
    file: string;
}

const py = (re: RegExp) => JSON.stringify(re.source);

/**
 * The verdict writer (python3, stdlib): `python3 <this> <gate log>` judges the log against the plan
 * and writes the verdict atomically (tmp + rename). Its exit code is 0 whatever the verdict: the
 * gate Job's own status stays the benchmark's, as before.
 */
export function gateVerdictScript(plan: FabricGatePlan, e: GateExpectation): string {
    const cfg = {
        gate: e.gate,
        hash: e.hash,
        file: e.file,
        fabric: plan.fabric,
        nodes: plan.nodes,
        efaPerNode: plan.efaPerNode,
        thresholdGBps: plan.thresholdGBps ?? null,
        thresholdSource: plan.thresholdSource,
    };
    return `import datetime, json, os, re, sys
CFG = json.loads(${JSON.stringify(JSON.stringify(cfg))})
USING = re.compile(${py(USING_NETWORK)})
VIA = re.compile(${py(VIA_NET)})
PROV = re.compile(${py(OFI_PROVIDER)})
IB = re.compile(${py(IB_USING)})
SOCK = re.compile(${py(SOCKET_USING)})
AVG = re.compile(${py(AVG_BUSBW)})
PREFIX = re.compile(${py(PREFIX)})
def kind(name):
    n = name.strip()
    if re.search(r"libfabric", n, re.I) or re.fullmatch(r"ofi", n, re.I): return "ofi"
    if re.match(r"IB", n, re.I): return "ib"
    if re.match(r"Socket", n, re.I): return "socket"
    return None
def num(s):
    try:
        x = float(s)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None
explicit, inferred, nics, rows, header = set(), set(), None, [], None
for raw in open(sys.argv[1], errors="replace"):
    line = raw.rstrip()
    if line == "": continue
    for m in (USING.search(line), VIA.search(line)):
        if m and kind(m.group(1)): explicit.add(kind(m.group(1)))
    m = PROV.search(line)
    if m:
        if m.group(2) is not None: nics = max(nics or 0, int(m.group(2)))
        inferred.add("ofi")
    if IB.search(line): inferred.add("ib")
    if SOCK.search(line): inferred.add("socket")
    body = PREFIX.sub("", line, count=1).strip()
    if AVG.search(body): continue
    if body.startswith("#"):
        t = re.sub(r"^#\\s*", "", body).split()
        if t and t[0] == "size" and "busbw" in t:
            header = (len(t), [i for i, x in enumerate(t) if x == "busbw"], t.index("algbw") if "algbw" in t else -1)
        continue
    if header is None or not re.match(r"^\\d+\\s", body): continue
    t = body.split()
    if len(t) != header[0]: continue
    size, bus, alg = num(t[0]), num(t[header[1][0]]), num(t[header[2]]) if header[2] >= 0 else None
    if size is None or bus is None or alg is None: continue
    inplace = num(t[header[1][1]]) if len(header[1]) > 1 else None
    rows.append((size, bus, inplace))
# ncclLog.ts decide(): the slowest transport NCCL named; else what initialised, fastest first.
if explicit:
    transport = next(k for k in ("socket", "ib", "ofi") if k in explicit)
else:
    transport = next((k for k in ("ofi", "ib", "socket") if k in inferred), "unknown")
largest = None
for r in rows:
    if largest is None or r[0] >= largest[0]: largest = r
measured = None if largest is None else max(largest[1], largest[2] if largest[2] is not None else largest[1])
problems = []
if CFG["fabric"] == "efa" and transport != "ofi":
    problems.append(f"NCCL did not use the aws-ofi-nccl (EFA) network plugin between nodes: transport {transport}")
elif CFG["fabric"] == "efa" and nics is not None and nics < CFG["efaPerNode"]:
    problems.append(f"the OFI plugin found {nics} EFA NICs but the node has {CFG['efaPerNode']}")
if CFG["fabric"] == "rdma" and transport != "ib":
    problems.append(f"NCCL did not use InfiniBand/RoCE verbs between nodes: transport {transport}")
if measured is None:
    problems.append("the all-reduce printed no result table (the benchmark did not finish)")
elif CFG["thresholdGBps"] is not None and measured < CFG["thresholdGBps"]:
    problems.append(f"measured bus bandwidth {measured:g} GB/s is below the threshold {CFG['thresholdGBps']:g} GB/s ({CFG['thresholdSource']})")
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
verdict = dict(schema="${GATE_VERDICT_SCHEMA}", gate=CFG["gate"], hash=CFG["hash"], passed=not problems, fabric=CFG["fabric"], nodes=CFG["nodes"], transport=transport,
               busBandwidthGBps=measured, thresholdGBps=CFG["thresholdGBps"], thresholdSource=CFG["thresholdSource"], problems=problems, measuredAt=now)
verdict["pass"] = verdict.pop("passed")
os.makedirs(os.path.dirname(CFG["file"]), exist_ok=True)
with open(CFG["file"] + ".tmp", "w") as f:
    json.dump(verdict, f, indent=2, sort_keys=True)
os.replace(CFG["file"] + ".tmp", CFG["file"])
print(f"fabric gate: verdict {'pass' if not problems else 'FAIL'} written to {CFG['file']}" + "".join(f"\\n  - {p}" for p in problems))
`;
}

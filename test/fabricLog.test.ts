import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { measuredBusBw, parseNcclLog } from "../domain/fabric/ncclLog";

/** Output captured from public runs; each fixture's first lines name its source. */
const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "fixtures", "fabric", name), "utf8");

describe("NCCL log parser (real captured output)", () => {
    it("p5en over EFA: aws-ofi-nccl selected, provider efa, 16 NICs (NVIDIA/nccl#1597)", () => {
        const r = parseNcclLog(fixture("p5en-ofi-selected.txt"));
        assert.equal(r.transport, "ofi");
        assert.equal(r.ofiProvider, "efa");
        assert.equal(r.ofiNics, 16);
        assert.ok(r.evidence.some((e) => e.strength === "explicit" && e.line.endsWith("NCCL INFO Using network Libfabric")));
        assert.deepEqual(r.pluginProblems, []);
    });

    it("p4d with the older network name 'AWS Libfabric' and the plugin version line (NVIDIA/nccl#527)", () => {
        const r = parseNcclLog(fixture("p4d-aws-libfabric.txt"));
        assert.equal(r.transport, "ofi");
        assert.equal(r.ofiPluginVersion, "1.4.0aws");
        assert.equal(r.ofiNics, undefined, "that version does not print the NIC count");
    });

    it("channel lines 'via NET/AWS Libfabric/0' decide the transport; a header without rows gives no bandwidth (aws-ofi-nccl#64)", () => {
        const r = parseNcclLog(fixture("p4d-interleaved-table.txt"));
        assert.equal(r.transport, "ofi");
        assert.equal(r.rows.length, 0);
        assert.equal(measuredBusBw(r), undefined);
    });

    it("NET/Socket fallback: no plugin, no IB device (NVIDIA/nccl#352)", () => {
        const r = parseNcclLog(fixture("socket-fallback-no-plugin.txt"));
        assert.equal(r.transport, "socket");
        assert.ok(r.pluginProblems.some((l) => l.includes("NET/Plugin : No plugin found (libnccl-net.so).")));
        assert.ok(r.pluginProblems.some((l) => l.includes("NET/IB : No device found.")));
        assert.ok(r.evidence.every((e) => e.transport === "socket"));
    });

    it("InfiniBand: 'NET/IB : Using' wins over the socket lines old NCCL prints next to it (nccl-tests#29)", () => {
        const r = parseNcclLog(fixture("infiniband-selected.txt"));
        assert.equal(r.transport, "ib");
    });

    it("a plugin that loads but cannot initialise is reported, with no transport claimed (awsome-distributed-ai#386)", () => {
        const r = parseNcclLog(fixture("ofi-init-failed.txt"));
        assert.equal(r.transport, "unknown");
        assert.equal(r.pluginProblems.length, 1);
    });

    it("p5 2-node EFA table with srun prefixes: 32 rows, 16 GiB at 487.09 / 487.26 GB/s busbw (awsome README)", () => {
        const r = parseNcclLog(fixture("p5-2node-efa-allreduce.txt"));
        assert.equal(r.rows.length, 32);
        assert.deepEqual(r.largest, { sizeBytes: 17179869184, busBwGBps: 487.09, inPlaceBusBwGBps: 487.26, algBwGBps: 259.78 });
        assert.equal(measuredBusBw(r), 487.26);
        assert.equal(r.rows.find((x) => x.sizeBytes === 8589934592)?.busBwGBps, 479.28);
    });

    it("p5 2-node MPIJob table with mpirun --tag-output prefixes and the Avg bus bandwidth line (awsome README, EKS)", () => {
        const r = parseNcclLog(fixture("p5-2node-efa-mpijob.txt"));
        assert.equal(r.avgBusBwGBps, 52.9753);
        assert.equal(r.largest?.sizeBytes, 2147483648);
        assert.equal(r.largest?.busBwGBps, 437.79);
        assert.equal(measuredBusBw(r), 437.89);
        assert.equal(r.rows[0].sizeBytes, 0);
    });

    it("low bandwidth on an older table layout (no root column, 'error' instead of '#wrong'): 6.90 GB/s at 4 MiB (aws-ofi-nccl#33)", () => {
        const r = parseNcclLog(fixture("p3dn-low-bandwidth.txt"));
        assert.equal(r.rows.length, 3);
        assert.deepEqual(r.largest, { sizeBytes: 4194304, busBwGBps: 6.9, inPlaceBusBwGBps: 6.87, algBwGBps: 3.68 });
    });

    it("total on anything: empty text, and the worst transport wins when ranks disagree", () => {
        assert.deepEqual(parseNcclLog(""), { transport: "unknown", evidence: [], pluginProblems: [], rows: [] });
        const mixed = [fixture("p5en-ofi-selected.txt"), "ip-1:2:3 [4] NCCL INFO Using network Socket"].join("\n");
        assert.equal(parseNcclLog(mixed).transport, "socket");
    });
});

import { resolveStack } from "../domain/stack";
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { parseConfig } from "../validation";
import { rawConfig, planStack, ofType, one, ROOT } from "./harness";
import { readStackFile } from "../plan/stackFile";
import { runOf } from "../domain/stack";
import { trainingSection } from "../plan/sections/training";
import { fabricGatePlan, fabricVerdict, fabricWarnings } from "../domain/fabric/gate";
import { benchmarkScript, gateManifests, GATE_RESULT_ANNOTATION } from "../domain/fabric/gateJob";
import { parseNcclLog } from "../domain/fabric/ncclLog";
import { FabricGateError, judgeRecorded } from "../components/fabricGate";
import { EFA_INSTALLER } from "../catalog/fabric";
import { ecrImageReference, pullableImage } from "../domain/training/image";
import type { MilesConfig } from "../config";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "fixtures", "fabric", name), "utf8");
const stackCfg = (name: string): MilesConfig => {
    const r = parseConfig(readStackFile(path.join(ROOT, "stacks", `Pulumi.${name}.yaml`), "miles-cluster"), { stack: name });
    assert.deepEqual(r.problems, []);
    return r.config!;
};
const cfgOf = (values: Record<string, unknown>): MilesConfig => {
    const r = parseConfig(rawConfig(values), { stack: "t" });
    assert.deepEqual(r.problems.map((p) => `${p.path}: ${p.message}`), []);
    return r.config!;
};
const P5_TWO = (training: Record<string, unknown> = {}) => ({
    "aws:region": "us-east-1",
    "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 2 }] },
    "miles-cluster:storage": { type: "fsx-lustre" },
    "miles-cluster:training": { model: { preset: "qwen3-4B" }, layout: { actorNodes: 2 }, ...training },
});
/** kubernetes-models is ESM-only: load the kind's class, then validate against the upstream schema. */
const valid = async (group: string, kind: string, obj: unknown) => new ((await import(`kubernetes-models/${group}`)) as any)[kind](obj).validate();
// The EFA build's reference in the ECR repository (the component builds it from the repository output; ignored for other images).
const ctx = { namespace: "miles", claimName: "shared", serviceAccountName: "miles-training", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/miles-cluster/t/miles-efa:v0.1.0-efa1.49.0" };

describe("fabric gate: threshold and source", () => {
    it("2 × p5: 75% of the published 2-node p5 figure (479.28 GB/s at 8 GiB), with its source", () => {
        const g = fabricGatePlan(runOf(cfgOf(P5_TWO())));
        assert.equal(g.fabric, "efa");
        assert.equal(g.nodes, 2);
        assert.equal(g.efaPerNode, 32);
        assert.equal(g.thresholdGBps, 359.5);
        assert.match(g.thresholdSource, /awsome-distributed-training .*README\.md @7217859/);
    });
    it("p5en beyond 2 nodes: a lower share of the borrowed p5 figure, and the plan says it is borrowed (prod)", () => {
        const g = fabricGatePlan(runOf(stackCfg("prod")));
        assert.deepEqual([g.fabric, g.nodes, g.efaPerNode, g.thresholdGBps], ["efa", 4, 16, 287.6]);
        assert.match(g.thresholdSource, /no published p5en\.48xlarge run found/);
    });
    it("one node checks NVLink; a configured threshold wins; a bring-your-own TCP cluster gets none", () => {
        const one = fabricGatePlan(runOf(cfgOf(P5_TWO({ layout: { actorNodes: 1 } }))));
        assert.deepEqual([one.fabric, one.thresholdGBps], ["nvlink", 300]);
        const own = fabricGatePlan(runOf(cfgOf(P5_TWO({ fabricGate: { minBusBandwidthGBps: 420 } }))));
        assert.deepEqual([own.thresholdGBps, own.thresholdSource], [420, "training.fabricGate.minBusBandwidthGBps"]);
        const byo = fabricGatePlan(runOf(stackCfg("byo")));
        assert.deepEqual([byo.fabric, byo.thresholdGBps], ["tcp", undefined]);
    });
});

describe("fabric gate: verdict on real captured output", () => {
    const plan = fabricGatePlan(runOf(cfgOf(P5_TWO())));
    // The two published excerpts are concatenated: NET lines of one run, the table of another.
    it("EFA selected and 487 GB/s on 2 × p5 passes", () => {
        const v = fabricVerdict(parseNcclLog(fixture("p5en-ofi-selected.txt").replace("found 16 nics", "found 32 nics") + fixture("p5-2node-efa-allreduce.txt")), plan);
        assert.deepEqual(v.problems, []);
        assert.equal(v.pass, true);
        assert.equal(v.measuredGBps, 487.26);
    });
    it("NET/Socket fallback at a few GB/s fails, naming the lines looked for and found, and the fix", () => {
        const v = fabricVerdict(parseNcclLog(fixture("socket-fallback-no-plugin.txt") + fixture("p3dn-low-bandwidth.txt")), plan);
        assert.equal(v.pass, false);
        assert.equal(v.transport, "socket");
        assert.match(v.problems[0], /did not use the aws-ofi-nccl \(EFA\) network plugin/);
        assert.match(v.problems[0], /Using network Libfabric/);
        assert.match(v.problems[0], /NET\/Plugin : No plugin found/);
        assert.match(v.problems[0], /training\.image\.source: efa-build/);
        assert.match(v.problems[1], /6\.9 GB\/s at 4194304 bytes is below the threshold 359\.5 GB\/s/);
    });
    it("fewer EFA NICs than the node has fails (16 found, p5 has 32)", () => {
        const v = fabricVerdict(parseNcclLog(fixture("p5en-ofi-selected.txt") + fixture("p5-2node-efa-allreduce.txt")), plan);
        assert.equal(v.pass, false);
        assert.match(v.problems[0], /found 16 EFA NICs but the node has 32/);
    });
    it("no table (the benchmark died) fails; judgeRecorded throws the reasons for pulumi up, and waits in preview", () => {
        assert.throws(() => judgeRecorded(fixture("ofi-init-failed.txt"), plan, false), (e: unknown) => e instanceof FabricGateError && /printed no result table/.test(e.message) && /The RayJob was not created/.test(e.message));
        assert.equal(judgeRecorded(undefined, plan, true).status, "pending");
        assert.throws(() => judgeRecorded(undefined, plan, false), FabricGateError);
        const ok = judgeRecorded(fixture("p5en-ofi-selected.txt").replace("found 16 nics", "found 32 nics") + fixture("p5-2node-efa-allreduce.txt"), plan, false);
        assert.deepEqual([ok.status, ok.busBandwidthGBps, ok.thresholdGBps], ["passed", 487.26, 359.5]);
    });
});

describe("fabric gate: the benchmark's own output is what the parser reads", () => {
    it("runs the generated benchmark under a stand-in torch (16 ranks, 50 µs per call) and parses its table", function () {
        const dir = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "fabric-"));
        // A minimal torch stand-in: enough API for the script; time.perf_counter advances 50 µs per all_reduce.
        fs.mkdirSync(path.join(dir, "torch", "distributed"), { recursive: true });
        fs.writeFileSync(path.join(dir, "torch", "__init__.py"), ["float32 = 'f32'", "class _T:", "    def __init__(self, v): self.v = v", "    def item(self): return self.v[0]", "def zeros(n, dtype=None, device=None): return _T([0.0])", "def tensor(v, device=None): return _T(list(v))", "def device(*a): return a", "class cuda:", "    @staticmethod", "    def set_device(i): pass", "    @staticmethod", "    def synchronize(): pass"].join("\n"));
        fs.writeFileSync(path.join(dir, "torch", "distributed", "__init__.py"), ["import time", "_t = [0.0]", "time.perf_counter = lambda: _t[0]", "class ReduceOp: MAX = 'max'", "def init_process_group(b): pass", "def get_world_size(): return 16", "def get_rank(): return 0", "def all_reduce(t, op=None): _t[0] += 50e-6", "def barrier(): pass", "def destroy_process_group(): pass"].join("\n"));
        const plan = fabricGatePlan(runOf(cfgOf(P5_TWO({ fabricGate: { messageSizeMiB: 1024, iterations: 4 } }))));
        fs.writeFileSync(path.join(dir, "bench.py"), benchmarkScript(plan));
        let out: string;
        try {
            out = execFileSync("python3", [path.join(dir, "bench.py")], { env: { ...process.env, PYTHONPATH: dir, LOCAL_RANK: "0" }, encoding: "utf8" });
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ENOENT") this.skip();
            throw e;
        }
        const r = parseNcclLog(out);
        assert.deepEqual(r.rows.map((x) => x.sizeBytes), [64 * 2 ** 20, 256 * 2 ** 20, 2 ** 30]);
        // 1 GiB in 50 µs = 21474.84 GB/s algbw; busbw = algbw × 2 × 15 / 16.
        assert.equal(r.largest?.algBwGBps, 21474.84);
        assert.equal(r.largest?.busBwGBps, 40265.32);
        assert.ok(r.avgBusBwGBps !== undefined);
    });
});

describe("fabric gate: Job on the run's GPU nodes (moe-fp8)", () => {
    const r = runOf(stackCfg("moe-fp8"));
    const m = gateManifests(r, fabricGatePlan(r), ctx);
    it("is an Indexed Job, one pod per GPU node of the run, each with every GPU and EFA device, the worker's placement and env", async () => {
        const job = m.job as any;
        await valid("batch/v1", "Job", job);
        assert.deepEqual([job.spec.completionMode, job.spec.completions, job.spec.parallelism, job.spec.backoffLimit], ["Indexed", 9, 9, 0]);
        const pod = job.spec.template.spec;
        const c = pod.containers[0];
        assert.equal(c.resources.requests["nvidia.com/gpu"], "8");
        assert.equal(c.resources.requests["vpc.amazonaws.com/efa"], "16");
        assert.deepEqual(pod.nodeSelector, r.group!.selector);
        assert.equal(pod.subdomain, m.service!.metadata.name);
        const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
        assert.equal(env.NCCL_DEBUG, "INFO");
        assert.equal(env.FI_PROVIDER, "efa");
        assert.match(c.command[2], /torchrun --nproc-per-node 8 --nnodes 9 --node-rank "\$NODE_RANK" --master-addr dsv3-fp8-fabric-0\.dsv3-fp8-fabric/);
        await valid("v1", "Service", m.service);
    });
    it("its service account may get and patch only this Job (to record the result) and nothing else", async () => {
        await valid("rbac.authorization.k8s.io/v1", "Role", m.role);
        await valid("rbac.authorization.k8s.io/v1", "RoleBinding", m.roleBinding);
        assert.deepEqual(m.role.rules, [{ apiGroups: ["batch"], resources: ["jobs"], resourceNames: ["dsv3-fp8-fabric"], verbs: ["get", "patch"] }]);
        assert.ok(((m.job.spec.template.spec.containers as any)[0].command[2] as string).includes(`'${GATE_RESULT_ANNOTATION}': text`));
    });
    it("plan shows the image (EFA build, built by this deployment), the gate (nodes, threshold, source) and that the RayJob waits", () => {
        const s = trainingSection(resolveStack(stackCfg("moe-fp8")), { resources: [], outputs: {} } as any);
        const lines = Object.fromEntries(s.lines);
        assert.match(lines.image, /EFA build .*EFA installer 1\.49\.0.*built by this deployment/);
        assert.match(lines["fabric gate"], /across the run's 9 GPU nodes over EFA .*≥ 287\.6 GB\/s .*awsome-distributed-training.*submitted to the Kueue queue ahead of the RayJob \(pulumi up does not wait for it/);
    });
});

describe("fabric gate: whole-stack plan (prod)", () => {
    it("plan --out holds the gate Job, queued in Kueue and not awaited (issue 22); the stack outputs that it is queued and how to follow it", async () => {
        const p = await planStack("prod");
        const job = one(p, "kubernetes:batch/v1:Job", "training-fabric-job").inputs as any;
        assert.equal(job.spec.completions, 4);
        assert.equal(job.spec.template.spec.containers[0].resources.limits["vpc.amazonaws.com/efa"], "16");
        assert.equal(job.metadata.labels["kueue.x-k8s.io/queue-name"], "miles");
        assert.equal(job.spec.suspend, true);
        assert.equal(job.metadata.annotations["pulumi.com/skipAwait"], "true");
        assert.equal(job.metadata.annotations["pulumi.com/replaceUnready"], undefined, "a queued gate would be re-created (and re-queued) on every pulumi up");
        const rayjob = one(p, "kubernetes:ray.io/v1:RayJob", "training-rayjob").inputs as any;
        assert.equal(rayjob.metadata.annotations["miles-cluster.io/fabric-gate"], "queued");
        assert.equal((p.outputs.fabricGate as any).status, "queued");
        assert.ok(((p.outputs.fabricGate as any).follow as string[]).some((c) => / get job \S+-fabric -o jsonpath/.test(c)), JSON.stringify((p.outputs.fabricGate as any).follow));
        assert.equal((p.outputs.fabricGate as any).thresholdGBps, 287.6);
        const ecr = one(p, "aws:ecr/repository:Repository").inputs as any;
        assert.deepEqual([ecr.name, ecr.imageTagMutability, ecr.imageScanningConfiguration.scanOnPush, ecr.encryptionConfigurations[0].encryptionType], ["miles-cluster/prod/miles-efa", "IMMUTABLE", true, "KMS"]);
        // The gate's Role (the run lifecycle has its own, test/runLifecycle.test.ts).
        // (and each run has one for its Ray dashboards ConfigMap, test/rayDashboards.test.ts; the runs' node watchers
        // one, test/runLifecycle.test.ts).
        assert.equal(ofType(p, "kubernetes:rbac.authorization.k8s.io/v1:Role").filter((r) => !r.name.includes("-lifecycle-") && !r.name.endsWith("-ray-dashboards") && !r.name.includes("-node-watch-")).length, 1);
    });
});

describe("fabric: image choice and warnings", () => {
    it("the plain miles image on several EFA nodes plans with the socket-fallback warning and the fix", () => {
        const r = runOf(cfgOf(P5_TWO({ image: { source: "miles" } })));
        assert.equal(pullableImage(r.imageChoice, undefined), "radixark/miles:v0.1.0");
        const w = fabricWarnings(r);
        assert.equal(w.length, 1);
        assert.match(w[0], /NCCL will fall back to TCP sockets .*training\.image\.source: efa-build/);
    });
    it("a multi-node run on EKS with EFA defaults to the EFA build (one node: the plain image), by digest once set; a named image by digest", () => {
        assert.equal(runOf(cfgOf(P5_TWO())).imageChoice.source, "efa-build");
        // One node talks over NVLink: the plain image, usable before any CI build.
        assert.equal(runOf(cfgOf(P5_TWO({ layout: { actorNodes: 1 } }))).imageChoice.source, "miles");
        const d = "sha256:" + "a".repeat(64);
        // The EFA build: the plan shows the repository name; a pod pulls only the reference in the ECR repository (never the bare name, which is Docker Hub's).
        const efa = runOf(cfgOf(P5_TWO({ image: { digest: d } })));
        assert.equal(efa.imageName, `miles-cluster/t/miles-efa@${d}`);
        assert.throws(() => pullableImage(efa.imageChoice, undefined), /known only at deploy/);
        const url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/miles-cluster/t/miles-efa";
        assert.equal(ecrImageReference(efa.imageChoice, url), `${url}@${d}`);
        assert.equal(runOf(cfgOf(P5_TWO({ image: { source: "named", repository: "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine", digest: d } }))).imageName, `123456789012.dkr.ecr.us-east-1.amazonaws.com/mine@${d}`);
        assert.equal(runOf(stackCfg("byo")).imageChoice.source, "miles");
    });
    it("bring your own: several nodes without EFA or RDMA warn of TCP; with an RDMA resource the workers request it and NCCL is pinned to IB", () => {
        const byo = runOf(stackCfg("byo"));
        assert.match(fabricWarnings(byo).join("\n"), /NCCL will use TCP sockets between nodes/);
        const cfg = stackCfg("byo");
        (cfg.cluster.existing!.gpuNodes as any).rdma = { resourceName: "rdma/ib", perNode: 8, hca: "mlx5" };
        const r = runOf(cfg);
        assert.deepEqual(fabricWarnings(r), []);
        const m = gateManifests(r, fabricGatePlan(r), ctx) as any;
        const c = m.job.spec.template.spec.containers[0];
        assert.equal(c.resources.requests["rdma/ib"], "8");
        const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
        assert.deepEqual([env.NCCL_NET, env.NCCL_IB_HCA], ["IB", "mlx5"]);
    });
});

describe("NCCL pinned to aws-ofi-nccl in the EFA build (issue 22: no silent TCP fallback)", () => {
    const envOf = (c: any) => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value]));
    it("the EFA build's workers and its gate get NCCL_NET=Libfabric (aws-ofi-nccl 1.20.0's name); the head, the plain and a named image do not", () => {
        const r = runOf(cfgOf(P5_TWO()));
        assert.equal(r.imageChoice.source, "efa-build");
        const gate = envOf((gateManifests(r, fabricGatePlan(r), ctx) as any).job.spec.template.spec.containers[0]);
        assert.equal(gate.NCCL_NET, "Libfabric");
        const env = r.command.env;
        assert.deepEqual(env.filter((e) => e.name === "NCCL_NET").map((e) => [e.value, e.workersOnly]), [["Libfabric", true]]);
        // Negative controls: an image that may lack the plugin must keep NCCL's own choice (pinning would fail every init).
        for (const image of [{ source: "miles" }, { source: "named", repository: "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine" }]) {
            const other = runOf(cfgOf(P5_TWO({ image })));
            assert.equal(other.command.env.find((e) => e.name === "NCCL_NET"), undefined, JSON.stringify(image));
        }
    });
    it("the pinned name is the one aws-ofi-nccl announced on a captured p5en EFA run (NCCL matches it case-insensitively); the old plugin's name is not", () => {
        const pin = runOf(cfgOf(P5_TWO())).command.env.find((e) => e.name === "NCCL_NET")!.value;
        const announced = (file: string) => parseNcclLog(fs.readFileSync(path.join(ROOT, "test", "fixtures", "fabric", file), "utf8")).evidence.filter((e) => e.strength === "explicit").map((e) => /Using network (.+?)\s*$/.exec(e.line)?.[1]).filter((x): x is string => !!x);
        // NVIDIA/nccl#1597 (p5en, 16 EFA NICs, aws-ofi-nccl 1.1x) and awsome-distributed-ai (p4d, an older plugin: "AWS Libfabric").
        const p5en = announced("p5en-ofi-selected.txt");
        assert.ok(p5en.length > 0 && p5en.every((n) => n.toLowerCase() === pin.toLowerCase()), `${pin} vs ${p5en.join(", ")}`);
        const p4d = announced("p4d-aws-libfabric.txt");
        assert.ok(p4d.length > 0 && p4d.every((n) => n.toLowerCase() !== pin.toLowerCase()), "the pre-1.1x name would not match: the pin belongs to the installer version the image builds");
    });
});

describe("images/miles-efa", () => {
    const dockerfile = fs.readFileSync(path.join(ROOT, "images", "miles-efa", "Dockerfile"), "utf8");
    it("pins its base image and the EFA installer version and checksum the catalog declares", () => {
        assert.match(dockerfile, /^ARG MILES_IMAGE=radixark\/miles:v0\.1\.0$/m);
        assert.match(dockerfile, /^FROM \$\{MILES_IMAGE\}/m);
        assert.ok(dockerfile.includes(`ARG EFA_INSTALLER_VERSION=${EFA_INSTALLER.version}`));
        assert.ok(dockerfile.includes(`ARG EFA_INSTALLER_SHA256=${EFA_INSTALLER.sha256}`));
        assert.match(dockerfile, /sha256sum (-c|--check)/);
        assert.match(dockerfile, /--skip-kmod --skip-limit-conf --no-verify/);
        assert.match(dockerfile, /MPI=1/);
    });
});

/** GpuCluster: config rules (each rejection by path) and the pure pieces (EFA layout, subnets, user data). */
import { strict as assert } from "node:assert";
import { parse as parseYaml } from "yaml";
import { parseConfig } from "../validation";
import { rawConfig } from "./harness";
import { efaInterfaceSlots, efaNetworkInterfaces } from "../catalog/efaLayout";
import { gpuNodeGroupsFromConfig } from "../domain/gpuNodes";
import { GPU_TAINT } from "../catalog/nodeLabels";
import { subnetLayout } from "../domain/cluster";
import { gpuUserDataBase64 } from "../components/userData";
import { scalingOf, eksTaintEffect, capacityTypeOf } from "../domain/cluster";
import { kubeconfigJson } from "../components/eksControlPlane";

const CB = "cr-0123456789abcdef0";
const base = (cluster: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ "aws:region": "us-east-1", "miles-cluster:cluster": { availabilityZone: "us-east-1a", ...cluster }, ...extra });
const group = (g: Record<string, unknown> = {}) => ({ name: "h100", instanceType: "p5.48xlarge", nodes: 2, ...g });
const parse = (values: Record<string, unknown>, secretKeys: string[] = []) => parseConfig(rawConfig(values, secretKeys), { stack: "t" });
const problemsAt = (values: Record<string, unknown>, secretKeys: string[] = []) => parse(values, secretKeys).problems;
/** Asserts the config is rejected with exactly one problem, at `path`, whose message matches `re`. */
function rejects(values: Record<string, unknown>, path: string, re?: RegExp) {
    const ps = problemsAt(values);
    assert.deepEqual(
        ps.map((p) => p.path),
        [path],
        `problems: ${JSON.stringify(ps)}`,
    );
    if (re) assert.match(ps[0].message, re);
}

describe("cluster config", () => {
    it("fills defaults: created /16 VPC, private API endpoint, 2 system nodes, no explicit placement group", () => {
        const r = parse(base({ gpuNodeGroups: [group()] }));
        assert.deepEqual(r.problems, []);
        const c = r.config!.cluster;
        assert.deepEqual(c.network, { type: "create", vpcCidr: "10.0.0.0/16", flowLogs: { enabled: true, retentionDays: 90, trafficType: "ALL" } });
        assert.deepEqual(c.endpoint, { publicAccessCidrs: [] });
        assert.deepEqual(c.systemNodeGroup, { instanceType: "m7i.xlarge", nodes: 2, rootVolumeGiB: 100 });
        assert.equal(c.gpuNodeGroups[0].placementGroup, undefined);
        assert.equal(c.gpuNodeGroups[0].rootVolumeGiB, 200);
        assert.equal(c.existing, undefined);
    });

    describe("rejections, each at its path", () => {
        it("unknown instance type", () => rejects(base({ gpuNodeGroups: [group({ instanceType: "p4d.24xlarge" })] }), "cluster.gpuNodeGroups[0].instanceType", /p4d\.24xlarge/));
        it("a region outside the commercial partition (policy ARNs are arn:aws)", () =>
            rejects({ "aws:region": "cn-north-1", "miles-cluster:cluster": { availabilityZone: "cn-north-1a", gpuNodeGroups: [group()] } }, "aws:region", /commercial AWS partition/));
        it("availability zone not in the region", () => rejects(base({ availabilityZone: "eu-west-1a", gpuNodeGroups: [group()] }), "cluster.availabilityZone", /not an availability zone of region us-east-1/));
        it("Capacity Block with a malformed reservation id", () =>
            rejects(base({ gpuNodeGroups: [group({ capacity: { type: "capacity-block", reservationId: "cr-xyz" } })] }), "cluster.gpuNodeGroups[0].capacity.reservationId", /cr- followed by 8 or 17 hex/));
        it("ODCR without a reservation id", () => rejects(base({ gpuNodeGroups: [group({ capacity: { type: "capacity-reservation" } })] }), "cluster.gpuNodeGroups[0].capacity.reservationId"));
        it("spot with a reservation id (a Capacity Block cannot be spot)", () =>
            rejects(base({ gpuNodeGroups: [group({ capacity: { type: "spot", reservationId: CB } })] }), "cluster.gpuNodeGroups[0].capacity.reservationId", /unknown key|is not used with type "spot"/));
        it("Capacity Block with a placement group (new or named)", () => {
            rejects(base({ gpuNodeGroups: [group({ capacity: { type: "capacity-block", reservationId: CB }, placementGroup: true })] }), "cluster.gpuNodeGroups[0].placementGroup", /Capacity Block \(cr-0123456789abcdef0\) cannot use a placement group/);
            rejects(base({ gpuNodeGroups: [group({ capacity: { type: "capacity-block", reservationId: CB }, placementGroup: { name: "pg" } })] }), "cluster.gpuNodeGroups[0].placementGroup");
        });
        it("ODCR with a new placement group (only a named one, where the reservation lives, is allowed)", () => {
            rejects(base({ gpuNodeGroups: [group({ capacity: { type: "capacity-reservation", reservationId: CB }, placementGroup: true })] }), "cluster.gpuNodeGroups[0].placementGroup", /\{ name: "<group>" \}/);
            assert.deepEqual(problemsAt(base({ gpuNodeGroups: [group({ capacity: { type: "capacity-reservation", reservationId: CB }, placementGroup: { name: "odcr-pg" } })] })), []);
        });
        it("more than 64 nodes on a Capacity Block; 64 is fine", () => {
            rejects(base({ gpuNodeGroups: [group({ nodes: 65, capacity: { type: "capacity-block", reservationId: CB } })] }), "cluster.gpuNodeGroups[0].nodes", /65 nodes .* at most 64 instances/);
            assert.deepEqual(problemsAt(base({ gpuNodeGroups: [group({ nodes: 64, capacity: { type: "capacity-block", reservationId: CB } })] })), []);
        });
        it("node counts out of range", () => {
            rejects(base({ gpuNodeGroups: [group({ nodes: -1 })] }), "cluster.gpuNodeGroups[0].nodes");
            rejects(base({ gpuNodeGroups: [group({ nodes: 513 })] }), "cluster.gpuNodeGroups[0].nodes");
            rejects(base({ gpuNodeGroups: [group({ nodes: 1.5 })] }), "cluster.gpuNodeGroups[0].nodes");
            rejects(base({ gpuNodeGroups: [group()], systemNodeGroup: { nodes: 0 } }), "cluster.systemNodeGroup.nodes");
        });
        it("duplicate group names, and the reserved name system", () => {
            rejects(base({ gpuNodeGroups: [group(), group({ instanceType: "p5en.48xlarge" })] }), "cluster.gpuNodeGroups[1].name", /already the name of gpuNodeGroups\[0\]/);
            rejects(base({ gpuNodeGroups: [group({ name: "system" })] }), "cluster.gpuNodeGroups[0].name", /system node group/);
        });
        it("region, availability zone and a GPU group are required unless existing", () => {
            rejects({ "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [group()] }, "miles-cluster:storage": { type: "existing-claim", claimName: "c" } }, "aws:region");
            rejects({ "aws:region": "us-east-1", "miles-cluster:cluster": { gpuNodeGroups: [group()] } }, "cluster.availabilityZone", /required/);
            // (training adds its own problem for a stack without GPU groups; only ours is checked here)
            const p = problemsAt(base({})).find((x) => x.path === "cluster.gpuNodeGroups");
            assert.match(p?.message ?? "", /at least one GPU node group/);
        });
        it("network: VPC CIDR size, extra zones, existing subnets", () => {
            rejects(base({ gpuNodeGroups: [group()], network: { type: "create", vpcCidr: "10.0.0.0/24" } }), "cluster.network.vpcCidr", /\/16 to \/20/);
            rejects(base({ gpuNodeGroups: [group()], network: { type: "create", availabilityZones: ["us-west-2b"] } }), "cluster.network.availabilityZones[0]", /region us-east-1/);
            rejects(base({ gpuNodeGroups: [group()], network: { type: "create", availabilityZones: ["us-east-1a"] } }), "cluster.network.availabilityZones[0]", /already the GPU/);
            const existing = { type: "existing", vpcId: "vpc-0123456789abcdef0", privateSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"] };
            rejects(base({ gpuNodeGroups: [group()], network: { ...existing, gpuSubnetId: "subnet-0123456789abcdef2" } }), "cluster.network.gpuSubnetId", /not one of privateSubnetIds/);
            rejects(base({ gpuNodeGroups: [group()], network: { ...existing, privateSubnetIds: ["subnet-0123456789abcdef0"], gpuSubnetId: "subnet-0123456789abcdef0" } }), "cluster.network.privateSubnetIds", /at least 2/);
            assert.deepEqual(problemsAt(base({ gpuNodeGroups: [group()], network: { ...existing, gpuSubnetId: "subnet-0123456789abcdef1" } })), []);
        });
        it("endpoint CIDRs must be CIDRs", () => rejects(base({ gpuNodeGroups: [group()], endpoint: { publicAccessCidrs: ["203.0.113.7"] } }), "cluster.endpoint.publicAccessCidrs[0]", /not an IPv4 CIDR/));
    });

    describe("bring your own cluster", () => {
        const byo = (existing: Record<string, unknown>, cluster: Record<string, unknown> = {}) => ({
            "miles-cluster:cluster": { existing, ...cluster },
            "miles-cluster:storage": { type: "existing-claim", claimName: "shared" },
            // Nodes of unknown instance type: the training section needs the worker pod size.
            "miles-cluster:training": { resources: { workerCpu: 100, workerMemoryGiB: 900 } },
        });

        it("needs no region and no zone; GPU nodes default to the GPU-operator label, the GPU taint, 8 GPUs and no EFA", () => {
            const r = parse(byo({ context: "lambda" }));
            assert.deepEqual(r.problems, []);
            const [g] = gpuNodeGroupsFromConfig(r.config!);
            assert.deepEqual(g.selector, { "nvidia.com/gpu.present": "true" });
            assert.deepEqual(g.taints, [{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }]);
            assert.equal(g.gpusPerNode, 8);
            assert.equal(g.efaPerNode, 0);
            assert.equal(g.instanceType, undefined);
            assert.equal(g.amiFamily, undefined);
        });

        it("takes the user's selector, no taint (null), GPUs, EFA and node count", () => {
            const r = parse(byo({ gpuNodes: { name: "h200", selector: { pool: "h200" }, taint: null, gpusPerNode: 8, efaPerNode: 16, nodes: 4 } }));
            assert.deepEqual(r.problems, []);
            const [g] = gpuNodeGroupsFromConfig(r.config!);
            assert.deepEqual({ name: g.name, selector: g.selector, taints: g.taints, efa: g.efaPerNode, nodes: g.nodes }, { name: "h200", selector: { pool: "h200" }, taints: [], efa: 16, nodes: 4 });
        });

        it("rejects GPU node groups, a zone, and an empty selector with existing", () => {
            const ps = problemsAt(byo({ context: "x" }, { gpuNodeGroups: [group()], availabilityZone: "us-east-1a" }))
                .map((p) => p.path)
                .sort();
            assert.deepEqual(ps, ["cluster.availabilityZone", "cluster.gpuNodeGroups"]);
            rejects(byo({ gpuNodes: { selector: {} } }), "cluster.existing.gpuNodes.selector", /at least one label/);
        });

        it("kubeconfig must be a Pulumi secret", () => {
            const values = byo({ kubeconfig: "apiVersion: v1\nkind: Config" });
            assert.deepEqual(
                problemsAt(values).map((p) => p.path),
                ["cluster.existing.kubeconfig"],
            );
            assert.deepEqual(problemsAt(values, ["miles-cluster:cluster"]), []);
        });
    });
});

describe("EFA interface layout", () => {
    for (const [type, cards] of [["p5.48xlarge", 32], ["p5e.48xlarge", 32], ["p5en.48xlarge", 16]] as const) {
        it(`${type}: ${cards} interfaces, one per network card; efa primary on card 0 device 0, efa-only at device 1 elsewhere`, () => {
            const slots = efaInterfaceSlots(type);
            assert.equal(slots.length, cards);
            assert.deepEqual(
                slots.map((s) => s.networkCardIndex),
                Array.from({ length: cards }, (_, i) => i),
            );
            assert.deepEqual(slots[0], { networkCardIndex: 0, deviceIndex: 0, interfaceType: "efa", deleteOnTermination: "true" });
            for (const s of slots.slice(1)) assert.deepEqual([s.deviceIndex, s.interfaceType], [1, "efa-only"]);
        });
    }
    it("puts every security group on every interface", () => {
        const nics = efaNetworkInterfaces("p5en.48xlarge", ["sg-eks", "sg-node", "sg-efa"]);
        assert.equal(nics.length, 16);
        for (const n of nics) assert.deepEqual(n.securityGroups, ["sg-eks", "sg-node", "sg-efa"]);
    });
});

describe("cluster building blocks", () => {
    it("subnet layout: private quarters and small public subnets, GPU zone first", () => {
        assert.deepEqual(subnetLayout("10.0.0.0/16", ["us-east-1a", "us-east-1b"]), [
            { availabilityZone: "us-east-1a", privateCidr: "10.0.0.0/18", publicCidr: "10.0.192.0/22" },
            { availabilityZone: "us-east-1b", privateCidr: "10.0.64.0/18", publicCidr: "10.0.196.0/22" },
        ]);
        assert.deepEqual(
            subnetLayout("172.16.16.0/20", ["a", "b", "c"]).map((z) => [z.privateCidr, z.publicCidr]),
            [
                ["172.16.16.0/22", "172.16.28.0/26"],
                ["172.16.20.0/22", "172.16.28.64/26"],
                ["172.16.24.0/22", "172.16.28.128/26"],
            ],
        );
    });

    it("AL2023 user data: MIME multi-part with a nodeadm NodeConfig asking for RAID0", () => {
        const text = Buffer.from(gpuUserDataBase64("al2023"), "base64").toString("utf8");
        const boundary = /boundary="([^"]+)"/.exec(text)![1];
        assert.match(text, /^MIME-Version: 1\.0\nContent-Type: multipart\/mixed; boundary="/);
        const parts = text.split(`--${boundary}`).slice(1, -1);
        assert.equal(parts.length, 1);
        const part = parts[0].replace(/^\n/, "");
        const cut = part.indexOf("\n\n");
        const [headers, body] = [part.slice(0, cut), part.slice(cut + 2)];
        assert.equal(headers, "Content-Type: application/node.eks.aws");
        const nodeConfig = parseYaml(body);
        assert.equal(nodeConfig.kind, "NodeConfig");
        assert.equal(nodeConfig.apiVersion, "node.eks.aws/v1alpha1");
        assert.equal(nodeConfig.spec.instance.localStorage.strategy, "RAID0");
        assert.ok(text.trimEnd().endsWith(`--${boundary}--`));
    });

    it("Bottlerocket user data: TOML bootstrap command for the RAID0 ephemeral storage, no nodeadm", () => {
        const text = Buffer.from(gpuUserDataBase64("bottlerocket"), "base64").toString("utf8");
        assert.doesNotMatch(text, /NodeConfig|MIME/);
        assert.match(text, /^\[settings\.bootstrap-commands\.[\w-]+\]$/m);
        assert.match(text, /\["apiclient", "ephemeral-storage", "init"\]/);
        assert.match(text, /\["apiclient", "ephemeral-storage", "bind", "--dirs", "\/var\/lib\/containerd", "\/var\/lib\/kubelet"/);
        assert.match(text, /^essential = true$/m);
    });

    it("scaling is min = desired = max, with max 1 for an empty group", () => {
        assert.deepEqual(scalingOf(4), { minSize: 4, desiredSize: 4, maxSize: 4 });
        assert.deepEqual(scalingOf(0), { minSize: 0, desiredSize: 0, maxSize: 1 });
    });

    it("EKS spellings of taint effects and capacity types", () => {
        assert.equal(eksTaintEffect(GPU_TAINT.effect), "NO_SCHEDULE");
        assert.equal(eksTaintEffect("NoExecute"), "NO_EXECUTE");
        assert.deepEqual(
            [{ type: "on-demand" }, { type: "spot" }, { type: "capacity-reservation", reservationId: CB }, { type: "capacity-block", reservationId: CB }].map((c) => capacityTypeOf(c as never)),
            ["ON_DEMAND", "SPOT", "ON_DEMAND", "CAPACITY_BLOCK"],
        );
    });

    it("kubeconfig authenticates with aws eks get-token for the cluster and region, and holds no credential", () => {
        const kc = JSON.parse(kubeconfigJson({ clusterName: "miles-dev", endpoint: "https://x.eks.amazonaws.com", certificateAuthorityData: "Q0E=", region: "us-east-1" }));
        assert.equal(kc["current-context"], "miles-dev");
        assert.equal(kc.clusters[0].cluster.server, "https://x.eks.amazonaws.com");
        const exec = kc.users[0].user.exec;
        assert.equal(exec.command, "aws");
        assert.deepEqual(exec.args.slice(0, 6), ["eks", "get-token", "--cluster-name", "miles-dev", "--region", "us-east-1"]);
        assert.equal(kc.users[0].user.token, undefined);
    });
});

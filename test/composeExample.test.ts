/**
 * examples/compose: a Pulumi program of its own built from the package's exports, planned under the
 * mock runtime like a stack (plan/evaluate.ts). It reads no miles-cluster config at all.
 */
import { strict as assert } from "node:assert";
import { evaluate, REDACTED, type Evaluation } from "../plan/evaluate";
import { FSX_STARTUP_TAINT } from "../lib";
import compose = require("../examples/compose/index");

describe("examples/compose: a team's own program composing GpuCluster, ClusterAddons and CheckpointStorage", () => {
    let ev: Evaluation;
    before(async () => {
        ev = await evaluate({ project: "miles-compose-example", stack: "dev", config: { values: {}, secretKeys: [] }, run: compose });
    });
    const one = (type: string, name: string) => {
        const rs = ev.resources.filter((r) => r.type === type && r.name === name);
        assert.equal(rs.length, 1, `${type} ${name}: ${rs.length}`);
        return rs[0].inputs as Record<string, any>;
    };
    const count = (type: string) => ev.resources.filter((r) => r.type === type).length;

    it("creates the EKS cluster of its own args: its name, VPC, zones and an H200 Capacity Block group", () => {
        assert.equal(one("aws:eks/cluster:Cluster", "rl-eks").name, "vision-rl-dev");
        assert.equal(one("aws:ec2/vpc:Vpc", "rl-network-vpc").cidrBlock, "10.40.0.0/16");
        assert.deepEqual(ev.resources.filter((r) => r.type === "aws:ec2/subnet:Subnet" && r.name.startsWith("rl-network-private-")).map((r) => r.inputs.availabilityZone), ["us-east-2b", "us-east-2c"]);
        const ng = one("aws:eks/nodeGroup:NodeGroup", "rl-gpu-h200-ng");
        assert.equal(ng.capacityType, "CAPACITY_BLOCK");
        assert.equal(one("aws:ec2/launchTemplate:LaunchTemplate", "rl-gpu-h200-lt").instanceType, "p5en.48xlarge");
        assert.ok((ng.taints as { key: string }[]).some((t) => t.key === FSX_STARTUP_TAINT.key), "FSx storage: the startup taint (GpuCluster's default) is on");
    });
    it("applies its two transforms: cost tags on the GPU node group, 90-day control plane logs", () => {
        const tags = one("aws:eks/nodeGroup:NodeGroup", "rl-gpu-h200-ng").tags;
        assert.deepEqual([tags.team, tags["cost-center"], tags["miles-cluster/stack"]], ["vision-rl", "ml-4711", "dev"]);
        assert.equal(one("aws:cloudwatch/logGroup:LogGroup", "rl-eks-logs").retentionInDays, 90);
    });
    it("creates FSx for Lustre 2400 GiB at 500 MB/s/TiB linked to its named bucket by one association, in its namespace", () => {
        const fs = one("aws:fsx/lustreFileSystem:LustreFileSystem", "rl-storage-fsx");
        assert.deepEqual([fs.storageCapacity, fs.perUnitStorageThroughput], [2400, 500]);
        assert.equal(one("aws:s3/bucket:Bucket", "rl-storage-bucket").bucket, "acme-vision-rl-checkpoints");
        assert.equal(count("aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation"), 1);
        assert.equal(one("kubernetes:core/v1:PersistentVolumeClaim", "rl-storage-volume-pvc").metadata.namespace, "vision-rl");
    });
    it("installs the device plugins and KubeRay but no monitoring stack, DCGM exporter, Kueue or training run", () => {
        const releases = ev.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => r.inputs.name);
        assert.deepEqual(releases.sort(), ["aws-efa-k8s-device-plugin", "kuberay-operator", "nvidia-device-plugin"]);
        assert.equal(count("kubernetes:ray.io/v1:RayJob"), 0);
    });
    it("returns its typed outputs, the kubeconfig as a secret", () => {
        assert.equal(ev.outputs.kubeconfig, REDACTED);
        assert.deepEqual([ev.outputs.claimName, ev.outputs.namespace, ev.outputs.clusterName, ev.outputs.checkpointBucket], ["miles-shared", "vision-rl", "vision-rl-dev", "acme-vision-rl-checkpoints"]);
    });
});

/**
 * examples/compose: a Pulumi program of its own built from the package's exports, planned under the
 * mock runtime like a stack (plan/evaluate.ts). It reads no miles-cluster config at all.
 */
import { strict as assert } from "node:assert";
import { evaluate, REDACTED, type Evaluation } from "../plan/evaluate";
import * as k8s from "@pulumi/kubernetes";
import { ClusterSchema, FSX_STARTUP_TAINT, MilesTrainingJob, TrainingSchema } from "../lib";
import { isConfigError, type MilesConfig } from "../config";
import { gpuNodeGroupsFromConfig } from "../domain/gpuNodes";
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
    it("installs the device plugins and KubeRay but no monitoring stack, DCGM exporter or Kueue", () => {
        const releases = ev.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => r.inputs.name);
        assert.deepEqual(releases.sort(), ["aws-efa-k8s-device-plugin", "kuberay-operator", "nvidia-device-plugin"]);
    });
    it("adds one run: its RayJob in the team's namespace", () => {
        const job = one("kubernetes:ray.io/v1:RayJob", "rl-run-rayjob");
        assert.equal(job.metadata.namespace, "vision-rl");
        assert.equal(job.metadata.name, "qwen3-8b-grpo");
        assert.equal(ev.resources.filter((r) => r.type === "kubernetes:ray.io/v1:RayJob").length, 1);
        assert.equal(ev.outputs.jobName, "qwen3-8b-grpo");
    });
    it("returns its typed outputs, the kubeconfig as a secret", () => {
        assert.equal(ev.outputs.kubeconfig, REDACTED);
        assert.deepEqual([ev.outputs.claimName, ev.outputs.namespace, ev.outputs.clusterName, ev.outputs.checkpointBucket], ["miles-shared", "vision-rl", "vision-rl-dev", "acme-vision-rl-checkpoints"]);
    });
});

describe("components validate their own args: a MilesTrainingJob composed with a layout plan rejects", () => {
    // A team's own program (no stack config, so no stack validation) with the handles it would pass.
    const composeRun = (parallelism: Record<string, unknown>) => async () => {
        const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
        const ns = new k8s.core.v1.Namespace("ns", { metadata: { name: "vision-rl" } }, { provider });
        new MilesTrainingJob("rl-run", {
            training: TrainingSchema.parse({ model: { preset: "qwen3-8B" }, parallelism }),
            stack: "dev",
            cluster: { provider, gpuNodeGroups: gpuNodeGroupsFromConfig({ cluster: ClusterSchema.parse({ availabilityZone: "us-east-2b", gpuNodeGroups: [{ name: "h200", instanceType: "p5en.48xlarge", nodes: 1 }] }) } as MilesConfig) },
            namespace: { name: "vision-rl", resource: ns },
            storage: { claimName: "miles-shared", ready: [] },
            addons: { serviceAccountName: "miles-training", ready: [] },
        });
        return {};
    };
    const run = (parallelism: Record<string, unknown>) => evaluate({ project: "team", stack: "dev", config: { values: {}, secretKeys: [] }, run: composeRun(parallelism) });

    it("TP 3 on 8 GPUs fails with the field path and reason plan reports, before any object is built", async () => {
        await assert.rejects(run({ tp: 3 }), (e: Error) => {
            assert.ok(isConfigError(e), `a ConfigError (field paths), not ${e.name}: ${e.message}`);
            assert.ok(e.problems.some((p) => p.path.startsWith("training.parallelism") && /not divisible/.test(p.message)), JSON.stringify(e.problems));
            return true;
        });
    });
    it("negative control: TP 2 builds the run", async () => {
        const ev = await run({ tp: 2 });
        assert.equal(ev.resources.filter((r) => r.type === "kubernetes:ray.io/v1:RayJob").length, 1);
    });
});

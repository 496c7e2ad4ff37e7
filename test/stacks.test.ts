import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { ROOT, planStack, one, ofType, rayJobCommand } from "./harness";
import type { Plan } from "../plan/run";
import { missingProjectKeys, readStackFile } from "../plan/stackFile";

const STACKS = fs
    .readdirSync(path.join(ROOT, "stacks"))
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined);

/** The command line the RayJob runs on the head (its entrypoint script's, test/harness.ts rayJobCommand). */
const entrypoint = (p: Plan) => rayJobCommand(p, one(p, "kubernetes:ray.io/v1:RayJob"));

/** Leaves of a parsed YAML document with their dotted paths. */
function leaves(v: unknown, at = ""): Array<[string, unknown]> {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        if (Object.keys(v).length === 1 && "secure" in (v as object)) return [[at, v]];
        return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => leaves(x, at ? `${at}.${k}` : k));
    }
    return [[at, v]];
}

describe("example stacks", function () {
    this.timeout(60000);
    const plans = new Map<string, Plan>();
    before(async () => {
        for (const s of STACKS) plans.set(s, await planStack(s));
    });

    it("are the environments the README promises", () => {
        for (const s of ["dev", "prod", "byo", "moe-fp8", "spec-mtp"]) assert.ok(STACKS.includes(s), `stacks/Pulumi.${s}.yaml missing`);
    });

    it("every stack plans with no problem", () => {
        for (const [s, p] of plans) assert.deepEqual(p.problems, [], `${s}: ${p.problems.map((x) => `${x.path}: ${x.message}`).join("; ")}`);
    });

    it("every stack sets every key Pulumi.yaml declares (Pulumi refuses to run a stack that does not)", () => {
        for (const s of STACKS) {
            const file = path.join(ROOT, "stacks", `Pulumi.${s}.yaml`);
            assert.deepEqual(missingProjectKeys(file, readStackFile(file, "miles-cluster")), [], s);
        }
    });

    it("no stack file holds a secret in plaintext", () => {
        for (const s of STACKS) {
            const doc = parse(fs.readFileSync(path.join(ROOT, "stacks", `Pulumi.${s}.yaml`), "utf8"));
            for (const [key, value] of leaves(doc)) {
                if (/(apikey|token|kubeconfig|password|secret)$/i.test(key)) assert.ok(typeof value === "object" && value !== null && "secure" in value, `${s}: ${key} is plaintext`);
            }
        }
    });

    it("dev: one on-demand p5.48xlarge scaled from zero, FSx 1200 GiB, Qwen3-4B GRPO colocated on its 8 GPUs", () => {
        const p = plans.get("dev")!;
        const ng = one(p, "aws:eks/nodeGroup:NodeGroup", "cluster-gpu-h100-ng").inputs as any;
        // No idle paid GPU: the Cluster Autoscaler starts the node for the pending run (0..1).
        assert.deepEqual([ng.scalingConfig, ng.capacityType], [{ minSize: 0, desiredSize: 0, maxSize: 1 }, "ON_DEMAND"]);
        const tags = Object.fromEntries(ofType(p, "aws:autoscaling/tag:Tag").map((t) => [(t.inputs as any).tag.key, (t.inputs as any).tag.value]));
        assert.equal(tags["k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"], "8");
        assert.equal(tags["k8s.io/cluster-autoscaler/node-template/resources/vpc.amazonaws.com/efa"], "32");
        assert.equal(tags["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"], "true:NoSchedule");
        assert.equal(tags["miles-cluster/autoscale"], "true");
        assert.match(Object.fromEntries(p.summary!.lines.cluster)["  h100 idle"], /^scales 0\.\.1 with the Cluster Autoscaler: idle \$0\/h/);
        assert.equal((one(p, "aws:fsx/lustreFileSystem:LustreFileSystem").inputs as any).storageCapacity, 1200);
        const ep = entrypoint(p);
        assert.match(ep, /--actor-num-nodes 1 --actor-num-gpus-per-node 8 .*--colocate/);
        assert.match(ep, /--advantage-estimator grpo/);
        assert.match(ep, /--num-layers 36 --hidden-size 2560/); // qwen3-4B's architecture
    });

    it("prod: H200 on a Capacity Block, a MoE disaggregated with FP8, R3 and TIS, FSx at the planner's suggestion", () => {
        const p = plans.get("prod")!;
        const ng = one(p, "aws:eks/nodeGroup:NodeGroup", "cluster-gpu-h200-ng").inputs as any;
        assert.equal(ng.capacityType, "CAPACITY_BLOCK");
        assert.equal(ng.instanceTypes, undefined);
        const ep = entrypoint(p);
        for (const f of ["--num-experts 128", "--rollout-num-gpus 16", "--fp8-format e4m3 --fp8-recipe blockwise", "--use-rollout-routing-replay", "--use-tis"]) assert.ok(ep.includes(f), `missing ${f}`);
        assert.doesNotMatch(ep, /--colocate/);
        const storage = p.summary!.storage as { sizing: { suggestion?: { capacityGiB: number; throughputPerTiB: number } } };
        const fs_ = one(p, "aws:fsx/lustreFileSystem:LustreFileSystem").inputs as any;
        const s = storage.sizing.suggestion;
        assert.ok(s, "the storage planner made no suggestion");
        assert.deepEqual([fs_.storageCapacity, fs_.perUnitStorageThroughput], [s.capacityGiB, s.throughputPerTiB]);
    });

    it("byo: no AWS resource at all, and the training run mounts the existing claim", () => {
        const p = plans.get("byo")!;
        assert.deepEqual(p.resources.filter((r) => r.type.startsWith("aws:") || r.type === "pulumi:providers:aws"), []);
        assert.equal(ofType(p, "kubernetes:core/v1:PersistentVolumeClaim").length, 0);
        const rayjob = JSON.stringify(one(p, "kubernetes:ray.io/v1:RayJob").inputs);
        assert.ok(rayjob.includes('"claimName":"shared-rwx"'));
    });
    it("every stack: hardened pods, Pod Security labels and the NetworkPolicies (issue 16)", () => {
        for (const [s, p] of plans) {
            const pods: Array<[string, any]> = [];
            for (const rj of ofType(p, "kubernetes:ray.io/v1:RayJob")) {
                const spec = rj.inputs.spec as any;
                pods.push(["head", spec.rayClusterSpec.headGroupSpec.template.spec], ["submitter", spec.submitterPodTemplate.spec]);
                for (const g of spec.rayClusterSpec.workerGroupSpecs) pods.push([`worker ${g.groupName}`, g.template.spec]);
            }
            for (const j of ofType(p, "kubernetes:batch/v1:Job")) pods.push([`job ${j.name}`, (j.inputs.spec as any).template.spec]);
            assert.ok(pods.length >= 3, s);
            for (const [what, pod] of pods) {
                const seccomp = pod.securityContext?.seccompProfile?.type;
                assert.equal(seccomp, "RuntimeDefault", `${s} ${what}`);
                assert.equal(pod.enableServiceLinks, false, `${s} ${what}`);
                assert.equal(typeof pod.automountServiceAccountToken, "boolean", `${s} ${what}: automountServiceAccountToken is explicit`);
                for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
                    assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${s} ${what}/${c.name}`);
                    assert.deepEqual(c.securityContext?.capabilities?.drop, ["ALL"], `${s} ${what}/${c.name}`);
                    for (const cap of c.securityContext?.capabilities?.add ?? []) {
                        assert.equal(cap, "IPC_LOCK", `${s} ${what}/${c.name}`);
                        assert.ok(Number(c.resources?.limits?.["vpc.amazonaws.com/efa"] ?? 0) > 0, `${s} ${what}/${c.name}: IPC_LOCK without EFA devices`);
                    }
                }
            }
            const namespaces = ofType(p, "kubernetes:core/v1:Namespace").map((n) => (n.inputs.metadata as any).labels);
            // A stack that creates no namespace (a run stack on another stack's cluster) labels none.
            if (namespaces.length === 0) continue;
            for (const l of namespaces) {
                assert.match(l["pod-security.kubernetes.io/enforce"], /^(restricted|baseline|privileged)$/, s);
                assert.equal(l["pod-security.kubernetes.io/warn"], "restricted", s);
                assert.equal(l["pod-security.kubernetes.io/audit"], "restricted", s);
            }
            const policies = ofType(p, "kubernetes:networking.k8s.io/v1:NetworkPolicy").map((n) => (n.inputs.metadata as any).name);
            for (const name of ["default-deny", "allow-egress"]) assert.ok(policies.includes(name), `${s}: ${name}`);
            assert.ok(policies.some((n: string) => n.endsWith("-ingress")), `${s}: the run's ingress policy`);
        }
    });
    it("every AWS stack: TLS-only bucket policy kept on destroy, flow logs, the default security group closed, IMDS hop limit 1, NetworkPolicy enforcement (issue 16)", () => {
        for (const [s, p] of plans) {
            if (!p.resources.some((r) => r.type === "aws:eks/cluster:Cluster")) continue;
            for (const lt of ofType(p, "aws:ec2/launchTemplate:LaunchTemplate")) assert.deepEqual((lt.inputs as any).metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 }, `${s} ${lt.name}`);
            const cni = ofType(p, "aws:eks/addon:Addon").find((a) => a.inputs.addonName === "vpc-cni")!;
            assert.equal(JSON.parse(String(cni.inputs.configurationValues)).enableNetworkPolicy, "true", s);
            const created = ofType(p, "aws:ec2/vpc:Vpc").length > 0;
            if (created) {
                const sg = one(p, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").inputs as any;
                assert.equal(sg.ingress, undefined, s);
                assert.equal(sg.egress, undefined, s);
                const fl = one(p, "aws:ec2/flowLog:FlowLog").inputs as any;
                assert.equal(fl.logDestinationType, "cloud-watch-logs", s);
                assert.ok(ofType(p, "aws:cloudwatch/logGroup:LogGroup").some((g) => String(g.inputs.name).endsWith("/flow-logs") && Number(g.inputs.retentionInDays) > 0), s);
            }
            if (ofType(p, "aws:s3/bucket:Bucket").length > 0) {
                const bp = ofType(p, "aws:s3/bucketPolicy:BucketPolicy");
                assert.equal(bp.length, 1, `${s}: the created bucket's TLS-only policy`);
            }
        }
        const prod = plans.get("prod")!;
        const eks = one(prod, "aws:eks/cluster:Cluster").inputs as any;
        assert.deepEqual([...eks.enabledClusterLogTypes].sort(), ["api", "audit", "authenticator", "controllerManager", "scheduler"]);
        assert.equal(ofType(prod, "aws:cloudwatch/logGroup:LogGroup").find((g) => String(g.inputs.name).endsWith("/cluster"))!.inputs.retentionInDays, 365);
    });
});

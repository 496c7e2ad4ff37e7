/**
 * The component API a platform team composes in its own Pulumi program (lib.ts): each component
 * applies the @default its TSDoc promises when an arg is left out, and every resource any component
 * creates goes through a `transform` hook that really changes what is registered. Three programs
 * under the mock runtime (plan/evaluate.ts), no stack config besides `aws:region`.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import * as pulumi from "@pulumi/pulumi";
import { evaluate, type Evaluation, type RecordedResource } from "../plan/evaluate";
import * as lib from "../lib";
import {
    CheckpointBucket,
    CheckpointStorage,
    ClusterAddons,
    ClusterAutoscaler,
    ClusterNetwork,
    ClusterSchema,
    DcgmExporter,
    EfsFileSystem,
    EksClusterAddons,
    EksControlPlane,
    EksNodeAddons,
    FsxLustre,
    FSX_STARTUP_TAINT,
    GpuCluster,
    GpuNodeGroup,
    GpuNodeGroupSchema,
    ImageRepository,
    EfaImageBuild,
    KubeRay,
    MilesTrainingJob,
    SharedVolume,
    StorageSchema,
    SystemNodeGroup,
    TrainingIdentity,
    TrainingNamespace,
    TrainingSchema,
    transform,
    type Transform,
} from "../lib";

const STACK = "composed";
/** A China region: the partition in ARNs shows whether a component read the region from `aws:region`. */
const REGION = "cn-north-1";

function run(program: () => void): Promise<Evaluation> {
    return evaluate({
        project: "composer",
        stack: STACK,
        config: { values: { "aws:region": REGION }, secretKeys: [] },
        run: async () => {
            program();
            return {};
        },
    });
}

function find(ev: Evaluation, type: string, name: string): RecordedResource {
    const r = ev.resources.find((x) => x.type === type && x.name === name);
    if (!r) throw new Error(`no ${type} named ${name}; have ${ev.resources.filter((x) => x.type === type).map((x) => x.name).join(", ")}`);
    return r;
}
const all = (ev: Evaluation, type: string) => ev.resources.filter((r) => r.type === type);
const inputs = (ev: Evaluation, type: string, name: string) => find(ev, type, name).inputs as Record<string, any>;

const gpuGroup = () => GpuNodeGroupSchema.parse({ name: "h100", instanceType: "p5.48xlarge", nodes: 1 });
/** A Capacity Block group with its window (under mocks the reservation lookup answers nothing, so the window stands in). */
const blockGroup = () =>
    GpuNodeGroupSchema.parse({ name: "blk", instanceType: "p5.48xlarge", nodes: 1, capacity: { type: "capacity-block", reservationId: "cr-0123456789abcdef0", window: { start: "2030-01-07T11:30:00Z", end: "2030-01-14T11:30:00Z" } } });

describe("transform(): the SST-style hook every component applies", () => {
    const opts = (): pulumi.CustomResourceOptions => ({ parent: undefined, protect: false });
    it("without a transform hands back the computed args untouched", () => {
        const args = { a: 1, tags: { x: "1" } };
        const [name, out] = transform(undefined as Transform<typeof args> | undefined, "r", args, opts());
        assert.equal(name, "r");
        assert.equal(out, args);
    });
    it("merges a partial args object shallowly: a key given replaces the whole value", () => {
        const [, out] = transform<{ a: number; tags: Record<string, string> }, pulumi.CustomResourceOptions>({ tags: { team: "rl" } }, "r", { a: 1, tags: { x: "1" } }, opts());
        assert.deepEqual(out, { a: 1, tags: { team: "rl" } });
    });
    it("calls a function with args, options and name; it may edit them in place or return new args; the name never changes", () => {
        const seen: string[] = [];
        const edit: Transform<{ a: number }> = (args, o, name) => {
            seen.push(name);
            args.a = 2;
            o.protect = true;
        };
        const [name, out, o] = transform(edit, "r", { a: 1 }, opts());
        assert.deepEqual([name, out, o.protect, seen], ["r", { a: 2 }, true, ["r"]]);
        const [, replaced] = transform<{ a: number }, pulumi.CustomResourceOptions>(() => ({ a: 3 }), "r", { a: 1 }, opts());
        assert.deepEqual(replaced, { a: 3 });
    });
    it("keeps the component as parent even if a function drops it", () => {
        const parent = new pulumi.ComponentResource("test:index:Parent", "p", {}, {});
        const [, , o] = transform<{ a: number }, pulumi.CustomResourceOptions>(
            (_a, opts) => {
                opts.parent = undefined;
            },
            "r",
            { a: 1 },
            { parent },
        );
        assert.equal(o.parent, parent);
    });
});

/** The composites and every leaf with only the args that have no default (built once, shared by the suites below). */
let defaultsRun: Promise<{ ev: Evaluation; existingBucketArn: Promise<string> }> | undefined;
function buildWithDefaults() {
    defaultsRun ??= (async () => {
        let existing: CheckpointBucket | undefined;
        const ev = await run(() => {
            // Composites, with only the args that have no default.
            const cluster = new GpuCluster("gc", { cluster: ClusterSchema.parse({ availabilityZone: `${REGION}a`, gpuNodeGroups: [gpuGroup()] }) });
            const namespace = new TrainingNamespace("ns", { provider: cluster.provider });
            const storage = new CheckpointStorage("st", { cluster, namespace });
            const addons = new ClusterAddons("ad", { cluster, namespace, storage });
            new MilesTrainingJob("tj", { training: TrainingSchema.parse({}), cluster, namespace, storage, addons });
            // Leaves, alone.
            const provider = cluster.provider;
            new ClusterNetwork("net", { region: REGION, gpuAvailabilityZone: `${REGION}a`, clusterName: "c" });
            new EksControlPlane("cp", { clusterName: "c", region: REGION, subnetIds: ["s-1", "s-2"], clusterSecurityGroupId: "sg-1" });
            new EksNodeAddons("na", { clusterName: "c" });
            new EksClusterAddons("ca", { clusterName: "c" });
            new SystemNodeGroup("sys", { clusterName: "c", nodeRoleArn: "arn:aws:iam::123456789012:role/n", subnetIds: ["s-1"], securityGroupIds: ["sg-1"] });
            new GpuNodeGroup("gpu", { group: gpuGroup(), clusterName: "c", nodeRoleArn: "arn:aws:iam::123456789012:role/n", subnetId: "s-1", securityGroupIds: ["sg-1"] });
            new FsxLustre("fsx", { vpcId: "vpc-1", subnetId: "s-1", clientSecurityGroupId: "sg-1", bucketName: "b" });
            new CheckpointBucket("bucket", {});
            existing = new CheckpointBucket("existing-bucket", { name: "acme-ckpt", existing: true });
            new EfsFileSystem("efs", { clusterName: "c", vpcId: "vpc-1", mountSubnetIds: ["s-1"], clientSecurityGroupId: "sg-1", rootPath: "/miles" });
            new SharedVolume("sv", { provider, namespace: "miles", volumeName: "v", capacity: "1Ti", csi: { driver: "efs.csi.aws.com", volumeHandle: "fs-1::fsap-1" } });
            new KubeRay("kr", { provider });
            new DcgmExporter("dcgm", { provider, gpuNodeGroups: cluster.gpuNodeGroups, options: { serviceMonitor: false, nodeAgentHostEngine: true } });
            new TrainingIdentity("ti", { provider, namespace: { name: "miles", resource: namespace.resource } });
            new ClusterAutoscaler("cas", { clusterName: "c", discoveryClusterName: "c", groups: [{ name: "h100", asgName: "asg-1", tags: { a: "1" } }], provider });
            new ImageRepository("img", { name: "miles-efa" });
            new EfaImageBuild("eib", { repository: { name: "miles-efa", arn: "arn:aws-cn:ecr:cn-north-1:123456789012:repository/miles-efa", url: "r" }, images: [{ tag: "v0.1.0-efa1.49.0", base: "radixark/miles:v0.1.0" }], provider, eks: { clusterName: "c" } });
        });
        return { ev, existingBucketArn: new Promise<string>((resolve) => existing!.arn.apply(resolve)) };
    })();
    return defaultsRun;
}

describe("component args: each @default is applied when the arg is left out", () => {
    let ev: Evaluation;
    let existingBucketArn: string;
    const stackDefaults = { cluster: ClusterSchema.parse({}), storage: StorageSchema.parse({}) };
    before(async () => {
        const built = await buildWithDefaults();
        ev = built.ev;
        existingBucketArn = await built.existingBucketArn;
    });

    it("GpuCluster: region from aws:region, stack from the Pulumi stack (name and tags), FSx startup taint on", () => {
        assert.equal(inputs(ev, "aws:ec2/vpcEndpoint:VpcEndpoint", "gc-network-s3").serviceName, `com.amazonaws.${REGION}.s3`);
        const cp = inputs(ev, "aws:eks/cluster:Cluster", "gc-eks");
        assert.equal(cp.name, `miles-${STACK}`);
        assert.equal(cp.tags["miles-cluster/stack"], STACK);
        const taints = inputs(ev, "aws:eks/nodeGroup:NodeGroup", "gc-gpu-h100-ng").taints as { key: string }[];
        assert.ok(taints.some((t) => t.key === FSX_STARTUP_TAINT.key), JSON.stringify(taints));
    });
    it("TrainingNamespace: miles; CheckpointStorage: the storage section's defaults, tagged with the stack; ClusterAddons: every add-on, monitoring and Kueue included", () => {
        assert.equal(inputs(ev, "kubernetes:core/v1:Namespace", "ns").metadata.name, "miles");
        const fs = inputs(ev, "aws:fsx/lustreFileSystem:LustreFileSystem", "st-fsx");
        // The stack sizes the capacity from its runs; a component composed alone takes the smallest FSx capacity, 1200 GiB (catalog/fsx.ts).
        assert.equal(stackDefaults.storage.capacityGiB, undefined);
        assert.deepEqual([fs.storageCapacity, fs.perUnitStorageThroughput], [1200, stackDefaults.storage.throughputPerTiB]);
        assert.equal(fs.tags["miles-cluster/stack"], STACK);
        assert.equal(inputs(ev, "aws:s3/bucket:Bucket", "st-bucket").bucketPrefix.startsWith(`miles-${STACK}-`), true);
        const releases = all(ev, "kubernetes:helm.sh/v3:Release").filter((r) => r.parent?.name.startsWith("ad-")).map((r) => r.inputs.name);
        assert.deepEqual(releases.sort(), ["aws-efa-k8s-device-plugin", "dcgm-exporter", "kuberay-operator", "kueue", "monitoring", "nvidia-device-plugin"]);
        assert.equal(inputs(ev, "kubernetes:core/v1:ServiceAccount", "ad-training-identity").metadata.name, "miles-training");
        assert.equal(inputs(ev, "aws:iam/role:Role", "ad-training-identity").tags["miles-cluster/stack"], STACK);
    });
    it("MilesTrainingJob: the run is named after the Pulumi stack", () => {
        assert.equal(inputs(ev, "kubernetes:ray.io/v1:RayJob", "tj-rayjob").metadata.name, `miles-${STACK}`);
    });
    it("ClusterNetwork: a 10.0.0.0/16 VPC over the GPU zone and the next one", () => {
        assert.equal(inputs(ev, "aws:ec2/vpc:Vpc", "net-vpc").cidrBlock, "10.0.0.0/16");
        assert.deepEqual(all(ev, "aws:ec2/subnet:Subnet").filter((s) => s.name.startsWith("net-private-")).map((s) => s.inputs.availabilityZone), [`${REGION}a`, `${REGION}b`]);
    });
    it("EksControlPlane: the stack's Kubernetes version, api/audit/authenticator logs, private endpoint only, no extra admins, no tags", () => {
        const c = inputs(ev, "aws:eks/cluster:Cluster", "cp");
        assert.equal(c.version, stackDefaults.cluster.kubernetesVersion);
        assert.deepEqual(c.enabledClusterLogTypes, ["api", "audit", "authenticator"]);
        assert.equal(c.vpcConfig.endpointPublicAccess, false);
        assert.deepEqual(c.tags, {});
        assert.equal(all(ev, "aws:eks/accessEntry:AccessEntry").filter((r) => r.name.startsWith("cp-")).length, 0);
    });
    it("EKS managed add-ons: no tags", () => {
        for (const n of ["na-vpc-cni", "na-kube-proxy", "ca-coredns", "ca-aws-fsx-csi-driver"]) assert.deepEqual(inputs(ev, "aws:eks/addon:Addon", n).tags, {}, n);
    });
    it("SystemNodeGroup: 2 × m7i.xlarge with 100 GiB; GpuNodeGroup: no startup taint, no tags", () => {
        const sys = inputs(ev, "aws:eks/nodeGroup:NodeGroup", "sys-ng");
        assert.deepEqual([sys.instanceTypes, sys.scalingConfig.desiredSize], [["m7i.xlarge"], 2]);
        assert.equal(inputs(ev, "aws:ec2/launchTemplate:LaunchTemplate", "sys-lt").blockDeviceMappings[0].ebs.volumeSize, 100);
        const gpu = inputs(ev, "aws:eks/nodeGroup:NodeGroup", "gpu-ng");
        assert.ok(!(gpu.taints as { key: string }[]).some((t) => t.key === FSX_STARTUP_TAINT.key));
        assert.deepEqual(gpu.tags, {});
    });
    it("FsxLustre: 1200 GiB at 250 MB/s/TiB, the three default links; CheckpointBucket: generated name, 30-day versions, partition from aws:region", () => {
        const fs = inputs(ev, "aws:fsx/lustreFileSystem:LustreFileSystem", "fsx");
        assert.deepEqual([fs.storageCapacity, fs.perUnitStorageThroughput], [1200, 250]);
        assert.deepEqual(all(ev, "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation").filter((r) => r.parent?.name === "fsx").map((r) => r.inputs.fileSystemPath), ["/checkpoints", "/models", "/data"]);
        assert.ok(inputs(ev, "aws:s3/bucket:Bucket", "bucket").bucketPrefix.startsWith(`miles-${STACK}-`));
        assert.equal(inputs(ev, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "bucket-lifecycle").rules[0].noncurrentVersionExpiration.noncurrentDays, 30);
        assert.equal(all(ev, "aws:s3/bucket:Bucket").filter((r) => r.name === "existing-bucket").length, 0);
        assert.equal(existingBucketArn, "arn:aws-cn:s3:::acme-ckpt");
    });
    it("EfsFileSystem: elastic, generalPurpose, CSI policy in the partition of aws:region", () => {
        const fs = inputs(ev, "aws:efs/fileSystem:FileSystem", "efs");
        assert.deepEqual([fs.throughputMode, fs.performanceMode], ["elastic", "generalPurpose"]);
        const policy = all(ev, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").find((r) => r.name.startsWith("efs-csi-"))!.inputs.policyArn as string;
        assert.ok(policy.startsWith("arn:aws-cn:iam::aws:policy/"), policy);
    });
    it("SharedVolume: claim miles-shared, part-of labels, no mount options", () => {
        const pv = inputs(ev, "kubernetes:core/v1:PersistentVolume", "sv-pv");
        assert.deepEqual([pv.spec.claimRef.name, pv.spec.mountOptions, pv.metadata.labels["app.kubernetes.io/part-of"]], ["miles-shared", [], "miles-cluster"]);
        assert.equal(inputs(ev, "kubernetes:core/v1:PersistentVolumeClaim", "sv-pvc").metadata.name, "miles-shared");
    });
    it("TrainingNamespace: Pod Security baseline enforced (warn/audit restricted) and its default-deny NetworkPolicies", () => {
        const labels = inputs(ev, "kubernetes:core/v1:Namespace", "ns").metadata.labels;
        assert.equal(labels["pod-security.kubernetes.io/enforce"], "baseline");
        assert.ok(all(ev, "kubernetes:networking.k8s.io/v1:NetworkPolicy").filter((r) => r.parent?.name === "ns").length > 0);
    });
    it("ClusterAutoscaler: the chart's awsRegion from aws:region, no tags; ImageRepository: no tags", () => {
        assert.equal(inputs(ev, "kubernetes:helm.sh/v3:Release", "cas").values.awsRegion, REGION);
        assert.deepEqual(inputs(ev, "aws:iam/role:Role", "cas-role").tags, {});
        assert.deepEqual(inputs(ev, "aws:ecr/repository:Repository", "img-ecr").tags, {});
    });
    it("EfaImageBuild: project miles-efa-<stack>, the region from aws:region in the trigger Job, the package's images/miles-efa/Dockerfile in the buildspec", () => {
        assert.equal(inputs(ev, "aws:codebuild/project:Project", "eib-project").name, `miles-efa-${STACK}`);
        const env = inputs(ev, "kubernetes:batch/v1:Job", "eib-job").spec.template.spec.containers[0].env as Array<{ name: string; value: string }>;
        assert.equal(env.find((e) => e.name === "AWS_REGION")?.value, REGION);
        const dockerfile = fs.readFileSync(path.join(__dirname, "..", "images", "miles-efa", "Dockerfile"), "utf8");
        assert.ok(String(inputs(ev, "aws:codebuild/project:Project", "eib-project").source.buildspec).includes(Buffer.from(dockerfile).toString("base64")));
    });
    it("KubeRay: namespace miles-system with its CRD job; TrainingIdentity: miles-training, service account only", () => {
        assert.equal(inputs(ev, "kubernetes:helm.sh/v3:Release", "kr").namespace, "miles-system");
        assert.equal(inputs(ev, "kubernetes:batch/v1:Job", "kr-crds").metadata.namespace, "miles-system");
        assert.equal(inputs(ev, "kubernetes:core/v1:ServiceAccount", "ti").metadata.name, "miles-training");
        assert.equal(all(ev, "aws:iam/role:Role").filter((r) => r.name === "ti").length, 0);
    });
});

describe("component transforms", () => {
    it("change the registered inputs of the resource they name, and nothing else: names, types and parents stay", async () => {
        // The same composites as buildWithDefaults(), now with transforms.
        const changed = await run(() => {
            const cluster = new GpuCluster("gc", {
                cluster: ClusterSchema.parse({ availabilityZone: `${REGION}a`, gpuNodeGroups: [gpuGroup()] }),
                transform: {
                    gpuNodeGroup: { nodeGroup: { labels: { team: "rl" } } },
                    network: { vpc: (a) => void (a.tags = { ...(a.tags as Record<string, string>), cost: "net" }) },
                    controlPlane: { logGroup: { retentionInDays: 90 }, nodeRole: { role: { maxSessionDuration: 7200 } } },
                },
            });
            const namespace = new TrainingNamespace("ns", { provider: cluster.provider, transform: { namespace: (a) => void (a.metadata = { ...(a.metadata as object), annotations: { owner: "rl" } }) } });
            const storage = new CheckpointStorage("st", { cluster, namespace, transform: { fsx: { fileSystem: { weeklyMaintenanceStartTime: "7:03:00" } } } });
            new ClusterAddons("ad", { cluster, namespace, storage, transform: { kuberay: { release: { timeout: 900 } } } });
        });
        const plainRun = (await buildWithDefaults()).ev;
        const key = (r: RecordedResource) => `${r.type} ${r.name} ${r.parent?.type ?? ""}/${r.parent?.name ?? ""}`;
        const composites = /^(gc|ns|st|ad)($|-)/;
        const plain = { resources: plainRun.resources.filter((r) => composites.test(r.parent?.name ?? r.name) && composites.test(r.name)) };
        assert.deepEqual(changed.resources.map(key).sort(), plain.resources.map(key).sort());

        assert.deepEqual(inputs(changed, "aws:eks/nodeGroup:NodeGroup", "gc-gpu-h100-ng").labels, { team: "rl" });
        assert.equal(inputs(changed, "aws:ec2/vpc:Vpc", "gc-network-vpc").tags.cost, "net");
        assert.equal(inputs(changed, "aws:ec2/vpc:Vpc", "gc-network-vpc").tags["miles-cluster/stack"], STACK, "a function transform keeps what it does not touch");
        assert.equal(inputs(changed, "aws:cloudwatch/logGroup:LogGroup", "gc-eks-logs").retentionInDays, 90);
        assert.equal(inputs(changed, "aws:iam/role:Role", "gc-eks-node-role").maxSessionDuration, 7200);
        assert.deepEqual(inputs(changed, "kubernetes:core/v1:Namespace", "ns").metadata.annotations, { owner: "rl" });
        assert.equal(inputs(changed, "aws:fsx/lustreFileSystem:LustreFileSystem", "st-fsx").weeklyMaintenanceStartTime, "7:03:00");
        assert.equal(inputs(changed, "kubernetes:helm.sh/v3:Release", "ad-kuberay").timeout, 900);

        const before = new Map(plain.resources.map((r) => [key(r), JSON.stringify(r.inputs)]));
        const differing = changed.resources.filter((r) => JSON.stringify(r.inputs) !== before.get(key(r))).map((r) => r.name);
        assert.deepEqual(differing.sort(), ["ad-kuberay", "gc-eks-logs", "gc-eks-node-role", "gc-gpu-h100-ng", "gc-network-vpc", "ns", "st-fsx"]);
    });

    it("reach every resource every component creates (EKS and bring-your-own cluster, FSx and EFS storage, add-ons, training)", async () => {
        const seen = new Set<string>();
        // A hook at every key, however deep: each lookup of `transform.<anything>` is another such
        // hook, and calling one records the resource name. A resource created without passing through
        // a hook is missing from `seen`.
        const everywhere = (): any =>
            new Proxy(function () {}, {
                get: (_t, prop) => (prop === "then" ? undefined : everywhere()),
                apply: (_t, _this, [, , name]: [unknown, unknown, string]) => void seen.add(name),
            });
        const ev = await run(() => {
            const t = everywhere();
            // An autoscaled group (the Cluster Autoscaler) and a Capacity Block group (its start action; the run's
            // end-of-block save and resume CronJobs).
            const cluster = new GpuCluster("gc", {
                cluster: ClusterSchema.parse({ availabilityZone: `${REGION}a`, adminRoleArns: ["arn:aws:iam::123456789012:role/admin"], gpuNodeGroups: [gpuGroup(), blockGroup()] }),
                transform: t,
            });
            new GpuCluster("byo", { cluster: ClusterSchema.parse({ existing: {} }), transform: everywhere() });
            const namespace = new TrainingNamespace("ns", { provider: cluster.provider, transform: everywhere() });
            const storage = new CheckpointStorage("st", { cluster, namespace, transform: everywhere() });
            new CheckpointStorage("efs", { storage: StorageSchema.parse({ type: "efs" }), cluster, namespace, transform: everywhere() });
            const addons = new ClusterAddons("ad", { cluster, namespace, storage, transform: everywhere() });
            const training = TrainingSchema.parse({ hfToken: "hf_plaintext_only_in_this_test", nodeGroup: "blk" });
            const networkPolicy = { metricsNamespaces: ["monitoring"] };
            new MilesTrainingJob("tj", { training, cluster, namespace, storage, addons, networkPolicy, transform: everywhere() });
            new ImageRepository("img", { name: "miles-efa", transform: everywhere() });
            new EfaImageBuild("eib", { repository: { name: "miles-efa", arn: "arn", url: "r" }, images: [{ tag: "t", base: "b" }], provider: cluster.provider, eks: { clusterName: "c" }, transform: everywhere() });
        });
        const custom = ev.resources.filter((r) => r.custom);
        assert.ok(custom.length > 80, `${custom.length} resources`);
        assert.deepEqual(custom.filter((r) => !seen.has(r.name)).map((r) => `${r.type} ${r.name}`), []);
        for (const type of [
            "kubernetes:core/v1:Secret",
            "kubernetes:batch/v1:Job",
            "kubernetes:batch/v1:CronJob",
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "aws:efs/mountTarget:MountTarget",
            "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
            "aws:autoscaling/schedule:Schedule",
            "aws:autoscaling/tag:Tag",
            "aws:ec2/flowLog:FlowLog",
            "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
            "aws:s3/bucketPolicy:BucketPolicy",
            "aws:ecr/repository:Repository",
            "aws:codebuild/project:Project",
            "pulumi:providers:kubernetes",
        ]) {
            assert.ok(custom.some((r) => r.type === type), `the program creates a ${type}`);
        }
    });
});

describe("the package entry (lib.ts) exports the components a team composes", () => {
    it("every composite and leaf component class, and the transform helper", () => {
        const names = [
            "GpuCluster",
            "ClusterNetwork",
            "EksControlPlane",
            "EksNodeAddons",
            "EksClusterAddons",
            "SystemNodeGroup",
            "GpuNodeGroup",
            "TrainingNamespace",
            "CheckpointStorage",
            "CheckpointBucket",
            "FsxLustre",
            "EfsFileSystem",
            "SharedVolume",
            "ClusterAddons",
            "ClusterAutoscaler",
            "HelmAddon",
            "Monitoring",
            "Kueue",
            "FabricGate",
            "RunLifecycle",
            "ImageRepository",
            "EfaImageBuild",
            "NvidiaDevicePlugin",
            "EfaDevicePlugin",
            "DcgmExporter",
            "KubeRay",
            "TrainingIdentity",
            "MilesTrainingJob",
            "ModelPrep",
            "TrainingSecrets",
        ];
        const exported = lib as unknown as Record<string, unknown>;
        for (const n of names) {
            const c = exported[n] as { prototype?: unknown } | undefined;
            assert.ok(typeof c === "function" && c.prototype instanceof pulumi.ComponentResource, `${n} is exported as a ComponentResource`);
        }
        assert.equal(typeof exported.transform, "function");
    });
});

describe("component args are documented (TSDoc of every exported args interface in components/)", () => {
    // Parsed, not type-checked (milliseconds): every property of an exported interface of a component
    // file has TSDoc with an @example, and an optional one says its @default (what the component
    // applies when it is left out; the suites above check those defaults). The handles components
    // return (contracts.ts) and their result types (…Result) are outputs, not args.
    it("every arg has an @example, every optional arg a @default", () => {
        const dir = path.join(__dirname, "..", "components");
        const problems: string[] = [];
        let args = 0;
        for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "contracts.ts")) {
            const sf = ts.createSourceFile(file, fs.readFileSync(path.join(dir, file), "utf8"), ts.ScriptTarget.Latest, true);
            for (const node of sf.statements) {
                if (!ts.isInterfaceDeclaration(node) || node.name.text.endsWith("Result") || !node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
                for (const member of node.members.filter(ts.isPropertySignature)) {
                    args++;
                    const tags = ts.getJSDocTags(member).map((t) => t.tagName.text);
                    const where = `components/${file} ${node.name.text}.${member.name.getText(sf)}`;
                    if (!tags.includes("example")) problems.push(`${where}: no @example`);
                    if (member.questionToken && !tags.includes("default")) problems.push(`${where}: optional without @default`);
                }
            }
        }
        assert.ok(args > 150, `${args} args read`);
        assert.deepEqual(problems, []);
    });
});

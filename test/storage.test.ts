import { resolveStack } from "../domain/stack";
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { loadConfig, parseConfig } from "../validation";
import { plan, type Plan } from "../plan/run";
import { rawConfig, ofType, one, planConfig } from "./harness";
import { writeManifests } from "../plan/render";
import type { ClusterHandle } from "../components/contracts";
import { TrainingNamespace } from "../components/trainingNamespace";
import { CheckpointStorage } from "../components/checkpointStorage";
import { storageSection } from "../plan/sections/storage";
import { combinedStorageNeed, peakRetainedCheckpoints, sizeFsx, sizeFsxBytes, storageNeedOf, suggestFsx } from "../domain/sizing";
import { TrainingSchema } from "../config/training";
import { resolveRun } from "../domain/training/run";

/** The storage need of a training section as a run resolves it (defaults applied by the schema). */
const storageNeedFromTraining = (training: unknown) => storageNeedOf(resolveRun(TrainingSchema.parse(training), { stack: "test", gpuNodeGroups: [], platform: "eks", monitoring: false }));
import { bucketPolicy } from "../domain/iam";

const T = {
    fs: "aws:fsx/lustreFileSystem:LustreFileSystem",
    dra: "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    bucket: "aws:s3/bucket:Bucket",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    pab: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    pv: "kubernetes:core/v1:PersistentVolume",
    pvc: "kubernetes:core/v1:PersistentVolumeClaim",
    efs: "aws:efs/fileSystem:FileSystem",
    mount: "aws:efs/mountTarget:MountTarget",
    ap: "aws:efs/accessPoint:AccessPoint",
    addon: "aws:eks/addon:Addon",
};

const BASE = {
    "aws:region": "us-east-1",
    "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] },
};

interface Built {
    plan: Plan;
    /** The fake cluster's `ready` resource (stands for its node groups); undefined without aws. */
    clusterReady?: pulumi.Resource;
    /** Resource options seen per `type::name` (mocks do not record options). */
    opts: Map<string, pulumi.ResourceOptions>;
    handle?: CheckpointStorage;
}

/**
 * Builds CheckpointStorage alone under mocks, with a fake cluster handle (known network ids), so the
 * component is tested without the cluster component.
 */
async function build(storage: unknown, extra: Record<string, unknown> = {}, aws = true): Promise<Built> {
    const opts = new Map<string, pulumi.ResourceOptions>();
    let handle: CheckpointStorage | undefined;
    let clusterReady: pulumi.Resource | undefined;
    const p = await plan("test", rawConfig({ ...BASE, "miles-cluster:storage": storage, ...extra }), async () => {
        pulumi.runtime.registerStackTransformation((a) => {
            opts.set(`${a.type}::${a.name}`, a.opts);
            return undefined;
        });
        const cfg = loadConfig();
        const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
        clusterReady = aws ? new pulumi.ComponentResource("test:cluster:NodeGroups", "cluster-node-groups") : undefined;
        const cluster: ClusterHandle = {
            provider,
            gpuNodeGroups: [],
            aws: aws
                ? {
                      clusterName: pulumi.output("miles-test"),
                      network: {
                          vpcId: pulumi.output("vpc-123"),
                          gpuSubnetId: pulumi.output("subnet-gpu"),
                          privateSubnetIds: pulumi.output(["subnet-gpu", "subnet-b"]),
                          nodeSecurityGroupId: pulumi.output("sg-nodes"),
                          vpcCidr: pulumi.output("10.0.0.0/16"),
                          // A created VPC over the GPU zone and the default second zone.
                          zoneCount: 2,
                      },
                      ready: [clusterReady!],
                  }
                : undefined,
        };
        const namespace = new TrainingNamespace("ns", { name: cfg.training.namespace, provider });
        handle = new CheckpointStorage("storage", { storage: cfg.storage, stack: cfg.stack, region: cfg.region, cluster, namespace });
        return {};
    });
    assert.deepEqual(p.problems, []);
    return { plan: p, opts, handle, clusterReady };
}

const problemsOf = (storage: unknown, extra: Record<string, unknown> = {}) =>
    parseConfig(rawConfig({ ...BASE, "miles-cluster:storage": storage, ...extra }), { stack: "t" }).problems;

/**
 * Validates a recorded core/v1 object with kubernetes-models (ESM-only: loaded with a dynamic
 * import; its exports are invisible to this project's `node` module resolution, hence the typing).
 */
async function validateCoreV1(kind: "PersistentVolume" | "PersistentVolumeClaim", r: { inputs: Record<string, unknown> }): Promise<void> {
    const mod = (await import("kubernetes-models/v1")) as unknown as Record<string, new (o: unknown) => { validate(): void }>;
    new mod[kind]({ ...r.inputs, apiVersion: "v1", kind }).validate();
}

describe("storage: FSx for Lustre (default)", function () {
    let b: Built;
    before(async () => {
        b = await build({ bucket: { name: "acme-ckpt" } });
    });

    it("creates PERSISTENT_2 SSD, Lustre 2.15, LZ4, in the GPU subnet, with its own security group", () => {
        const fs = one(b.plan, T.fs).inputs;
        assert.equal(fs.deploymentType, "PERSISTENT_2");
        assert.equal(fs.storageType, "SSD");
        assert.equal(fs.fileSystemTypeVersion, "2.15");
        assert.equal(fs.dataCompressionType, "LZ4");
        assert.equal(fs.storageCapacity, 1200);
        assert.equal(fs.perUnitStorageThroughput, 250);
        assert.equal(fs.subnetIds, "subnet-gpu");
        assert.equal((fs.securityGroupIds as unknown[]).length, 1);
        // Linked to S3: FSx cannot back it up, so no final backup (deletion would otherwise fail) and no automatic ones.
        assert.equal(fs.skipFinalBackup, true);
        assert.equal(fs.automaticBackupRetentionDays, 0);
        // Protected by default: a replacing `pulumi up` or a `pulumi destroy` cannot delete it.
        assert.equal(one(b.plan, T.fs).options?.protect, true);
        const line = b.plan.summary!.lines.storage.find(([k]) => k === "deletion");
        assert.match(line![1], /PROTECTED/);
        // Encryption at rest is always on for PERSISTENT_2; no key given = AWS-managed aws/fsx.
        assert.equal(fs.kmsKeyId, undefined);
        assert.equal(one(b.plan, T.sg).inputs.vpcId, "vpc-123");
    });

    it("storage.protect: false lifts the protection, and plan says so as a warning", async () => {
        const o = await build({ bucket: { name: "acme-ckpt" }, protect: false });
        assert.equal(one(o.plan, T.fs).options?.protect, false);
        assert.match(o.plan.summary!.lines.storage.find(([k]) => k === "deletion")![1], /NOT protected/);
        assert.ok(o.plan.summary!.warnings.some((w) => w.startsWith("storage.protect is false")));
    });

    it("opens TCP 988 and 1018-1023 from the node security group and from itself", () => {
        const rules = ofType(b.plan, T.ingress).map((r) => r.inputs);
        const fromNodes = rules.filter((r) => r.referencedSecurityGroupId === "sg-nodes");
        assert.deepEqual(
            fromNodes.map((r) => [r.ipProtocol, r.fromPort, r.toPort]).sort(),
            [
                ["tcp", 1018, 1023],
                ["tcp", 988, 988],
            ],
        );
        // Self rules reference the (unknown at preview) group id itself, never the node group.
        const self = rules.filter((r) => r.referencedSecurityGroupId !== "sg-nodes");
        assert.deepEqual(self.map((r) => [r.fromPort, r.toPort]).sort(), [
            [1018, 1023],
            [988, 988],
        ]);
        // Nothing is added to the node group (the cluster manages it with inline rules).
        assert.ok(rules.every((r) => r.securityGroupId !== "sg-nodes"));
    });

    it("links /checkpoints (export+import NEW/CHANGED/DELETED), /models and /data (import) with batch metadata import", () => {
        const dras = ofType(b.plan, T.dra).map((r) => r.inputs);
        assert.equal(dras.length, 3);
        const byPath = Object.fromEntries(dras.map((d) => [d.fileSystemPath as string, d]));
        const all = ["NEW", "CHANGED", "DELETED"];
        const s3 = (p: string) => byPath[p].s3 as { autoExportPolicy?: { events: string[] }; autoImportPolicy?: { events: string[] } };
        assert.equal(byPath["/checkpoints"].dataRepositoryPath, "s3://acme-ckpt/checkpoints/");
        assert.deepEqual(s3("/checkpoints").autoExportPolicy?.events, all);
        assert.deepEqual(s3("/checkpoints").autoImportPolicy?.events, all);
        assert.deepEqual(s3("/models").autoImportPolicy?.events, all);
        assert.deepEqual(s3("/models").autoExportPolicy?.events, ["NEW", "CHANGED"]);
        assert.deepEqual(s3("/data").autoImportPolicy?.events, all);
        assert.equal(s3("/data").autoExportPolicy, undefined);
        for (const d of dras) {
            assert.equal(d.batchImportMetaDataOnCreate, true);
            assert.equal(d.deleteDataInFilesystem, false);
        }
    });

    it("gives file system and associations long create timeouts (a DRA can take ~20 min)", () => {
        const fsName = one(b.plan, T.fs).name;
        assert.equal(b.opts.get(`${T.fs}::${fsName}`)?.customTimeouts?.create, "60m");
        for (const d of ofType(b.plan, T.dra)) assert.equal(b.opts.get(`${T.dra}::${d.name}`)?.customTimeouts?.create, "45m");
    });

    it("creates a versioned, encrypted, private bucket that is retained on destroy, settings included", () => {
        const bucket = one(b.plan, T.bucket);
        assert.equal(bucket.inputs.bucket, "acme-ckpt");
        assert.equal(bucket.inputs.forceDestroy, false);
        assert.equal((one(b.plan, T.versioning).inputs.versioningConfiguration as { status: string }).status, "Enabled");
        const rule = (one(b.plan, T.sse).inputs.rules as Array<{ applyServerSideEncryptionByDefault: { sseAlgorithm: string } }>)[0];
        assert.equal(rule.applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
        const pab = one(b.plan, T.pab).inputs;
        for (const k of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"]) assert.equal(pab[k], true, k);
        assert.equal((one(b.plan, T.ownership).inputs.rule as { objectOwnership: string }).objectOwnership, "BucketOwnerEnforced");
        const rules = one(b.plan, T.lifecycle).inputs.rules as Array<{ noncurrentVersionExpiration?: { noncurrentDays: number } }>;
        assert.equal(rules.find((r) => r.noncurrentVersionExpiration)?.noncurrentVersionExpiration?.noncurrentDays, 30);
        for (const type of [T.bucket, T.versioning, T.sse, T.pab, T.ownership, T.lifecycle]) {
            const r = one(b.plan, type);
            assert.equal(b.opts.get(`${type}::${r.name}`)?.retainOnDelete, true, `${type} must be retained on delete`);
        }
        // The file system itself is disposable: not retained.
        assert.notEqual(b.opts.get(`${T.fs}::${one(b.plan, T.fs).name}`)?.retainOnDelete, true);
    });

    it("creates a valid static RWX PV (fsx.csi.aws.com, Retain) bound to a PVC in the training namespace", async () => {
        const pv = one(b.plan, T.pv);
        const pvc = one(b.plan, T.pvc);
        await validateCoreV1("PersistentVolume", pv);
        await validateCoreV1("PersistentVolumeClaim", pvc);
        // The validator really checks: a wrong access mode is rejected.
        await assert.rejects(validateCoreV1("PersistentVolume", { inputs: { ...pv.inputs, spec: { ...(pv.inputs.spec as object), accessModes: "ReadWriteMany" } } }));
        const spec = pv.inputs.spec as any;
        assert.deepEqual(spec.accessModes, ["ReadWriteMany"]);
        assert.equal(spec.persistentVolumeReclaimPolicy, "Retain");
        assert.equal(spec.storageClassName, "");
        assert.deepEqual(spec.capacity, { storage: "1200Gi" });
        assert.equal(spec.csi.driver, "fsx.csi.aws.com");
        assert.deepEqual(Object.keys(spec.csi.volumeAttributes).sort(), ["dnsname", "mountname"]);
        assert.ok(spec.csi.volumeHandle, "volumeHandle = file system id");
        assert.deepEqual(spec.mountOptions, ["flock"]);
        assert.deepEqual(spec.claimRef, { namespace: "miles", name: "miles-shared" });
        const cspec = pvc.inputs.spec as any;
        assert.equal((pvc.inputs.metadata as any).namespace, "miles");
        assert.equal((pvc.inputs.metadata as any).name, "miles-shared");
        assert.deepEqual(cspec.accessModes, ["ReadWriteMany"]);
        assert.equal(cspec.storageClassName, "");
        assert.equal(cspec.volumeName, (pv.inputs.metadata as any).name);
        assert.equal(b.handle?.claimName, "miles-shared");
        // Training waits for the claim and every association.
        assert.equal(b.handle?.ready.length, 1 + 3);
    });

    it("uses a customer key for FSx and SSE-KMS when kmsKeyArn is set", async () => {
        const key = "arn:aws:kms:us-east-1:123456789012:key/abcd-1234";
        const k = await build({ kmsKeyArn: key });
        assert.equal(one(k.plan, T.fs).inputs.kmsKeyId, key);
        const rule = (one(k.plan, T.sse).inputs.rules as any[])[0];
        assert.deepEqual(rule.applyServerSideEncryptionByDefault, { sseAlgorithm: "aws:kms", kmsMasterKeyId: key });
        assert.equal(rule.bucketKeyEnabled, true);
        // Generated name: a bucket prefix from the stack name.
        assert.equal(one(k.plan, T.bucket).inputs.bucketPrefix, "miles-test-");
        // The handle names the key, so the training role can be allowed to use it.
        assert.equal(k.handle?.bucket?.kmsKeyArn, key);
    });

    it("the training role may use the bucket's customer key (SSE-KMS objects are unreadable and unwritable without it)", () => {
        const bucketArn = "arn:aws:s3:::acme-ckpt";
        const key = "arn:aws:kms:us-east-1:123456789012:key/abcd-1234";
        const withKey = bucketPolicy(bucketArn, key).Statement as Array<{ Action: string[]; Resource: string }>;
        const kms = withKey.filter((st) => st.Action.some((a) => a.startsWith("kms:")));
        assert.equal(kms.length, 1);
        assert.deepEqual([...kms[0].Action].sort(), ["kms:Decrypt", "kms:GenerateDataKey"]);
        assert.equal(kms[0].Resource, key);
        // SSE-S3 (no key): no KMS permission at all.
        const noKey = bucketPolicy(bucketArn).Statement as Array<{ Action: string[] }>;
        assert.ok(noKey.every((st) => st.Action.every((a) => a.startsWith("s3:"))));
    });

    it("links an existing bucket without creating or managing any bucket resource", async () => {
        const e = await build({ bucket: { name: "team-data", existing: true } });
        for (const type of [T.bucket, T.versioning, T.sse, T.pab, T.ownership, T.lifecycle]) assert.equal(ofType(e.plan, type).length, 0, type);
        assert.equal(ofType(e.plan, T.dra).find((d) => d.inputs.fileSystemPath === "/data")?.inputs.dataRepositoryPath, "s3://team-data/data/");
        // kmsKeyArn encrypts the file system only: the existing bucket's own encryption is unknown.
        const ek = await build({ bucket: { name: "team-data", existing: true }, kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/abcd-1234" });
        assert.equal(ek.handle?.bucket?.kmsKeyArn, undefined);
    });
});

describe("storage: EFS and existing claim", () => {
    it("EFS: encrypted, a mount target in each zone's private subnet, NFS from nodes, access point, CSI add-on after the nodes, efs.csi.aws.com PV", async () => {
        const b = await build({ type: "efs" });
        const fs = one(b.plan, T.efs);
        assert.equal(fs.inputs.encrypted, true);
        assert.equal(fs.inputs.throughputMode, "elastic");
        assert.equal(b.opts.get(`${T.efs}::${fs.name}`)?.retainOnDelete, true);
        // Created VPC with the default second zone: the Ray head (system nodes, either zone) must mount it too.
        assert.deepEqual(
            ofType(b.plan, T.mount)
                .map((m) => m.inputs.subnetId)
                .sort(),
            ["subnet-b", "subnet-gpu"],
        );
        const nfs = ofType(b.plan, T.ingress).map((r) => r.inputs);
        assert.deepEqual(
            nfs.map((r) => [r.referencedSecurityGroupId, r.fromPort, r.toPort]),
            [["sg-nodes", 2049, 2049]],
        );
        assert.equal((one(b.plan, T.ap).inputs.rootDirectory as any).path, "/miles");
        const addon = one(b.plan, T.addon).inputs;
        assert.equal(addon.addonName, "aws-efs-csi-driver");
        assert.equal(addon.clusterName, "miles-test");
        assert.equal((addon.podIdentityAssociations as any[])[0].serviceAccount, "efs-csi-controller-sa");
        // Its controller Deployment needs a node: the add-on waits for the cluster's node groups.
        const addonDeps = b.opts.get(`${T.addon}::${one(b.plan, T.addon).name}`)?.dependsOn as pulumi.Resource[];
        assert.ok(addonDeps.includes(b.clusterReady!), "EFS CSI add-on depends on the node groups");
        const pv = one(b.plan, T.pv);
        await validateCoreV1("PersistentVolume", pv);
        assert.equal((pv.inputs.spec as any).csi.driver, "efs.csi.aws.com");
        assert.equal((pv.inputs.spec as any).persistentVolumeReclaimPolicy, "Retain");
        assert.equal(ofType(b.plan, T.fs).length + ofType(b.plan, T.bucket).length, 0);
    });

    it("existing-claim: creates nothing and hands over the claim name", async () => {
        const b = await build({ type: "existing-claim", claimName: "fsx-claim" }, {}, false);
        const ours = b.plan.resources.filter((r) => r.parent?.name === "storage" || r.name.startsWith("storage-"));
        assert.deepEqual(ours, []);
        assert.equal(b.handle?.claimName, "fsx-claim");
        assert.deepEqual(b.handle?.ready, []);
        assert.equal(b.handle?.bucket, undefined);
    });
});

describe("storage config: rejections", () => {
    it("rejects a capacity that is not 1200, 2400 or a multiple of 2400, naming the allowed values", () => {
        for (const bad of [1000, 3600, 6000]) {
            const p = problemsOf({ capacityGiB: bad });
            assert.equal(p.length, 1);
            assert.equal(p[0].path, "storage.capacityGiB");
            assert.match(p[0].message, /1200, 2400 or a multiple of 2400/);
            assert.match(p[0].message, new RegExp(`got ${bad}`));
        }
        for (const good of [1200, 2400, 4800, 33600]) assert.deepEqual(problemsOf({ capacityGiB: good }), []);
    });

    it("rejects throughput outside 125/250/500/1000 with the allowed values", () => {
        const p = problemsOf({ throughputPerTiB: 200 });
        assert.equal(p[0].path, "storage.throughputPerTiB");
        assert.match(p[0].message, /125, 250, 500, 1000/);
        assert.match(p[0].message, /got 200/);
    });

    it("existing-claim needs claimName; claimName needs existing-claim", () => {
        assert.deepEqual(
            problemsOf({ type: "existing-claim" }).map((p) => p.path),
            ["storage.claimName"],
        );
        assert.deepEqual(
            problemsOf({ claimName: "x" }).map((p) => p.path),
            ["storage.claimName"],
        );
    });

    it("a bring-your-own cluster (cluster.existing) requires existing-claim", () => {
        const p = parseConfig(rawConfig({ "miles-cluster:cluster": { existing: {} }, "miles-cluster:storage": { type: "fsx-lustre" } }), { stack: "t" }).problems;
        const mine = p.filter((x) => x.path.startsWith("storage."));
        assert.equal(mine.length >= 1, true, JSON.stringify(p));
        assert.equal(mine[0].path, "storage.type");
        assert.match(mine[0].message, /existing-claim/);
    });

    it("rejects overlapping links, an existing bucket without a name, and more than 8 links", () => {
        assert.deepEqual(
            problemsOf({ links: [{ path: "/ckpt" }, { path: "/ckpt/a" }] }).map((p) => p.path),
            ["storage.links[1].path"],
        );
        assert.deepEqual(
            problemsOf({ links: [{ path: "/a", s3Prefix: "x" }, { path: "/b", s3Prefix: "x/y" }] }).map((p) => p.path),
            ["storage.links[1].s3Prefix"],
        );
        assert.deepEqual(
            problemsOf({ bucket: { existing: true } }).map((p) => p.path),
            ["storage.bucket.name"],
        );
        const nine = Array.from({ length: 9 }, (_, i) => ({ path: `/d${i}` }));
        assert.deepEqual(
            problemsOf({ links: nine }).map((p) => p.path),
            ["storage.links"],
        );
        assert.deepEqual(
            problemsOf({ links: [{ path: "/x", import: ["NEW", "MOVED"] }] }).map((p) => p.path),
            ["storage.links[0].import[1]"],
        );
    });
});

describe("storage sizing (hand-computed)", () => {
    it("qwen3-4B dense, 2 retained, 1200 GiB at 250 MB/s/TiB", () => {
        // 4e9 params × 14 B = 56e9 B per checkpoint; reference 4e9 × 2 = 8e9; HF 8e9.
        // Needed: 2 × 56e9 + 8e9 + 8e9 = 128e9 B. Capacity 1200 × 2^30 = 1,288,490,188,800 B → fits.
        // Room: floor((1,288,490,188,800 − 16e9) / 56e9) = floor(22.72) = 22 checkpoints.
        // Throughput 1200/1024 × 250 = 292.96875 MB/s; write 56e9 / 292,968,750 = 191.1467 s (< 300 s).
        const z = sizeFsx({ paramsB: 4, precision: "bf16", retained: 2 }, 1200, 250);
        assert.equal(z.checkpointBytes, 56e9);
        assert.equal(z.requiredBytes, 128e9);
        assert.equal(z.fits, true);
        assert.equal(z.checkpointsThatFit, 22);
        assert.equal(z.throughputMBps, 292.96875);
        assert.ok(Math.abs(z.writeSeconds - 191.1467) < 0.001, String(z.writeSeconds));
        assert.equal(z.writeWithinLimit, true);
        // Cheapest valid: 1200@125 writes in 56e9/146,484,375 = 382 s (too slow); 1200@250 = 1200 × $0.21 = $252/month
        // beats 2400@125 = 2400 × $0.145 = $348.
        assert.deepEqual(
            (({ capacityGiB, throughputPerTiB, usdPerMonth }) => ({ capacityGiB, throughputPerTiB, usdPerMonth }))(suggestFsx({ paramsB: 4, precision: "bf16", retained: 2 })!),
            { capacityGiB: 1200, throughputPerTiB: 250, usdPerMonth: 252 },
        );
    });

    it("deepseek-v3 671B MoE, 2 retained: nothing fits at 1200 GiB; suggests 33600 GiB at 1000 MB/s/TiB", () => {
        // 671e9 × 14 = 9.394e12 B per checkpoint; reference and HF 1.342e12 B each.
        // Needed: 2 × 9.394e12 + 2 × 1.342e12 = 21.472e12 B > 1.288e12 → does not fit; room for 0 checkpoints.
        // Write at 292.96875 MB/s: 9.394e12 / 2.9296875e8 = 32,064.85 s (8.9 h).
        const need = { paramsB: 671, precision: "bf16" as const, retained: 2 };
        const z = sizeFsx(need, 1200, 250);
        assert.equal(z.checkpointBytes, 9.394e12);
        assert.equal(z.requiredBytes, 21.472e12);
        assert.equal(z.fits, false);
        assert.equal(z.checkpointsThatFit, 0);
        assert.ok(Math.abs(z.writeSeconds - 32064.85) < 0.01, String(z.writeSeconds));
        // Write ≤ 300 s needs 9.394e12 / 300 = 31,313.33 MB/s = C/1024 × t → C × t ≥ 32,064,853.
        //   t=1000: C ≥ 32,065 → 33,600 GiB (14 × 2400), 33,600 × $0.60 = $20,160/month
        //   t=500:  C ≥ 64,130 → 64,800 GiB, × $0.34 = $22,032;  t=250: 129,600 × $0.21 = $27,216;  t=125: 256,800 × $0.145 = $37,236
        // Space: 21.472e12 / 2^30 = 19,997 GiB ≤ 33,600. Cheapest: 33,600 GiB at 1000.
        const s = suggestFsx(need)!;
        assert.equal(s.capacityGiB, 33600);
        assert.equal(s.throughputPerTiB, 1000);
        assert.equal(s.usdPerMonth, 20160);
    });

    it("retention: Megatron keeps every checkpoint without retainInterval, and only multiples of it with one", () => {
        // 3000 rollouts, save every 20 → 150 kept. miles saves at the 0-based rollout id (19, 39, …, 2999):
        // Megatron keeps a previous checkpoint only at a multiple of retainInterval 1000, which none is → previous + new = 2.
        assert.equal(peakRetainedCheckpoints(3000, 20, undefined).retained, 150);
        assert.equal(peakRetainedCheckpoints(3000, 20, 1000).retained, 2);
        assert.equal(peakRetainedCheckpoints(3000, 20, 1000).keptForGood, 0);
        // Saving every rollout (iterations 0…2999): 1000 and 2000 are kept for good (0 never is; 2998 and 2999 are the last two) → 2 + 2.
        assert.equal(peakRetainedCheckpoints(3000, 1, 1000).retained, 4);
        // 7 rollouts saved every rollout, retain 3: iterations 0…6; of 0…4 Megatron keeps 3 → 1 + 2.
        assert.equal(peakRetainedCheckpoints(7, 1, 3).retained, 3);
        // Any numRollout answers at once (no loop over the saves).
        assert.equal(peakRetainedCheckpoints(1e15, 1, 1e9).retained, 1e6 - 1 + 2);
        assert.equal(peakRetainedCheckpoints(undefined, undefined, undefined).retained, 2);
        const t = storageNeedFromTraining({ model: { preset: "deepseek-v3" }, algorithm: { numRollout: 100 }, checkpoints: { saveInterval: 20, retainInterval: 100 } });
        assert.equal(t.need?.paramsB, 671);
        // Iterations 19, 39, 59, 79, 99: none a multiple of 100 → 2.
        assert.equal(t.need?.retained, 2);
        assert.equal(storageNeedFromTraining({ model: { preset: "deepseek-v3-5layer" } }).need, undefined);
    });

    it("an FP8 rollout of a published FP8 release adds no converted copy (the engines load the download itself)", () => {
        const fp8 = { preset: "deepseek-v3", hfCheckpointIsFp8: true };
        // 2 (BF16 cast) + 1 (the FP8 download), whether rolloutCheckpoint is unset or names the download
        assert.equal(storageNeedFromTraining({ model: fp8, features: { fp8Rollout: true } }).need?.hfBytesPerParam, 3);
        assert.equal(storageNeedFromTraining({ model: { ...fp8, rolloutCheckpoint: "/shared/models/DeepSeek-V3" }, features: { fp8Rollout: true } }).need?.hfBytesPerParam, 3);
        // a converted copy elsewhere, or a BF16 release, still counts +1
        assert.equal(storageNeedFromTraining({ model: { ...fp8, rolloutCheckpoint: "/shared/models/DeepSeek-V3-FP8" }, features: { fp8Rollout: true } }).need?.hfBytesPerParam, 4);
        assert.equal(storageNeedFromTraining({ model: { preset: "qwen3-4B" }, features: { fp8Rollout: true } }).need?.hfBytesPerParam, 3);
    });
});

describe("storage plan section", () => {
    it("warns for deepseek-v3 on a 1200 GiB FSx with fitCheck: warn (too slow and does not fit) and suggests the cheapest fix", async () => {
        // DeepSeek-V3 on one node is far beyond the GPU memory: only its storage is under test here.
        const training = { model: { preset: "deepseek-v3", hfCheckpointIsFp8: true }, checkpoints: { saveInterval: 20, retainInterval: 1000 }, resources: { memoryFitCheck: "warn" } };
        const cfg = parseConfig(rawConfig({ ...BASE, "miles-cluster:storage": { capacityGiB: 1200, fitCheck: "warn" }, "miles-cluster:training": training }), { stack: "t" }).config!;
        const r = storageSection(resolveStack(cfg), { resources: [], outputs: {} });
        const text = r.lines.map(([l, v]) => `${l}: ${v}`).join("\n");
        assert.match(text, /× 14 bytes\/param/);
        assert.match(text, /checkpoint write: 8\.9 h/);
        assert.equal(r.warnings?.length, 2, JSON.stringify(r.warnings));
        assert.match(r.warnings![0], /over 5 min/);
        assert.match(r.warnings![1], /needed/);
        // Saves at iterations 19, 39, …: none a multiple of 1000, so the previous + the new = 2 checkpoints.
        // Space: 2 × 9.394e12 + 2 × 1.342e12 = 21.472e12 B = 19,997 GiB; cheapest pair: 33,600 GiB at 1000 (see "suggestFsx" above).
        assert.match(text, /capacityGiB: 33600, throughputPerTiB: 1000 \(~\$20,160\/month/);
        // 1200 GiB × $0.21 / 730 h = $0.3452/h
        assert.ok(Math.abs(r.cost![0].usdPerHour - 0.3452) < 0.001);
        assert.match(r.cost![0].source, /approximate/);
    });

    it("with checkpoints.retainInterval: null counts every checkpoint Megatron keeps", () => {
        const cfg = parseConfig(rawConfig({ ...BASE, "miles-cluster:storage": { capacityGiB: 1200, fitCheck: "warn" }, "miles-cluster:training": { model: { preset: "qwen3-4B" }, checkpoints: { saveInterval: 20, retainInterval: null } } }), { stack: "t" }).config!;
        const r = storageSection(resolveStack(cfg), { resources: [], outputs: {} });
        // 3000 / 20 = 150 checkpoints × 56e9 B = 8.4e12 B + 16e9 B of model copies = 8.416e12 B > 1.288e12 B.
        assert.equal((r.data.sizing as { requiredBytes: number }).requiredBytes, 8.416e12);
        assert.ok(r.warnings!.some((w) => /retainInterval/.test(w)));
    });
});

describe("storage sizing of several runs (training.runs)", () => {
    it("adds up every run's retained checkpoints and counts a shared model copy once", () => {
        // a, b: qwen3-4B (4e9 × 14 = 56e9 B per checkpoint, 2 retained each); model copies 4e9 × (2 + 2) = 16e9 B, shared.
        // c: a 30B custom run with 3 retained: 30e9 × 14 = 420e9 B per checkpoint; its own copies 30e9 × 4 = 120e9 B.
        const q = { paramsB: 4, precision: "bf16" as const, retained: 2 };
        const c = combinedStorageNeed([
            { run: "a", modelKey: "qwen", need: q, model: "qwen3-4B", retainedBasis: "x", notes: [] },
            { run: "b", modelKey: "qwen", need: q, model: "qwen3-4B", retainedBasis: "x", notes: [] },
            { run: "c", modelKey: "big", need: { paramsB: 30, precision: "bf16", retained: 3 }, model: "custom", retainedBasis: "x", notes: [] },
            { run: "d", modelKey: "?", model: "custom", retainedBasis: "x", notes: [] },
        ]);
        // checkpoints: 2 × 56e9 + 2 × 56e9 + 3 × 420e9 = 1,484e9; copies 16e9 + 120e9 = 136e9; total 1,620e9 B.
        assert.equal(c.retainedBytes, 1484e9);
        assert.equal(c.modelCopyBytes, 136e9);
        assert.equal(c.requiredBytes, 1620e9);
        assert.equal(c.checkpointBytes, 420e9, "the write-time target is the largest single checkpoint");
        assert.deepEqual(c.copies.map((x) => x.runs), [["a", "b"], ["c"]]);
        assert.deepEqual(c.unsized, ["d"]);
        // 1200 GiB = 1,288,490,188,800 B < 1,620e9 B: does not fit; 2400 GiB = 2,576,980,377,600 B does.
        assert.equal(sizeFsxBytes(c, 1200, 250).fits, false);
        assert.equal(sizeFsxBytes(c, 2400, 250).fits, true);
        // one run alone: the same numbers as sizeFsx
        const one = combinedStorageNeed([{ run: "a", modelKey: "qwen", need: q, model: "qwen3-4B", retainedBasis: "x", notes: [] }]);
        assert.deepEqual(suggestFsx(one), suggestFsx(q));
    });

    it("the storage plan of a stack with training.runs sizes the file system for all of them", () => {
        const training = { model: { preset: "qwen3-4B" }, checkpoints: { saveInterval: 20, retainInterval: 1000 }, runs: { a: {}, b: {}, c: { enabled: false } } };
        const cfg = parseConfig(rawConfig({ ...BASE, "miles-cluster:training": training }), { stack: "t" }).config!;
        const r = storageSection(resolveStack(cfg), { resources: [], outputs: {} });
        // each run: iterations 19, 39, … never a multiple of 1000 → previous + new = 2 × 56e9 = 112e9 B; three runs (the disabled one's stay on the volume) = 336e9 + 16e9 shared copies = 352e9 B.
        assert.equal((r.data.sizing as { requiredBytes: number }).requiredBytes, 352e9);
        const text = r.lines.map(([l, v]) => `${l}: ${v}`).join("\n");
        assert.match(text, /checkpoints · c: 2 × 56\.0 GB/);
        assert.match(text, /space needed: 352 GB = checkpoints of every run of training.runs \(3 runs/);
        assert.match(text, /model copies: 16\.0 GB .*read by a, b, c/);
    });
});

describe("storage in the whole program (planConfig)", function () {
    this.timeout(60000);

    it("plan --out writes a PV and PVC that validate, and the FSx file system sits in the cluster's GPU subnet", async () => {
        const p = await planConfig({ ...BASE, "miles-cluster:training": { checkpoints: { saveInterval: 20, retainInterval: 1000 } } });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mc-storage-"));
        const files = writeManifests(p, dir);
        const pvFile = files.find((f) => path.basename(f).startsWith("persistentvolume-"));
        const pvcFile = files.find((f) => path.basename(f).startsWith("persistentvolumeclaim-"));
        assert.ok(pvFile && pvcFile, files.join(", "));
        const pv = parseYaml(fs.readFileSync(pvFile!, "utf8"));
        const pvc = parseYaml(fs.readFileSync(pvcFile!, "utf8"));
        await validateCoreV1("PersistentVolume", { inputs: pv });
        await validateCoreV1("PersistentVolumeClaim", { inputs: pvc });
        assert.equal(pv.spec.csi.driver, "fsx.csi.aws.com");
        assert.equal(pvc.metadata.namespace, "miles");
        // The subnet comes from the cluster's network (an id known only after deploy), not from config.
        const fsx = one(p, T.fs);
        assert.equal(fsx.parent?.name, "storage-fsx");
        assert.equal(typeof fsx.inputs.subnetIds, "string");
        assert.equal(p.outputs.storageClaimName, "miles-shared");
        // Sized with retention: 3 kept + 2 = 5 × 56 GB + 16 GB = 296 GB fits 1200 GiB; 191 s write: no storage warning.
        assert.deepEqual(p.summary!.warnings.filter((w) => w.startsWith("storage")), []);
    });

    it("bring-your-own cluster with existing-claim creates no storage resource", async () => {
        const p = await planConfig({
            "miles-cluster:cluster": { existing: {} },
            "miles-cluster:storage": { type: "existing-claim", claimName: "fsx-claim" },
            "miles-cluster:training": { resources: { workerCpu: 64, workerMemoryGiB: 512 } },
        });
        assert.equal(p.resources.filter((r) => r.name.startsWith("storage")).length, 1, "only the CheckpointStorage component itself");
        assert.equal(p.outputs.storageClaimName, "fsx-claim");
        assert.equal(ofType(p, T.pv).length, 0);
    });
});

describe("storage: an existing file system by id", function () {
    this.timeout(120000);
    it("FSx for Lustre: only a static volume pointing at it, no file system, bucket or link of ours", async () => {
        const b = await build({ existingFileSystem: { id: "fs-0123456789abcdef0", dnsName: "fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com", mountName: "abcdefgh" } });
        assert.equal(ofType(b.plan, T.fs).length, 0);
        assert.equal(ofType(b.plan, "aws:s3/bucket:Bucket").length + ofType(b.plan, "aws:s3/bucketV2:BucketV2").length, 0);
        assert.equal(ofType(b.plan, "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation").length, 0);
        const pv = ofType(b.plan, "kubernetes:core/v1:PersistentVolume")[0].inputs as any;
        assert.equal(pv.spec.csi.volumeHandle, "fs-0123456789abcdef0");
        assert.deepEqual(pv.spec.csi.volumeAttributes, { dnsname: "fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com", mountname: "abcdefgh" });
        assert.equal(pv.spec.persistentVolumeReclaimPolicy, "Retain");
        assert.match(b.plan.summary!.lines.storage.find(([k]) => k === "storage")![1], /existing FSx for Lustre fs-0123456789abcdef0 .* never modifies or deletes it/);
    });

    it("FSx for Lustre needs its DNS and mount names; EFS takes none", () => {
        const cfg = (storage: unknown) => parseConfig(rawConfig({ ...BASE, "miles-cluster:storage": storage }), { stack: "t" });
        const r = cfg({ existingFileSystem: { id: "fs-0123456789abcdef0" } });
        assert.deepEqual(
            (r as any).problems.map((p: any) => p.path),
            ["storage.existingFileSystem.dnsName", "storage.existingFileSystem.mountName"],
        );
        const e = cfg({ type: "efs", existingFileSystem: { id: "fs-01234567", mountName: "x" } });
        assert.deepEqual((e as any).problems.map((p: any) => p.path), ["storage.existingFileSystem.mountName"]);
    });

    it("EFS: the CSI add-on and a volume on the file system's id; no file system, mount target or access point created", async () => {
        const b = await build({ type: "efs", existingFileSystem: { id: "fs-01234567" } });
        assert.equal(ofType(b.plan, "aws:efs/fileSystem:FileSystem").length, 0);
        assert.equal(ofType(b.plan, "aws:efs/mountTarget:MountTarget").length, 0);
        assert.equal(ofType(b.plan, "aws:efs/accessPoint:AccessPoint").length, 0);
        assert.equal(ofType(b.plan, "aws:eks/addon:Addon").length, 1);
        assert.equal((ofType(b.plan, "kubernetes:core/v1:PersistentVolume")[0].inputs as any).spec.csi.volumeHandle, "fs-01234567");
    });
});

/**
 * Bad input never becomes an internal error, and no credential is accepted as plaintext (issue 16):
 * secret fields checked one by one, credential names/shapes in the free-form fields, aws:region of
 * the wrong type, CIDRs with host bits or private ranges, a head larger than a system node, and
 * documents nested deep enough to overflow a recursive walk. Pure parseConfig calls: milliseconds.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseConfig } from "../validation";
import { rawConfigFromDocument, readStackFile, StackFileError } from "../plan/stackFile";
import { isZoneOf } from "../validation/cluster";
import { contains, hasHostBits, nonPublicRange, parseIpv4Cidr } from "../config/cidr";
import { credentialShape, isCredentialName } from "../config/credentials";
import { rawConfig } from "./harness";

const cluster = { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] };
const good = { "aws:region": "us-east-1", "miles-cluster:cluster": cluster };
const problemsOf = (values: Record<string, unknown>) => parseConfig(rawConfig(values), { stack: "t" }).problems;
const at = (values: Record<string, unknown>, p: string) => problemsOf(values).filter((x) => x.path === p);
const fromDoc = (config: Record<string, unknown>) => parseConfig(rawConfigFromDocument({ config }, "miles-cluster"), { stack: "t" }).problems;

describe("secret fields are checked one by one", () => {
    it("a plaintext hfToken beside a secure: W&B key is rejected, naming the plaintext one only", () => {
        const p = fromDoc({ ...good, "miles-cluster:training": { wandb: { enabled: true, apiKey: { secure: "v1:abc" } }, hfToken: "hf_plain" } });
        assert.deepEqual(p.map((x) => x.path), ["training.hfToken"]);
        assert.match(p[0].message, /pulumi config set --secret --path 'miles-cluster:training\.hfToken'/);
        assert.ok(!JSON.stringify(p).includes("hf_plain"), "the plaintext value is never echoed");
    });

    it("a plaintext kubeconfig beside another secure value of cluster is rejected", () => {
        const p = fromDoc({
            "miles-cluster:cluster": { existing: { kubeconfig: "apiVersion: v1", context: { secure: "v1:xyz" } } },
            "miles-cluster:storage": { type: "existing-claim", claimName: "shared" },
        });
        assert.ok(p.some((x) => x.path === "cluster.existing.kubeconfig" && /is a secret/.test(x.message)), JSON.stringify(p));
    });

    it("every secure: secret passes, and each training.secretEnv value must be secure: too", () => {
        assert.deepEqual(fromDoc({ ...good, "miles-cluster:training": { wandb: { enabled: true, apiKey: { secure: "v1:a" } }, hfToken: { secure: "v1:b" } } }), []);
        const p = fromDoc({ ...good, "miles-cluster:training": { secretEnv: { RM_API_KEY: { secure: "v1:a" }, MLFLOW_TRACKING_TOKEN: "tok-plain" } } });
        assert.deepEqual(p.map((x) => x.path), ["training.secretEnv.MLFLOW_TRACKING_TOKEN"]);
        assert.ok(!JSON.stringify(p).includes("tok-plain"));
    });

    it("without per-value knowledge (no stack file), the key-level secret flag still decides", () => {
        const values = { ...good, "miles-cluster:training": { hfToken: "x" } };
        assert.equal(parseConfig(rawConfig(values, ["miles-cluster:training"]), { stack: "t" }).problems.length, 0);
        assert.deepEqual(problemsOf(values).map((x) => x.path), ["training.hfToken"]);
    });
});

describe("credentials in free-form fields", () => {
    it("names and shapes of credentials", () => {
        for (const n of ["AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "HF_TOKEN", "OPENAI_API_KEY", "RM_APIKEY", "MLFLOW_TRACKING_PASSWORD", "DB_SECRET", "GOOGLE_APPLICATION_CREDENTIALS_JSON_x".slice(0, 30)]) {
            assert.ok(isCredentialName(n), n);
        }
        for (const n of ["NCCL_DEBUG", "TOKENIZERS_PARALLELISM", "HF_HUB_ENABLE_HF_TRANSFER", "SSH_KEY_PATH", "KEY_ID", "MONKEY_PATCH", "PYTHONPATH"]) assert.ok(!isCredentialName(n), n);
        assert.match(credentialShape("AKIAABCDEFGHIJKLMNOP")!, /AWS access key/);
        assert.match(credentialShape("https://bob:hunter2@mlflow.example.com")!, /password/);
        assert.match(credentialShape("hf_" + "a".repeat(34))!, /Hugging Face/);
        assert.match(credentialShape("-----BEGIN RSA PRIVATE KEY-----")!, /private key/);
        assert.equal(credentialShape("https://mlflow.example.com/api"), undefined);
        assert.equal(credentialShape("INFO"), undefined);
    });

    it("extraEnv rejects credential names and values, pointing to secretEnv", () => {
        const p = problemsOf({ ...good, "miles-cluster:training": { extraEnv: { AWS_SECRET_ACCESS_KEY: "abc", MY_URL: "https://u:p@host.example", NCCL_DEBUG: "INFO" } } });
        assert.deepEqual(p.map((x) => x.path).sort(), ["training.extraEnv.AWS_SECRET_ACCESS_KEY", "training.extraEnv.MY_URL"]);
        for (const x of p) assert.match(x.message, /training\.secretEnv/);
        assert.ok(!JSON.stringify(p).includes("u:p@"));
    });

    it("extraArgs reject a credential flag's value and credential-shaped tokens; URL fields reject passwords", () => {
        const p = problemsOf({ ...good, "miles-cluster:training": { extraArgs: ["--sglang-api-key", "abc123", "--rollout-top-k", "20", "--wandb-key=0123"] } });
        assert.deepEqual(p.map((x) => x.path), ["training.extraArgs[1]", "training.extraArgs[4]"]);
        // What a flag is decides, not a word in its name: token ids, dataset keys and policies are no credentials (issue 23).
        const named = ["--rollout-stop-token-ids", "151645", "151643", "--eval-input-key", "question", "--reward-key", "score", "--metadata-key", "meta", "--tool-key", "tools", "--moe-token-drop-policy", "position"];
        assert.deepEqual(problemsOf({ ...good, "miles-cluster:training": { extraArgs: named } }), []);
        const q = at({ ...good, "miles-cluster:training": { wandb: { host: "https://me:secret@wandb.example.com" } } }, "training.wandb.host");
        assert.equal(q.length, 1);
        assert.match(q[0].message, /password/);
    });
});

describe("aws:region and availability zones are compared, never compiled", () => {
    it("a list or mapping region is one field problem (the RegExp crash)", () => {
        for (const bad of [["us-east-1"], { name: "us-east-1" }]) {
            const p = problemsOf({ ...good, "aws:region": bad });
            assert.deepEqual(p.map((x) => x.path), ["aws:region"]);
            assert.match(p[0].message, /must be one region name such as us-east-1 \(a string\), got a (list|mapping)/);
        }
        assert.deepEqual(problemsOf({ ...good, "aws:region": "us-east-[1" }).map((x) => x.path), ["aws:region"]);
    });

    it("isZoneOf is a text comparison", () => {
        assert.ok(isZoneOf("us-east-1a", "us-east-1"));
        assert.ok(!isZoneOf("us-east-1", "us-east-1"));
        assert.ok(!isZoneOf("us-east-12", "us-east-1"));
        assert.ok(!isZoneOf("us-east-1ab", "us-east-1"));
        assert.ok(!isZoneOf("xus-east-1a", "us-east-1"));
    });
});

describe("CIDRs", () => {
    it("arithmetic", () => {
        assert.ok(hasHostBits(parseIpv4Cidr("10.0.0.1/16")!));
        assert.ok(!hasHostBits(parseIpv4Cidr("10.0.0.0/16")!));
        assert.ok(!hasHostBits(parseIpv4Cidr("0.0.0.0/0")!));
        assert.ok(contains(parseIpv4Cidr("203.0.113.0/24")!, parseIpv4Cidr("203.0.113.8/29")!));
        assert.ok(!contains(parseIpv4Cidr("203.0.113.8/29")!, parseIpv4Cidr("203.0.113.0/24")!));
        assert.match(nonPublicRange(parseIpv4Cidr("172.20.0.0/16")!)!, /RFC 1918/);
        assert.equal(nonPublicRange(parseIpv4Cidr("0.0.0.0/0")!), undefined);
        assert.equal(nonPublicRange(parseIpv4Cidr("198.51.100.0/24")!), undefined);
    });

    it("a VPC CIDR with host bits set names the network address", () => {
        const p = at({ ...good, "miles-cluster:cluster": { ...cluster, network: { type: "create", vpcCidr: "10.0.0.1/16" } } }, "cluster.network.vpcCidr");
        assert.equal(p.length, 1);
        assert.match(p[0].message, /host bits set: write its network address, 10\.0\.0\.0\/16/);
    });

    it("publicAccessCidrs: private, duplicate and covered ranges are rejected by index", () => {
        const p = problemsOf({ ...good, "miles-cluster:cluster": { ...cluster, endpoint: { publicAccessCidrs: ["203.0.113.0/24", "10.0.0.0/8", "203.0.113.0/24", "203.0.113.64/26", "192.168.1.0/24"] } } });
        assert.deepEqual(p.map((x) => x.path), ["cluster.endpoint.publicAccessCidrs[1]", "cluster.endpoint.publicAccessCidrs[2]", "cluster.endpoint.publicAccessCidrs[3]", "cluster.endpoint.publicAccessCidrs[4]"]);
        assert.match(p[0].message, /not a public range/);
        assert.match(p[1].message, /listed twice/);
        assert.match(p[2].message, /already covered by "203\.0\.113\.0\/24"/);
    });
});

describe("a Ray head larger than a system node", () => {
    it("is rejected with the node's size (it would stay Pending)", () => {
        const p = problemsOf({ ...good, "miles-cluster:training": { resources: { headCpu: 4, headMemoryGiB: 16 } } });
        assert.deepEqual(p.map((x) => x.path), ["training.resources.headCpu", "training.resources.headMemoryGiB"]);
        assert.match(p[0].message, /m7i\.xlarge: 4 vCPUs.*at most 3/);
        assert.match(p[1].message, /16 GiB.*at most 13 GiB/);
        // A larger system node holds it.
        assert.deepEqual(problemsOf({ ...good, "miles-cluster:cluster": { ...cluster, systemNodeGroup: { instanceType: "m7i.2xlarge" } }, "miles-cluster:training": { resources: { headCpu: 4, headMemoryGiB: 16 } } }), []);
    });
});

describe("deeply nested documents", () => {
    it("a section nested 200 levels deep is a field problem", () => {
        let v: unknown = [];
        for (let i = 0; i < 200; i++) v = [v];
        const p = problemsOf({ ...good, "miles-cluster:training": { extraEnv: v } });
        assert.deepEqual(p.map((x) => x.path), ["training.extraEnv"]);
        assert.match(p[0].message, /more than 32 levels deep/);
    });

    it("a stack file nested deep enough to overflow the YAML parser names the key, not the stack", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deep-"));
        const file = path.join(dir, "Pulumi.deep.yaml");
        fs.writeFileSync(file, `config:\n  aws:region: us-east-1\n  miles-cluster:training:\n    extraEnv: ${"[".repeat(20000)}${"]".repeat(20000)}\n`);
        assert.throws(() => readStackFile(file, "miles-cluster"), (e: unknown) => e instanceof StackFileError && /miles-cluster:training \(line 3\) nests lists or mappings more than 32 levels deep/.test(e.reason));
        fs.rmSync(dir, { recursive: true });
    });
});

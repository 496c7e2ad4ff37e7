/**
 * AWS-side hardening (issue 16): the policy documents, pure; and the config fields that drive
 * them. The whole-stack view (every AWS stack's plan holds them) is in stacks.test.ts.
 */
import { strict as assert } from "node:assert";
import { flowLogsRolePolicy, FLOW_LOGS_TRUST_POLICY, tlsOnlyBucketPolicy } from "../domain/security/aws";
import { GPU_METADATA_OPTIONS } from "../components/gpuNodeGroup";
import { SYSTEM_METADATA_OPTIONS } from "../components/systemNodeGroup";
import { VPC_CNI_VALUES } from "../components/eksManagedAddons";
import { parseConfig } from "../validation";
import { rawConfig } from "./harness";

const cluster = { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] };
const parse = (c: Record<string, unknown>, addons: Record<string, unknown> = {}) =>
    parseConfig(rawConfig({ "aws:region": "us-east-1", "miles-cluster:cluster": { ...cluster, ...c }, "miles-cluster:addons": addons }), { stack: "t" });

describe("AWS hardening documents", () => {
    it("the bucket refuses every request without TLS, on the bucket and its objects", () => {
        const doc = tlsOnlyBucketPolicy("arn:aws:s3:::b") as any;
        assert.equal(doc.Statement.length, 1);
        const st = doc.Statement[0];
        assert.equal(st.Effect, "Deny");
        assert.equal(st.Principal, "*");
        assert.equal(st.Action, "s3:*");
        assert.deepEqual(st.Resource, ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]);
        assert.deepEqual(st.Condition, { Bool: { "aws:SecureTransport": "false" } });
    });

    it("the flow-logs role is assumable by VPC flow logs only and writes only to its log group", () => {
        assert.deepEqual(FLOW_LOGS_TRUST_POLICY.Statement[0].Principal, { Service: "vpc-flow-logs.amazonaws.com" });
        const st = (flowLogsRolePolicy("arn:aws:logs:us-east-1:1:log-group:g") as any).Statement[0];
        assert.deepEqual(st.Resource, ["arn:aws:logs:us-east-1:1:log-group:g", "arn:aws:logs:us-east-1:1:log-group:g:*"]);
        assert.ok(!st.Action.some((a: string) => a.includes("*")));
    });

    it("IMDSv2 only with hop limit 1 on GPU and system nodes; the VPC CNI enforces NetworkPolicies", () => {
        for (const m of [GPU_METADATA_OPTIONS, SYSTEM_METADATA_OPTIONS]) assert.deepEqual({ ...m }, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
        assert.deepEqual({ ...VPC_CNI_VALUES }, { enableNetworkPolicy: "true" });
    });
});

describe("AWS hardening config", () => {
    it("defaults: control-plane logs kept 30 days, flow logs on (ALL, 90 days), no S3 grant for the training pods", () => {
        const c = parse({}).config!;
        assert.equal(c.cluster.controlPlaneLogRetentionDays, 30);
        const n = c.cluster.network as any;
        assert.deepEqual(n.flowLogs, { enabled: true, trafficType: "ALL", retentionDays: 90 });
        assert.equal(c.addons.trainingS3Access, false);
    });

    it("a retention CloudWatch does not accept is a field problem", () => {
        const p = parse({ controlPlaneLogRetentionDays: 45 }).problems;
        assert.deepEqual(p.map((x) => x.path), ["cluster.controlPlaneLogRetentionDays"]);
        assert.match(p[0].message, /45 is not a retention CloudWatch Logs accepts; use one of 1, 3, 5/);
        assert.deepEqual(parse({ network: { type: "create", flowLogs: { retentionDays: 0 } } }).problems.map((x) => x.path), ["cluster.network.flowLogs.retentionDays"]);
    });
});

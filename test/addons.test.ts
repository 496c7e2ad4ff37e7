import { resolveStack } from "../domain/stack";
/**
 * The add-ons under mocks: each Helm release's chart/repo/version/namespace and key values, the
 * "zero pods" proofs (from the values the program really passes to Helm, through the chart models,
 * against each node group's labels and taints), the training identity, and bring-your-own stacks.
 */
import { clusterWideAddonEnabled } from "../domain/addons";
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { loadConfig, parseConfig } from "../validation";
import { plan, type Plan } from "../plan/run";
import { rawConfig, ofType, planConfig } from "./harness";
import { UNKNOWN, type RecordedResource } from "../plan/evaluate";
import { ClusterAddons } from "../components/clusterAddons";
import { TrainingNamespace } from "../components/trainingNamespace";
import type { ClusterHandle, StorageHandle } from "../components/contracts";
import { gpuNodeGroupsFromConfig } from "../domain/gpuNodes";
import { addonsSection } from "../plan/sections/addons";
import { daemonSetCoverage } from "../domain/scheduling";
import { dcgmExporterPlacement, efaDevicePluginPlacement, nvidiaDevicePluginPlacement } from "../domain/chartPlacement";
import { CHARTS, IMAGES, KUBERAY_CRDS, type ChartPin } from "../catalog/versions";

/** The pins come from the one pin table (catalog/versions.ts); a bump must not need test edits. */
const KUBERAY = CHARTS.kuberayOperator.version;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** The CRD Job's name for a KubeRay version (`kuberay-crds-v1-7-0` for 1.7.0). */
const crdJobNameOf = (version: string) => `kuberay-crds-v${version.replace(/\./g, "-")}`;

const RELEASE = "kubernetes:helm.sh/v3:Release";

/** Four GPU groups: AL2023 and Bottlerocket, each on p5 and p5en. */
const FOUR_GROUPS = {
    "aws:region": "us-east-1",
    "miles-cluster:cluster": {
        availabilityZone: "us-east-1a",
        gpuNodeGroups: [
            { name: "al-p5", instanceType: "p5.48xlarge", nodes: 2 },
            { name: "al-p5en", instanceType: "p5en.48xlarge", nodes: 3 },
            { name: "br-p5", instanceType: "p5.48xlarge", nodes: 1, amiFamily: "bottlerocket" },
            { name: "br-p5en", instanceType: "p5en.48xlarge", nodes: 4, amiFamily: "bottlerocket" },
        ],
    },
    "miles-cluster:storage": { type: "fsx-lustre" },
};

/** Every cluster-wide add-on opted in: on a bring-your-own cluster they are off unless asked (issue 21). */
const ALL_CLUSTER_WIDE = { nvidiaDevicePlugin: { enabled: true }, dcgmExporter: { enabled: true }, kuberay: { enabled: true }, kueue: { enabled: true } };
const BYO = (gpuNodes: Record<string, unknown> = {}, addons: Record<string, unknown> = {}) => ({
    "miles-cluster:cluster": { existing: { context: "lab", gpuNodes } },
    "miles-cluster:storage": { type: "existing-claim", claimName: "shared" },
    "miles-cluster:addons": addons,
    // Not about training: without an instance type the training section would ask for pod sizes.
    "miles-cluster:training": { enabled: false },
});

interface Built {
    plan: Plan;
    addons?: ClusterAddons;
}

/**
 * Plans ClusterAddons alone, with fake handles standing in for the cluster, namespace and storage
 * components: our EKS cluster (`aws` present) unless the config says `existing`.
 */
/** Role policies that grant any S3 action (the logs policy names the log group's ARN, unknown before deploy: its document is tested in test/monitoring.test.ts). */
function s3Policies(p: Plan): string[] {
    return ofType(p, "aws:iam/rolePolicy:RolePolicy")
        .filter((r) => r.inputs.policy !== UNKNOWN && JSON.parse(r.inputs.policy as string).Statement.some((st: any) => [st.Action].flat().some((a: string) => a.startsWith("s3:"))))
        .map((r) => r.name);
}

async function planAddons(values: Record<string, unknown>, opts: { bucketArn?: string } = {}): Promise<Built> {
    const out: Built = { plan: undefined as unknown as Plan };
    out.plan = await plan(
        "test",
        rawConfig(values),
        async () => {
            const cfg = loadConfig();
            const provider = new k8s.Provider("k8s", {});
            const cluster: ClusterHandle = {
                provider,
                gpuNodeGroups: gpuNodeGroupsFromConfig(cfg),
                aws: cfg.cluster.existing
                    ? undefined
                    : {
                          clusterName: pulumi.output("miles-test"),
                          network: {
                              vpcId: pulumi.output("vpc-1"),
                              gpuSubnetId: pulumi.output("subnet-1"),
                              privateSubnetIds: pulumi.output(["subnet-1"]),
                              nodeSecurityGroupId: pulumi.output("sg-1"),
                              vpcCidr: pulumi.output("10.0.0.0/16"),
                          },
                          ready: [],
                      },
            };
            const namespace = new TrainingNamespace("training-ns", { name: cfg.training.namespace, provider });
            const storage: StorageHandle = {
                claimName: "shared",
                ready: [],
                bucket: opts.bucketArn ? { name: pulumi.output("ckpt"), arn: pulumi.output(opts.bucketArn) } : undefined,
            };
            out.addons = new ClusterAddons("addons", { addons: cfg.addons, stack: cfg.stack, cluster, namespace, storage });
            return {};
        },
    );
    if (out.plan.problems.length > 0) throw new Error(out.plan.problems.map((p) => `${p.path}: ${p.message}`).join("\n"));
    return out;
}

function release(p: Plan, releaseName: string): RecordedResource {
    const rs = ofType(p, RELEASE).filter((r) => r.inputs.name === releaseName);
    assert.equal(rs.length, 1, `expected one Helm release ${releaseName}, found ${rs.length}`);
    return rs[0];
}

function releaseNames(p: Plan): string[] {
    return ofType(p, RELEASE)
        .map((r) => String(r.inputs.name))
        .sort();
}

/**
 * Validates a Kubernetes object with kubernetes-models (an ESM-only package: loaded with a dynamic
 * import, and typed here because this project's `node` module resolution cannot see its exports).
 */
async function validateK8s(modulePath: string, kind: string, obj: unknown): Promise<void> {
    const mod = (await import(modulePath)) as Record<string, new (o: unknown) => { validate(): void }>;
    new mod[kind](obj).validate();
}

const landing = (cov: ReturnType<typeof daemonSetCoverage>) => cov.filter((c) => c.lands).map((c) => c.group);

describe("cluster add-ons", function () {
    this.timeout(30000);
    let four: Built;
    before(async () => {
        four = await planAddons({ ...FOUR_GROUPS, "miles-cluster:addons": { trainingS3Access: true } }, { bucketArn: "arn:aws:s3:::acme-ckpt" });
    });

    describe("Helm releases (chart, repo, version, namespace)", () => {
        const expected: Array<[string, ChartPin, string]> = [
            ["nvidia-device-plugin", CHARTS.nvidiaDevicePlugin, "kube-system"],
            ["aws-efa-k8s-device-plugin", CHARTS.efaDevicePlugin, "kube-system"],
            ["kuberay-operator", CHARTS.kuberayOperator, "miles-system"],
            ["dcgm-exporter", CHARTS.dcgmExporter, "kube-system"],
        ];
        for (const [name, { chart, repo, version }, ns] of expected) {
            it(`${name}: ${chart} ${version} from ${repo} in ${ns}`, () => {
                const r = release(four.plan, name);
                assert.equal(r.inputs.chart, chart);
                assert.deepEqual(r.inputs.repositoryOpts, { repo });
                assert.equal(r.inputs.version, version);
                assert.equal(r.inputs.namespace, ns);
                assert.equal(r.inputs.createNamespace, false);
            });
        }

        it("device plugins and the operator roll back on failure; DCGM never blocks a deploy", () => {
            for (const n of ["nvidia-device-plugin", "aws-efa-k8s-device-plugin", "kuberay-operator"]) {
                const r = release(four.plan, n);
                assert.equal(r.inputs.atomic, true, n);
                assert.equal(r.inputs.skipAwait, false, n);
            }
            const d = release(four.plan, "dcgm-exporter");
            assert.equal(d.inputs.skipAwait, true);
            assert.equal(d.inputs.atomic, false);
        });

        it("creates the miles-system namespace for the operator (and kueue-system for Kueue)", () => {
            const ns = ofType(four.plan, "kubernetes:core/v1:Namespace").map((r) => (r.inputs.metadata as { name: string }).name);
            assert.deepEqual(ns.sort(), ["kueue-system", "miles", "miles-monitoring", "miles-system"]);
        });
    });

    describe("NVIDIA device plugin", () => {
        it("keeps GFD and NFD off (NFD worker's nvidia.com/gpu=present toleration, k8s-device-plugin #1934)", () => {
            const v = release(four.plan, "nvidia-device-plugin").inputs.values as Record<string, { enabled: boolean }>;
            assert.equal(v.gfd.enabled, false);
            assert.equal(v.nfd.enabled, false);
        });

        it("zero-pods proof: one pod per node on every AL2023 group (p5 and p5en), none on Bottlerocket", () => {
            const cfg = parseConfig(rawConfig(FOUR_GROUPS), { stack: "test" }).config!;
            const placement = nvidiaDevicePluginPlacement(release(four.plan, "nvidia-device-plugin").inputs.values as Record<string, unknown>);
            const cov = daemonSetCoverage(placement, gpuNodeGroupsFromConfig(cfg));
            assert.deepEqual(landing(cov), ["al-p5", "al-p5en"]);
            // A DaemonSet puts one pod on each matching node: 2 + 3 pods.
            assert.equal(
                cov.filter((c) => c.lands).reduce((s, c) => s + c.nodes, 0),
                5,
            );
            const br = cov.find((c) => c.group === "br-p5")!;
            assert.match(br.reasons.join(";"), /affinity/);
        });

        it("the proof can fail: without the GPU toleration no group gets a pod", () => {
            const cfg = parseConfig(rawConfig(FOUR_GROUPS), { stack: "test" }).config!;
            const values = { ...(release(four.plan, "nvidia-device-plugin").inputs.values as Record<string, unknown>), tolerations: [{ key: "CriticalAddonsOnly", operator: "Exists" }] };
            assert.deepEqual(landing(daemonSetCoverage(nvidiaDevicePluginPlacement(values), gpuNodeGroupsFromConfig(cfg))), []);
        });
    });

    describe("EFA device plugin", () => {
        it("selects the EFA label instead of the chart's instance-type allowlist and tolerates the GPU taint", () => {
            const v = release(four.plan, "aws-efa-k8s-device-plugin").inputs.values as Record<string, unknown>;
            assert.deepEqual(v.supportedInstanceLabels, { keys: ["vpc.amazonaws.com/efa.present"], values: ["true"] });
            assert.deepEqual(v.tolerations, [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
        });

        it("zero-pods proof: a pod on every node of every EFA group, AL2023 and Bottlerocket, p5 and p5en", () => {
            const cfg = parseConfig(rawConfig(FOUR_GROUPS), { stack: "test" }).config!;
            const placement = efaDevicePluginPlacement(release(four.plan, "aws-efa-k8s-device-plugin").inputs.values as Record<string, unknown>);
            const cov = daemonSetCoverage(placement, gpuNodeGroupsFromConfig(cfg));
            assert.deepEqual(landing(cov), ["al-p5", "al-p5en", "br-p5", "br-p5en"]);
            assert.equal(
                cov.reduce((s, c) => s + c.nodes, 0),
                10,
            );
        });
    });

    describe("DCGM exporter", () => {
        it("runs on every GPU group (Bottlerocket too) and creates no ServiceMonitor by default", () => {
            const cfg = parseConfig(rawConfig(FOUR_GROUPS), { stack: "test" }).config!;
            const v = release(four.plan, "dcgm-exporter").inputs.values as Record<string, { enabled: boolean }>;
            // The chart's own default is true, which fails without the Prometheus operator CRDs.
            assert.equal(v.serviceMonitor.enabled, false);
            assert.deepEqual(landing(daemonSetCoverage(dcgmExporterPlacement(v), gpuNodeGroupsFromConfig(cfg))), ["al-p5", "al-p5en", "br-p5", "br-p5en"]);
        });

        it("serviceMonitor: true turns the chart's ServiceMonitor on", async () => {
            // Only without miles-cluster's monitoring (which creates its own ServiceMonitor for the exporter).
            const b = await planAddons({ ...FOUR_GROUPS, "miles-cluster:addons": { dcgmExporter: { serviceMonitor: true }, monitoring: { enabled: false } } });
            assert.equal((release(b.plan, "dcgm-exporter").inputs.values as Record<string, { enabled: boolean }>).serviceMonitor.enabled, true);
        });
    });

    describe("KubeRay operator and CRDs", () => {
        it("the release skips its CRDs; a Job named after the version applies them server-side", async () => {
            assert.equal(release(four.plan, "kuberay-operator").inputs.skipCrds, true);
            const jobs = ofType(four.plan, "kubernetes:batch/v1:Job");
            assert.equal(jobs.length, 1);
            const job = jobs[0].inputs as { metadata: { name: string; namespace: string }; spec: any };
            assert.equal(job.metadata.name, crdJobNameOf(KUBERAY));
            assert.equal(job.metadata.namespace, "miles-system");
            const apply = job.spec.template.spec.containers[0];
            assert.equal(apply.image, `${IMAGES.kubectl.repository}:${IMAGES.kubectl.tag}`);
            for (const flag of ["apply", "--server-side", "--force-conflicts"]) assert.ok(apply.args.includes(flag), flag);
            for (const f of ["ray.io_rayclusters.yaml", "ray.io_rayjobs.yaml", "ray.io_rayservices.yaml", "ray.io_raycronjobs.yaml"]) assert.ok(apply.args.includes(`/crds/${f}`), f);
            const script: string = job.spec.template.spec.initContainers[0].command[2];
            assert.ok(script.includes(`https://raw.githubusercontent.com/ray-project/kuberay/v${KUBERAY}/ray-operator/config/crd/bases/ray.io_rayjobs.yaml`), script);
            for (const crd of KUBERAY_CRDS) assert.ok(script.includes(`${crd.sha256}  ${crd.file}`), crd.file);
            // sha256 of ray.io_rayjobs.yaml at v1.7.0 (blob c7d3f08, same blob as ../shared/schemas/README.md
            // names): an independent check of the pinned hash while the pin is 1.7.0.
            if (KUBERAY === "1.7.0") assert.match(script, /01a5cf3b17c1769fda44af7e82debcd98722f0c27b9ab84d084681c6649121f5 {2}ray\.io_rayjobs\.yaml/);
            assert.match(script, /sha256sum -c/);
            await validateK8s("kubernetes-models/batch/v1", "Job", job);
        });

        it("object validation can fail (a Job container without image name)", async () => {
            const job = ofType(four.plan, "kubernetes:batch/v1:Job")[0].inputs as any;
            const broken = { ...job, spec: { ...job.spec, template: { spec: { ...job.spec.template.spec, containers: [{ image: "x" }] } } } };
            await assert.rejects(validateK8s("kubernetes-models/batch/v1", "Job", broken));
        });

        it("the CRD installer may only write CRDs (by name for patch)", async () => {
            const role = ofType(four.plan, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").find((r) => (r.inputs as any).rules.some((x: any) => x.resources.includes("customresourcedefinitions")))!.inputs as any;
            await validateK8s("kubernetes-models/rbac.authorization.k8s.io/v1", "ClusterRole", role);
            for (const rule of role.rules) {
                assert.deepEqual(rule.apiGroups, ["apiextensions.k8s.io"]);
                assert.deepEqual(rule.resources, ["customresourcedefinitions"]);
            }
            const patch = role.rules.find((r: any) => r.verbs.includes("patch"));
            assert.deepEqual([...patch.resourceNames].sort(), ["rayclusters.ray.io", "raycronjobs.ray.io", "rayjobs.ray.io", "rayservices.ray.io"]);
        });

        it("the handle's ready list holds the CRD job, the operator and both device plugins", () => {
            const a = four.addons!;
            assert.ok(a.ready.includes(a.kuberay!.crdJob!));
            assert.ok(a.ready.includes(a.kuberay!.release));
            assert.ok(a.ready.includes(a.nvidiaDevicePlugin!.release));
            assert.ok(a.ready.includes(a.efaDevicePlugin!.release));
            assert.ok(!a.ready.includes(a.dcgmExporter!.release));
        });

        it("manageCrds: false lets Helm install the CRDs and creates no Job", async () => {
            const b = await planAddons({ ...FOUR_GROUPS, "miles-cluster:addons": { kuberay: { manageCrds: false } } });
            assert.equal(release(b.plan, "kuberay-operator").inputs.skipCrds, false);
            assert.equal(ofType(b.plan, "kubernetes:batch/v1:Job").length, 0);
        });
    });

    describe("training identity", () => {
        it("a service account in the training namespace", async () => {
            const sas = ofType(four.plan, "kubernetes:core/v1:ServiceAccount").filter((r) => (r.inputs.metadata as any).name === "miles-training");
            assert.equal(sas.length, 1);
            assert.equal((sas[0].inputs.metadata as any).namespace, "miles");
            await validateK8s("kubernetes-models/v1", "ServiceAccount", sas[0].inputs);
        });

        it("an IAM role trusted by pods.eks.amazonaws.com and associated with that service account", () => {
            const role = ofType(four.plan, "aws:iam/role:Role");
            assert.equal(role.length, 1);
            const trust = JSON.parse(role[0].inputs.assumeRolePolicy as string);
            assert.deepEqual(trust.Statement[0].Principal, { Service: "pods.eks.amazonaws.com" });
            assert.deepEqual([...trust.Statement[0].Action].sort(), ["sts:AssumeRole", "sts:TagSession"]);
            const pia = ofType(four.plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation");
            assert.equal(pia.length, 1);
            assert.equal(pia[0].inputs.clusterName, "miles-test");
            assert.equal(pia[0].inputs.namespace, "miles");
            assert.equal(pia[0].inputs.serviceAccount, "miles-training");
        });

        it("its policies reach the checkpoint bucket and the stack's log group, nothing else", () => {
            const pol = ofType(four.plan, "aws:iam/rolePolicy:RolePolicy");
            assert.deepEqual(pol.map((r) => r.name).sort(), ["addons-training-identity-checkpoints", "addons-training-identity-logs"]);
            // The logs policy names the log group's ARN, known only after deploy (its document: test/monitoring.test.ts).
            const doc = JSON.parse(pol.find((r) => r.name.endsWith("-checkpoints"))!.inputs.policy as string);
            const resources = doc.Statement.flatMap((s: any) => [s.Resource].flat()).sort();
            assert.deepEqual(resources, ["arn:aws:s3:::acme-ckpt", "arn:aws:s3:::acme-ckpt/*"]);
            const actions: string[] = doc.Statement.flatMap((s: any) => [s.Action].flat());
            assert.ok(actions.includes("s3:ListBucket") && actions.includes("s3:GetObject") && actions.includes("s3:PutObject") && actions.includes("s3:DeleteObject"));
            assert.ok(!actions.some((a) => a.includes("*")), "no wildcard actions");
            assert.ok(!actions.some((a) => /^s3:(PutBucket|DeleteBucket|PutObjectAcl)/.test(a)), "no bucket-level or ACL writes");
        });

        it("the S3 grant is opt-in: with a bucket but without trainingS3Access the role has no S3 policy", async () => {
            const b = await planAddons(FOUR_GROUPS, { bucketArn: "arn:aws:s3:::acme-ckpt" });
            assert.equal(ofType(b.plan, "aws:iam/role:Role").length, 1);
            assert.deepEqual(s3Policies(b.plan), []);
        });

        it("no bucket (EFS, existing claim): the role has no S3 policy", async () => {
            const b = await planAddons(FOUR_GROUPS);
            assert.equal(ofType(b.plan, "aws:iam/role:Role").length, 1);
            assert.deepEqual(s3Policies(b.plan), []);
        });

        it("a custom service account name is used for the account and the association", async () => {
            const b = await planAddons({ ...FOUR_GROUPS, "miles-cluster:addons": { trainingServiceAccount: "rl-runner" } });
            assert.equal(ofType(b.plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation")[0].inputs.serviceAccount, "rl-runner");
            assert.equal(b.addons!.serviceAccountName, "rl-runner");
        });
    });

    describe("switches", () => {
        it("efaDevicePlugin.imageRepository overrides the chart's us-west-2 image", async () => {
            const repo = "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/aws-efa-k8s-device-plugin";
            const b = await planAddons({ ...FOUR_GROUPS, "miles-cluster:addons": { efaDevicePlugin: { imageRepository: repo } } });
            assert.deepEqual((release(b.plan, "aws-efa-k8s-device-plugin").inputs.values as Record<string, unknown>).image, { repository: repo });
        });

        it("every add-on can be turned off; the service account remains", async () => {
            const b = await planAddons({
                ...FOUR_GROUPS,
                "miles-cluster:addons": { nvidiaDevicePlugin: { enabled: false }, efaDevicePlugin: { enabled: false }, kuberay: { enabled: false }, dcgmExporter: { enabled: false }, monitoring: { enabled: false }, kueue: { enabled: false } },
            });
            assert.deepEqual(releaseNames(b.plan), []);
            assert.equal(ofType(b.plan, "kubernetes:batch/v1:Job").length, 0);
            // The node check stays: the GPU nodes' health-pending startup taint is lifted by nothing else; and the
            // runs' node watchers' account (docs/lifecycle.md "Node health during a run").
            assert.deepEqual(ofType(b.plan, "kubernetes:core/v1:ServiceAccount").map((r) => (r.inputs as any).metadata.name).sort(), ["miles-node-check", "miles-node-watch", "miles-training"]);
        });

        it("the node check may only get and patch nodes, and its DaemonSet validates against the Kubernetes schema", async () => {
            const role = ofType(four.plan, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").find((r) => (r.inputs as any).metadata.name === "miles-node-check")!.inputs as any;
            assert.deepEqual(role.rules, [{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "patch"] }]);
            const ds = ofType(four.plan, "kubernetes:apps/v1:DaemonSet").filter((r) => String((r.inputs as any).metadata.name).startsWith("miles-node-check-"));
            assert.ok(ds.length > 0);
            for (const d of ds) await validateK8s("kubernetes-models/apps/v1", "DaemonSet", d.inputs);
        });
    });

    describe("bring your own cluster", () => {
        it("creates no aws: resource; cluster-wide add-ons opt-in (issue 21): all installed when asked, EFA plugin off", async () => {
            const b = await planAddons(BYO({}, ALL_CLUSTER_WIDE));
            assert.deepEqual(
                b.plan.resources.filter((r) => r.type.startsWith("aws:")).map((r) => r.type),
                [],
            );
            assert.deepEqual(releaseNames(b.plan), ["dcgm-exporter", "kuberay-operator", "kueue", "nvidia-device-plugin"]);
            assert.equal(ofType(b.plan, "kubernetes:core/v1:ServiceAccount").filter((r) => (r.inputs.metadata as any).name === "miles-training").length, 1);
        });

        it("GPU nodes selected by a custom label and taint get the plugin", async () => {
            const gpuNodes = { selector: { "node.coreweave.cloud/class": "gpu" }, taint: { key: "gpu", value: "h100", effect: "NoExecute" }, efaPerNode: 0 };
            const values = BYO(gpuNodes, ALL_CLUSTER_WIDE);
            const b = await planAddons(values);
            const cfg = parseConfig(rawConfig(values), { stack: "test" }).config!;
            const cov = daemonSetCoverage(nvidiaDevicePluginPlacement(release(b.plan, "nvidia-device-plugin").inputs.values as Record<string, unknown>), gpuNodeGroupsFromConfig(cfg));
            assert.deepEqual(landing(cov), ["gpu"]);
            const dcgm = daemonSetCoverage(dcgmExporterPlacement(release(b.plan, "dcgm-exporter").inputs.values as Record<string, unknown>), gpuNodeGroupsFromConfig(cfg));
            assert.deepEqual(landing(dcgm), ["gpu"]);
        });

        it("EFA plugin when asked: lands on EFA nodes selected by their own label", async () => {
            const values = BYO({ selector: { "node.kubernetes.io/instance-type": "p5.48xlarge" }, efaPerNode: 32, instanceType: "p5.48xlarge" }, { efaDevicePlugin: { enabled: true } });
            const b = await planAddons(values);
            const cfg = parseConfig(rawConfig(values), { stack: "test" }).config!;
            const v = release(b.plan, "aws-efa-k8s-device-plugin").inputs.values as Record<string, unknown>;
            assert.deepEqual(v.supportedInstanceLabels, { keys: ["node.kubernetes.io/instance-type"], values: ["p5.48xlarge"] });
            assert.deepEqual(landing(daemonSetCoverage(efaDevicePluginPlacement(v), gpuNodeGroupsFromConfig(cfg))), ["gpu"]);
        });
    });
});

describe("add-ons wired into the program", function () {
    this.timeout(60000);

    it("the whole program installs every add-on, with the storage bucket in the training policy", async () => {
        // `training: {}`: the default run (a stack without the key has no run, and so no run lifecycle).
        const p = await planConfig({ ...FOUR_GROUPS, "miles-cluster:training": {} });
        // The Cluster Autoscaler too: FOUR_GROUPS has on-demand/spot groups, which scale from zero (test/autoscaling.test.ts).
        assert.deepEqual(releaseNames(p), ["aws-efa-k8s-device-plugin", "cluster-autoscaler", "dcgm-exporter", "kuberay-operator", "kueue", "monitoring", "nvidia-device-plugin"]);
        // The training identity's, the Cluster Autoscaler's and the run lifecycle's CloudWatch reader (test/runLifecycle.test.ts).
        assert.deepEqual(ofType(p, "aws:eks/podIdentityAssociation:PodIdentityAssociation").map((r) => r.parent?.type).sort(), ["miles-cluster:addons:TrainingIdentity", "miles-cluster:cluster:ClusterAutoscaler", "miles-cluster:training:RunLifecycle"]);
        // The training identity's, and the run lifecycle's CloudWatch reader (test/runLifecycle.test.ts).
        assert.deepEqual(ofType(p, "aws:eks/podIdentityAssociation:PodIdentityAssociation").map((r) => r.parent?.type).sort(), ["miles-cluster:addons:TrainingIdentity", "miles-cluster:cluster:ClusterAutoscaler", "miles-cluster:training:RunLifecycle"]);
        // FSx with a created bucket: FSx does the S3 I/O, so the training role gets no bucket policy unless trainingS3Access.
        // Its only policy is the log shipping's.
        assert.deepEqual(ofType(p, "aws:iam/rolePolicy:RolePolicy").filter((r) => r.parent?.type === "miles-cluster:addons:TrainingIdentity").map((r) => r.name), ["addons-training-identity-logs"]);
        assert.equal(p.outputs.trainingServiceAccount, "miles-training");
        const nv = p.summary!.addons.nvidiaDevicePlugin as { groupsCovered: number };
        assert.equal(nv.groupsCovered, 2);
    });

    it("a bring-your-own stack creates no aws: resource at all", async () => {
        const p = await planConfig(BYO({ efaPerNode: 0 }, ALL_CLUSTER_WIDE));
        const aws = p.resources.filter((r) => r.type.startsWith("aws:") || r.type.startsWith("pulumi:providers:aws"));
        assert.deepEqual(
            aws.map((r) => `${r.type} ${r.name}`),
            [],
        );
        assert.deepEqual(releaseNames(p), ["dcgm-exporter", "kuberay-operator", "kueue", "nvidia-device-plugin"]);
    });
});

describe("add-ons in the plan summary", function () {
    this.timeout(30000);
    const cfg = () => parseConfig(rawConfig(FOUR_GROUPS), { stack: "test" }).config!;

    it("lists each add-on with its version and on how many GPU groups it runs", async () => {
        const b = await planAddons(FOUR_GROUPS);
        const s = b.plan.summary!;
        const nv = s.addons.nvidiaDevicePlugin as { version: string; groupsCovered: number; groupsTotal: number };
        assert.equal(nv.version, CHARTS.nvidiaDevicePlugin.version);
        assert.equal(nv.groupsCovered, 2);
        assert.equal(nv.groupsTotal, 4);
        const text = new Map(s.lines.addons);
        const nvV = escape(CHARTS.nvidiaDevicePlugin.version);
        assert.match(text.get("nvidia device plugin")!, new RegExp(`nvidia-device-plugin ${nvV} \\(kube-system\\): on 2 of 4 GPU groups \\(al-p5 ×2, al-p5en ×3\\); not on br-p5, br-p5en: Bottlerocket ships its own`));
        assert.match(text.get("efa device plugin")!, new RegExp(`aws-efa-k8s-device-plugin ${escape(CHARTS.efaDevicePlugin.version)} \\(kube-system\\): on 4 of 4 GPU groups`));
        assert.match(text.get("kuberay operator")!, new RegExp(`kuberay-operator ${escape(KUBERAY)} \\(miles-system\\); CRDs applied server-side by job ${crdJobNameOf(KUBERAY)}`));
        assert.deepEqual(
            s.warnings.filter((w) => w.startsWith("addons:")),
            [],
        );
    });

    it("warns, before deploying, when a device plugin's values would leave a GPU group without pods", () => {
        const ev = { resources: [{ type: "kubernetes:helm.sh/v3:Release", name: "x", custom: true, inputs: { name: "nvidia-device-plugin", values: { tolerations: [] } } }], outputs: {} };
        const r = addonsSection(resolveStack(cfg()), ev);
        assert.deepEqual(
            r.warnings!.filter((w) => w.includes("nvidia-device-plugin would run no pod")).map((w) => w.match(/GPU group (\S+)/)![1]),
            ["al-p5", "al-p5en"],
        );
    });

    it("warns when the NVIDIA plugin is off on a cluster with AL2023 GPU groups", () => {
        const c = parseConfig(rawConfig({ ...FOUR_GROUPS, "miles-cluster:addons": { nvidiaDevicePlugin: { enabled: false } } }), { stack: "test" }).config!;
        const r = addonsSection(resolveStack(c), { resources: [], outputs: {} });
        assert.ok(r.warnings!.some((w) => /Insufficient nvidia\.com\/gpu/.test(w)));
        assert.match(new Map(r.lines).get("nvidia device plugin")!, /^off/);
    });
});

describe("addons config", () => {
    const parse = (values: Record<string, unknown>) => parseConfig(rawConfig(values), { stack: "test" });

    it("defaults: everything on (on our EKS cluster), ServiceMonitor off, miles-system, miles-training", () => {
        const cfg = parse(FOUR_GROUPS).config!;
        const a = cfg.addons;
        // The cluster-wide switches are unset: on for a cluster miles-cluster creates, off on a bring-your-own one (issue 21).
        for (const k of ["nvidiaDevicePlugin", "kuberay", "dcgmExporter", "kueue"] as const) {
            assert.equal(a[k].enabled, undefined, k);
            assert.equal(clusterWideAddonEnabled(cfg, k), true, k);
            assert.equal(clusterWideAddonEnabled({ ...cfg, cluster: { ...cfg.cluster, existing: {} as never } }, k), false, `${k} on a bring-your-own cluster`);
        }
        assert.equal(a.efaDevicePlugin.enabled, undefined);
        assert.equal(a.kuberay.manageCrds, true);
        assert.equal(a.dcgmExporter.serviceMonitor, false);
        assert.equal(a.namespace, "miles-system");
        assert.equal(a.trainingServiceAccount, "miles-training");
    });

    it("rejects a ServiceMonitor without the exporter", () => {
        const r = parse({ ...FOUR_GROUPS, "miles-cluster:addons": { dcgmExporter: { enabled: false, serviceMonitor: true } } });
        assert.deepEqual(
            r.problems.map((p) => p.path),
            ["addons.dcgmExporter.serviceMonitor"],
        );
    });

    it("rejects the training namespace or kube-system as the add-on namespace", () => {
        assert.deepEqual(
            parse({ ...FOUR_GROUPS, "miles-cluster:addons": { namespace: "miles" } }).problems.map((p) => p.path),
            ["addons.namespace"],
        );
        assert.match(parse({ ...FOUR_GROUPS, "miles-cluster:addons": { namespace: "kube-system" } }).problems[0].message, /built-in/);
    });

    it("rejects the EFA plugin on a bring-your-own cluster whose nodes have no EFA", () => {
        const r = parse(BYO({}, { efaDevicePlugin: { enabled: true } }));
        assert.deepEqual(
            r.problems.map((p) => p.path),
            ["addons.efaDevicePlugin.enabled"],
        );
        assert.match(r.problems[0].message, /efaPerNode is 0/);
    });

    it("rejects unknown keys with a hint", () => {
        const r = parse({ ...FOUR_GROUPS, "miles-cluster:addons": { dcgmExporter: { servicemonitor: true } } });
        assert.equal(r.problems[0].path, "addons.dcgmExporter.servicemonitor");
        assert.match(r.problems[0].message, /serviceMonitor/);
    });
});

/** GpuCluster under Pulumi mocks: the resources a stack really registers, field by field. */
import { strict as assert } from "node:assert";
import { planConfig, ofType, one, rawConfig } from "./harness";
import type { Plan } from "../plan/run";
import type { RecordedResource } from "../plan/evaluate";
import { evaluate } from "../plan/evaluate";
import { GpuNodeGroup } from "../components/gpuNodeGroup";
import type { GpuNodeGroupConfig } from "../config/cluster";

const T = {
    lt: "aws:ec2/launchTemplate:LaunchTemplate",
    ng: "aws:eks/nodeGroup:NodeGroup",
    pg: "aws:ec2/placementGroup:PlacementGroup",
    addon: "aws:eks/addon:Addon",
};
const CB = "cr-0123456789abcdef0";
const ODCR = "cr-0fedcba9876543210";

/** Every resource in the tree under the top GpuCluster component named `cluster` (itself included). */
function clusterTree(p: Plan): RecordedResource[] {
    const key = (type: string, name: string) => `${type}::${name}`;
    const parentOf = new Map(p.resources.map((r) => [key(r.type, r.name), r.parent]));
    const underCluster = (r: RecordedResource): boolean => {
        let cur: { type: string; name: string } | undefined = { type: r.type, name: r.name };
        for (let i = 0; cur && i < 20; i++) {
            if (cur.type === "miles-cluster:cluster:GpuCluster" && cur.name === "cluster") return true;
            cur = parentOf.get(key(cur.type, cur.name));
        }
        return false;
    };
    return p.resources.filter(underCluster);
}

function typeCounts(rs: RecordedResource[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of rs) out[r.type] = (out[r.type] ?? 0) + 1;
    return out;
}

const lt = (p: Plan, group: string) => one(p, T.lt, `cluster-gpu-${group}-lt`).inputs as Record<string, any>;
const ng = (p: Plan, group: string) => one(p, T.ng, `cluster-gpu-${group}-ng`).inputs as Record<string, any>;
const pgOf = (p: Plan, group: string) => ofType(p, T.pg).filter((r) => r.name === `cluster-gpu-${group}-pg`);

/** The part of the cluster that does not depend on the GPU groups (hand-counted from the design). */
const BASE_COUNTS: Record<string, number> = {
    "miles-cluster:cluster:GpuCluster": 1,
    "miles-cluster:aws:ClusterNetwork": 1,
    "miles-cluster:aws:EksControlPlane": 1,
    "miles-cluster:aws:EksNodeAddons": 1,
    "miles-cluster:aws:SystemNodeGroup": 1,
    "miles-cluster:aws:EksClusterAddons": 1,
    // network: VPC, IGW, public + private route tables, 2 zones × (private + public subnet + 2 associations), EIP, NAT, S3 endpoint, 3 SGs
    "aws:ec2/vpc:Vpc": 1,
    "aws:ec2/internetGateway:InternetGateway": 1,
    "aws:ec2/routeTable:RouteTable": 2,
    "aws:ec2/subnet:Subnet": 4,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": 4,
    "aws:ec2/eip:Eip": 1,
    "aws:ec2/natGateway:NatGateway": 1,
    "aws:ec2/vpcEndpoint:VpcEndpoint": 1,
    "aws:ec2/securityGroup:SecurityGroup": 3,
    // the VPC's default security group adopted and closed; flow logs: log group, role + policy, flow log
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 1,
    "aws:ec2/flowLog:FlowLog": 1,
    "aws:iam/rolePolicy:RolePolicy": 1,
    // control plane: KMS key + alias, log group, cluster; roles: cluster, node, vpc-cni, ebs-csi (monitoring volumes), flow logs ( none for the FSx CSI controller: static volume); 1 + 2 + 1 + 1 policy attachments
    "aws:kms/key:Key": 1,
    "aws:kms/alias:Alias": 1,
    "aws:cloudwatch/logGroup:LogGroup": 2,
    "aws:eks/cluster:Cluster": 1,
    "aws:iam/role:Role": 5,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 5,
    // seven managed add-ons (aws-ebs-csi-driver for the monitoring volumes, on by default), system launch template + node group, the Kubernetes provider
    "aws:eks/addon:Addon": 7,
    "aws:ec2/launchTemplate:LaunchTemplate": 1,
    "aws:eks/nodeGroup:NodeGroup": 1,
    "pulumi:providers:kubernetes": 1,
};

function plus(base: Record<string, number>, add: Record<string, number>): Record<string, number> {
    const out = { ...base };
    for (const [k, v] of Object.entries(add)) out[k] = (out[k] ?? 0) + v;
    return out;
}

describe("GpuCluster under mocks", function () {
    this.timeout(60000);

    describe("2 × p5.48xlarge on a Capacity Block (issue 3, done-when stack 1)", () => {
        let p: Plan;
        before(async () => {
            p = await planConfig({
                "aws:region": "us-east-1",
                "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "cb", instanceType: "p5.48xlarge", nodes: 2, capacity: { type: "capacity-block", reservationId: CB } }] },
            });
        });

        it("creates the complete resource set: base + one launch template and node group, no placement group", () => {
            assert.deepEqual(typeCounts(clusterTree(p)), plus(BASE_COUNTS, { "miles-cluster:aws:GpuNodeGroup": 1, [T.lt]: 1, [T.ng]: 1, "aws:autoscaling/schedule:Schedule": 1 }));
        });

        it("node group: CAPACITY_BLOCK, no instanceTypes, AL2023 NVIDIA, created empty (0/0/2) in the GPU subnet, repair on, MINIMAL updates", () => {
            const g = ng(p, "cb");
            assert.equal(g.capacityType, "CAPACITY_BLOCK");
            assert.ok(!("instanceTypes" in g), "a Capacity Block node group must not set instanceTypes");
            assert.equal(g.amiType, "AL2023_x86_64_NVIDIA");
            // Created empty: launching before the block starts fails; the block's scheduled actions size it.
            assert.deepEqual(g.scalingConfig, { minSize: 0, desiredSize: 0, maxSize: 2 });
            assert.deepEqual(one(p, T.ng, "cluster-gpu-cb-ng").options?.ignoreChanges, ["scalingConfig.desiredSize"]);
            assert.equal(g.forceUpdateVersion, false);
            assert.equal(g.subnetIds.length, 1);
            assert.deepEqual(g.nodeRepairConfig, { enabled: true });
            assert.equal(g.updateConfig.updateStrategy, "MINIMAL");
            assert.equal(g.nodeGroupName, "cb");
        });

        it("launch template: capacity-block market, the reservation target, the instance type, no placement", () => {
            const t = lt(p, "cb");
            assert.deepEqual(t.instanceMarketOptions, { marketType: "capacity-block" });
            assert.deepEqual(t.capacityReservationSpecification, { capacityReservationTarget: { capacityReservationId: CB } });
            assert.equal(t.instanceType, "p5.48xlarge");
            assert.equal(t.placement, undefined);
            assert.equal(pgOf(p, "cb").length, 0);
        });

        it("launch template: 32 interfaces (efa primary + 31 efa-only), 3 security groups each, IMDSv2, encrypted root, no subnet", () => {
            const t = lt(p, "cb");
            assert.equal(t.networkInterfaces.length, 32);
            assert.deepEqual(
                t.networkInterfaces.map((n: any) => `${n.networkCardIndex}/${n.deviceIndex}/${n.interfaceType}`),
                ["0/0/efa", ...Array.from({ length: 31 }, (_, i) => `${i + 1}/1/efa-only`)],
            );
            for (const n of t.networkInterfaces) {
                assert.equal(n.securityGroups.length, 3);
                assert.equal(n.subnetId, undefined);
            }
            assert.equal(t.vpcSecurityGroupIds, undefined, "interfaces carry the groups; the template cannot also have instance-level ones");
            assert.equal(t.metadataOptions.httpTokens, "required");
            assert.deepEqual(t.blockDeviceMappings, [{ deviceName: "/dev/xvda", ebs: { volumeSize: 200, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }]);
            assert.equal(t.imageId, undefined, "no AMI id: EKS picks the NVIDIA AMI and merges its bootstrap");
        });

        it("GPU taint and the labels device plugins select on; FSx startup taint with FSx storage", () => {
            const g = ng(p, "cb");
            assert.deepEqual(g.taints, [
                { key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" },
                { key: "fsx.csi.aws.com/agent-not-ready", effect: "NO_EXECUTE" },
                { key: "miles-cluster.io/health-pending", effect: "NO_SCHEDULE" },
            ]);
            assert.deepEqual(g.labels, {
                "nvidia.com/gpu.present": "true",
                "vpc.amazonaws.com/efa.present": "true",
                "miles-cluster.io/node-group": "cb",
                "miles-cluster.io/ami-family": "al2023",
            });
        });

        it("the group is scaled up when the block starts by an ASG scheduled action (no config edit at the right minute)", () => {
            const s = one(p, "aws:autoscaling/schedule:Schedule").inputs as any;
            assert.deepEqual([s.minSize, s.maxSize, s.desiredCapacity], [0, 2, 2]);
            assert.match(s.scheduledActionName, /cr-0123456789abcdef0/);
            // No window in this config and no AWS under plan: two minutes after the deployment (never in the past).
            assert.ok(Date.parse(s.startTime) > Date.now());
            assert.deepEqual(one(p, "aws:autoscaling/schedule:Schedule").options?.ignoreChanges, ["startTime"]);
        });

        it("plan summary: EFA interfaces and Gbps per node, the block, and how the group is sized", () => {
            const line = p.summary!.lines.cluster.find(([l]) => l === "gpu group cb")![1];
            assert.match(line, /2 × p5\.48xlarge = 16 × H100 80GB; 32 EFA interfaces\/node \(3200 Gbps\); Capacity Block cr-0123456789abcdef0 \(CAPACITY_BLOCK; no placement group\)/);
            assert.match(p.summary!.lines.cluster.find(([l]) => l === "  cb scaling")![1], /created empty \(0 of 2\); an ASG scheduled action scales it to 2 when the block starts/);
        });
    });

    describe("4 × p5en.48xlarge on-demand (issue 3, done-when stack 2)", () => {
        let p: Plan;
        before(async () => {
            p = await planConfig({
                "aws:region": "us-west-2",
                "miles-cluster:cluster": { availabilityZone: "us-west-2b", gpuNodeGroups: [{ name: "h200", instanceType: "p5en.48xlarge", nodes: 4 }] },
                "miles-cluster:storage": { type: "efs" },
            });
        });

        it("creates the complete resource set: base + launch template, node group and a cluster placement group", () => {
            // On-demand autoscales: the Cluster Autoscaler (role, policy, Pod Identity, chart) and the group's 8 ASG tags
            // (discovery, GPUs, EFA, 4 labels, taint).
            assert.deepEqual(
                typeCounts(clusterTree(p)),
                plus(BASE_COUNTS, {
                    "miles-cluster:aws:GpuNodeGroup": 1,
                    [T.lt]: 1,
                    [T.ng]: 1,
                    [T.pg]: 1,
                    "miles-cluster:cluster:ClusterAutoscaler": 1,
                    // discovery + GPUs, EFA devices, huge pages + 4 labels + the GPU taint (domain/lifecycle/autoscaling.ts)
                    "aws:autoscaling/tag:Tag": 9,
                    "aws:iam/role:Role": 1,
                    "aws:iam/rolePolicy:RolePolicy": 1,
                    "aws:eks/podIdentityAssociation:PodIdentityAssociation": 1,
                    "kubernetes:helm.sh/v3:Release": 1,
                }),
            );
            assert.equal(one(p, T.pg, "cluster-gpu-h200-pg").inputs.strategy, "cluster");
        });

        it("node group ON_DEMAND with the instance type; template without market options or reservation, in the placement group", () => {
            const g = ng(p, "h200");
            assert.equal(g.capacityType, "ON_DEMAND");
            assert.deepEqual(g.instanceTypes, ["p5en.48xlarge"]);
            assert.deepEqual(g.scalingConfig, { minSize: 0, desiredSize: 0, maxSize: 4 });
            const t = lt(p, "h200");
            assert.equal(t.instanceMarketOptions, undefined);
            assert.equal(t.capacityReservationSpecification, undefined);
            assert.equal(t.instanceType, undefined);
            assert.ok(t.placement?.groupName, "placement group set");
            assert.equal(t.networkInterfaces.length, 16);
        });

        it("no FSx startup taint when storage is not FSx; the node check's startup taint always", () => {
            assert.deepEqual(ng(p, "h200").taints, [
                { key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" },
                { key: "miles-cluster.io/health-pending", effect: "NO_SCHEDULE" },
            ]);
        });

        it("network: VPC 10.0.0.0/16, private GPU-zone subnet, a second zone, NAT, S3 gateway endpoint, EFA group all-traffic to itself", () => {
            assert.equal(one(p, "aws:ec2/vpc:Vpc").inputs.cidrBlock, "10.0.0.0/16");
            const gpuSubnet = one(p, "aws:ec2/subnet:Subnet", "cluster-network-private-us-west-2b").inputs;
            assert.equal(gpuSubnet.availabilityZone, "us-west-2b");
            assert.equal(gpuSubnet.cidrBlock, "10.0.0.0/18");
            assert.equal(one(p, "aws:ec2/subnet:Subnet", "cluster-network-private-us-west-2a").inputs.availabilityZone, "us-west-2a");
            const s3 = one(p, "aws:ec2/vpcEndpoint:VpcEndpoint").inputs;
            assert.deepEqual([s3.serviceName, s3.vpcEndpointType], ["com.amazonaws.us-west-2.s3", "Gateway"]);
            const efa = one(p, "aws:ec2/securityGroup:SecurityGroup", "cluster-network-efa").inputs as any;
            assert.deepEqual(
                efa.ingress.map((r: any) => [r.protocol, r.self]),
                [["-1", true]],
            );
            assert.deepEqual(
                efa.egress.map((r: any) => [r.protocol, r.self]),
                [["-1", true]],
            );
        });

        it("EKS: access entries (API), KMS-encrypted secrets with a rotating key, control plane logs, private endpoint", () => {
            const c = one(p, "aws:eks/cluster:Cluster").inputs as any;
            assert.equal(c.accessConfig.authenticationMode, "API");
            assert.deepEqual(c.encryptionConfig.resources, ["secrets"]);
            assert.equal(one(p, "aws:kms/key:Key").inputs.enableKeyRotation, true);
            assert.deepEqual(c.enabledClusterLogTypes, ["api", "audit", "authenticator"]);
            assert.deepEqual([c.vpcConfig.endpointPrivateAccess, c.vpcConfig.endpointPublicAccess, c.vpcConfig.publicAccessCidrs], [true, false, undefined]);
            assert.equal(c.name, "miles-test");
            // The default is the newest EKS version in standard support on 2026-12-01 (catalog/eksVersions.ts).
            assert.equal(c.version, "1.35");
        });

        it("IAM: node role has exactly the worker-node and ECR read-only policies; CNI through Pod Identity; no AWS access for the FSx CSI controller", () => {
            const attached = (prefix: string) =>
                ofType(p, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                    .filter((r) => r.name.startsWith(prefix))
                    .map((r) => r.inputs.policyArn)
                    .sort();
            assert.deepEqual(attached("cluster-eks-node-role"), ["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"]);
            assert.deepEqual(attached("cluster-eks-cluster-role"), ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]);
            const addons = Object.fromEntries(ofType(p, T.addon).filter((r) => r.name.startsWith("cluster-")).map((r) => [r.inputs.addonName as string, r.inputs as any]));
            assert.deepEqual(Object.keys(addons).sort(), ["aws-ebs-csi-driver", "aws-fsx-csi-driver", "coredns", "eks-node-monitoring-agent", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"]);
            assert.equal(addons["vpc-cni"].podIdentityAssociations[0].serviceAccount, "aws-node");
            // The EBS CSI controller (monitoring volumes) gets exactly AmazonEBSCSIDriverPolicy through Pod Identity.
            assert.equal(addons["aws-ebs-csi-driver"].podIdentityAssociations[0].serviceAccount, "ebs-csi-controller-sa");
            assert.deepEqual(attached("cluster-addons-ebs-csi"), ["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]);
            // Static FSx volume: the controller calls no AWS API, so it gets no role (FSxFullAccess could delete any file system).
            assert.equal(addons["aws-fsx-csi-driver"].podIdentityAssociations, undefined);
            assert.ok(!ofType(p, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").some((r) => /AmazonFSxFullAccess/.test(String(r.inputs.policyArn))));
            const trust = JSON.parse(one(p, "aws:iam/role:Role", "cluster-node-addons-vpc-cni").inputs.assumeRolePolicy as string);
            assert.deepEqual(trust.Statement[0].Principal, { Service: "pods.eks.amazonaws.com" });
            assert.deepEqual(trust.Statement[0].Action, ["sts:AssumeRole", "sts:TagSession"]);
            const nma = JSON.parse(addons["eks-node-monitoring-agent"].configurationValues);
            assert.ok(nma.dcgmAgent.tolerations.some((t: any) => t.key === "nvidia.com/gpu" && t.operator === "Exists"));
        });

        it("system node group: untainted AL2023 on-demand, IMDSv2, encrypted root, node + EKS security groups", () => {
            const g = one(p, T.ng, "cluster-system-ng").inputs as any;
            assert.deepEqual([g.amiType, g.capacityType, g.instanceTypes, g.taints], ["AL2023_x86_64_STANDARD", "ON_DEMAND", ["m7i.xlarge"], undefined]);
            assert.deepEqual(g.scalingConfig, { minSize: 2, desiredSize: 2, maxSize: 2 });
            const t = one(p, T.lt, "cluster-system-lt").inputs as any;
            assert.equal(t.metadataOptions.httpTokens, "required");
            assert.equal(t.blockDeviceMappings[0].ebs.encrypted, "true");
            assert.equal(t.vpcSecurityGroupIds.length, 2);
        });

        it("outputs: cluster name, endpoint, node group names, kubeconfig as a secret", () => {
            assert.equal(p.outputs.clusterName, "miles-test");
            assert.deepEqual(p.outputs.gpuNodeGroupNames, ["h200"]);
            assert.equal(p.outputs.systemNodeGroupName, "system");
            assert.equal(p.outputs.kubeconfig, "[secret]");
            assert.ok("clusterEndpoint" in p.outputs);
        });

        it("plan summary: 16 EFA interfaces at 3200 Gbps, on-demand with a placement group, quota warning", () => {
            const line = p.summary!.lines.cluster.find(([l]) => l === "gpu group h200")![1];
            assert.match(line, /4 × p5en\.48xlarge = 32 × H200 141GB; 16 EFA interfaces\/node \(3200 Gbps\); on-demand \(ON_DEMAND; new cluster placement group\)/);
            assert.ok(p.summary!.warnings.some((w) => w.includes("768 vCPUs")), "4 × 192 vCPUs of quota");
        });
    });

    describe("ODCR, spot, Bottlerocket, public endpoint and an empty group in one stack", () => {
        let p: Plan;
        before(async () => {
            p = await planConfig({
                "aws:region": "us-east-1",
                "miles-cluster:cluster": {
                    availabilityZone: "us-east-1c",
                    endpoint: { publicAccessCidrs: ["203.0.113.0/24"] },
                    gpuNodeGroups: [
                        { name: "odcr", instanceType: "p5e.48xlarge", nodes: 2, capacity: { type: "capacity-reservation", reservationId: ODCR } },
                        { name: "odcr-pg", instanceType: "p5.48xlarge", nodes: 1, capacity: { type: "capacity-reservation", reservationId: ODCR }, placementGroup: { name: "my-odcr-pg" } },
                        { name: "spot", instanceType: "p5.48xlarge", nodes: 1, capacity: { type: "spot" }, amiFamily: "bottlerocket" },
                        { name: "later", instanceType: "p5.48xlarge", nodes: 0, capacity: { type: "capacity-block", reservationId: CB } },
                        { name: "nopg", instanceType: "p5.48xlarge", nodes: 1, placementGroup: false },
                    ],
                },
            });
        });

        it("ODCR: ON_DEMAND with the instance type, reservation target, no market type, no placement group", () => {
            const g = ng(p, "odcr");
            assert.deepEqual([g.capacityType, g.instanceTypes], ["ON_DEMAND", ["p5e.48xlarge"]]);
            const t = lt(p, "odcr");
            assert.deepEqual(t.capacityReservationSpecification, { capacityReservationTarget: { capacityReservationId: ODCR } });
            assert.equal(t.instanceMarketOptions, undefined);
            assert.equal(t.placement, undefined);
            assert.equal(pgOf(p, "odcr").length, 0);
            assert.equal(t.networkInterfaces.length, 32);
        });

        it("ODCR with a named placement group uses it and creates none", () => {
            assert.deepEqual(lt(p, "odcr-pg").placement, { groupName: "my-odcr-pg" });
            assert.equal(pgOf(p, "odcr-pg").length, 0);
        });

        it("spot: SPOT, a placement group, Bottlerocket NVIDIA with TOML user data and an encrypted data volume", () => {
            const g = ng(p, "spot");
            assert.deepEqual([g.capacityType, g.amiType], ["SPOT", "BOTTLEROCKET_x86_64_NVIDIA"]);
            assert.equal(g.labels["miles-cluster.io/ami-family"], "bottlerocket");
            assert.equal(pgOf(p, "spot").length, 1);
            const t = lt(p, "spot");
            assert.equal(t.instanceMarketOptions, undefined, "managed node groups take spot from capacityType");
            assert.match(Buffer.from(t.userData, "base64").toString(), /ephemeral-storage/);
            assert.deepEqual(
                t.blockDeviceMappings.map((b: any) => [b.deviceName, b.ebs.encrypted]),
                [
                    ["/dev/xvda", "true"],
                    ["/dev/xvdb", "true"],
                ],
            );
        });

        it("empty Capacity Block group: 0/0/1 (EKS needs maxSize >= 1)", () => {
            assert.deepEqual(ng(p, "later").scalingConfig, { minSize: 0, desiredSize: 0, maxSize: 1 });
        });

        it("placementGroup: false opts an on-demand group out", () => {
            assert.equal(lt(p, "nopg").placement, undefined);
            assert.equal(pgOf(p, "nopg").length, 0);
        });

        it("no placement group resource on any reserved group; IMDSv2 and encryption on every launch template", () => {
            assert.deepEqual(ofType(p, T.pg).map((r) => r.name), ["cluster-gpu-spot-pg"]);
            for (const r of ofType(p, T.lt).filter((x) => x.name.startsWith("cluster-"))) {
                const t = r.inputs as any;
                assert.equal(t.metadataOptions.httpTokens, "required", r.name);
                for (const b of t.blockDeviceMappings) assert.equal(b.ebs.encrypted, "true", r.name);
            }
        });

        it("public endpoint restricted to the given CIDRs", () => {
            const c = one(p, "aws:eks/cluster:Cluster").inputs as any;
            assert.deepEqual([c.vpcConfig.endpointPrivateAccess, c.vpcConfig.endpointPublicAccess, c.vpcConfig.publicAccessCidrs], [true, true, ["203.0.113.0/24"]]);
        });
    });

    describe("existing VPC and extra admins", () => {
        it("creates no VPC, subnets or NAT; GPU group in the given subnet; cluster-admin access entries for the admin roles", async () => {
            const p = await planConfig({
                "aws:region": "us-east-1",
                "miles-cluster:cluster": {
                    availabilityZone: "us-east-1a",
                    network: { type: "existing", vpcId: "vpc-0123456789abcdef0", privateSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"], gpuSubnetId: "subnet-0123456789abcdef1" },
                    adminRoleArns: ["arn:aws:iam::123456789012:role/platform"],
                    gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }],
                },
            });
            for (const t of ["aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway", "aws:ec2/vpcEndpoint:VpcEndpoint"]) assert.equal(ofType(p, t).length, 0, t);
            assert.equal(ofType(p, "aws:ec2/securityGroup:SecurityGroup").filter((r) => r.name.startsWith("cluster-network-")).length, 3);
            assert.deepEqual(ng(p, "h100").subnetIds, ["subnet-0123456789abcdef1"]);
            assert.deepEqual((one(p, "aws:eks/cluster:Cluster").inputs as any).vpcConfig.subnetIds, ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]);
            assert.equal(one(p, "aws:eks/accessEntry:AccessEntry").inputs.principalArn, "arn:aws:iam::123456789012:role/platform");
            const assoc = one(p, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation").inputs as any;
            assert.deepEqual([assoc.policyArn, assoc.accessScope], ["arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", { type: "cluster" }]);
        });
    });

    describe("bring your own cluster", () => {
        it("creates no aws: resource, a Kubernetes provider from the secret kubeconfig and context, and describes the GPU nodes", async () => {
            const p = await planConfig(
                {
                    "miles-cluster:cluster": { existing: { kubeconfig: "apiVersion: v1\nkind: Config\n", context: "coreweave", gpuNodes: { selector: { "gpu.nvidia.com/class": "H100" }, nodes: 2 } } },
                    "miles-cluster:storage": { type: "existing-claim", claimName: "shared" },
                    "miles-cluster:training": { resources: { workerCpu: 100, workerMemoryGiB: 900 } },
                },
                { secretKeys: ["miles-cluster:cluster"] },
            );
            assert.deepEqual(
                p.resources.filter((r) => r.type.startsWith("aws:")).map((r) => `${r.type} ${r.name}`),
                [],
            );
            const prov = one(p, "pulumi:providers:kubernetes", "cluster-k8s").inputs as any;
            assert.equal(prov.context, "coreweave");
            assert.equal(prov.kubeconfig, "[secret]");
            assert.ok(!("kubeconfig" in p.outputs) && !("clusterName" in p.outputs));
            const line = p.summary!.lines.cluster.find(([l]) => l === "gpu nodes gpu")![1];
            assert.match(line, /2 nodes × 8 GPUs; selector gpu\.nvidia\.com\/class=H100; taint nvidia\.com\/gpu=true:NoSchedule; no EFA/);
        });
    });
});

describe("GpuNodeGroup component with known security group ids", () => {
    it("puts the EKS, node and EFA groups on each of the 16 interfaces of a p5en", async () => {
        const group: GpuNodeGroupConfig = { name: "g", instanceType: "p5en.48xlarge", nodes: 1, scaling: "fixed", capacity: { type: "on-demand" }, amiFamily: "al2023", rootVolumeGiB: 200 };
        const ev = await evaluate({
            project: "miles-cluster",
            stack: "t",
            config: rawConfig({}),
            run: async () => {
                new GpuNodeGroup("g", { group, clusterName: "c", nodeRoleArn: "arn:aws:iam::123456789012:role/n", subnetId: "subnet-1", securityGroupIds: ["sg-eks", "sg-node", "sg-efa"], tags: {} });
                return {};
            },
        });
        const t = ev.resources.find((r) => r.type === T.lt)!.inputs as any;
        assert.equal(t.networkInterfaces.length, 16);
        for (const n of t.networkInterfaces) assert.deepEqual(n.securityGroups, ["sg-eks", "sg-node", "sg-efa"]);
        const g = ev.resources.find((r) => r.type === T.ng)!.inputs as any;
        assert.deepEqual(g.subnetIds, ["subnet-1"]);
    });
});

import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { FLOW_LOGS_TRUST_POLICY, flowLogsRolePolicy } from "../domain/security/aws";
import type { NetworkConfig } from "../config/cluster";
import type { AwsNetworkInfo } from "./contracts";
import { extraAvailabilityZones, subnetLayout } from "../domain/cluster";
import { transform, type Transform } from "./transform";
import { sectionDefaults } from "./defaults";

export interface ClusterNetworkArgs {
    /**
     * The network config: create a VPC or adopt an existing one (`cluster.network`).
     * @default { type: "create", vpcCidr: "10.0.0.0/16", flowLogs: { enabled: true, trafficType: "ALL", retentionDays: 90 } }
     * @example { type: "existing", vpcId: "vpc-0abc", gpuSubnetId: "subnet-0gpu", privateSubnetIds: ["subnet-0gpu", "subnet-0b"] }
     */
    network?: NetworkConfig;
    /**
     * AWS region (the S3 gateway endpoint's service name).
     * @example "us-east-1"
     */
    region: string;
    /**
     * The availability zone of the GPU nodes; its private subnet is the GPU subnet.
     * @example "us-east-1a"
     */
    gpuAvailabilityZone: string;
    /**
     * Further zones for the system nodes and the control plane (created VPC only; EKS needs subnets
     * in two zones at least).
     * @default `network.availabilityZones` (the extra zones, the GPU zone not among them) when set, else one more zone: `<region>b`, or `<region>a` when the GPU zone is b
     * @example ["us-east-1b"]
     */
    extraAvailabilityZones?: string[];
    /**
     * Name used in `Name` tags and the EKS subnet discovery tag.
     * @example "miles-prod"
     */
    clusterName: string;
    /**
     * Tags of every resource.
     * @default {}
     * @example { "miles-cluster/stack": "prod" }
     */
    tags?: Record<string, string>;
    /**
     * Changes to the args of the underlying resources; the subnet and route-table-association
     * transforms apply to the resource of every zone.
     * @default none
     * @example { vpc: { enableNetworkAddressUsageMetrics: true }, natGateway: (a) => { a.tags = { ...a.tags, cost: "nat" }; } }
     */
    transform?: {
        vpc?: Transform<aws.ec2.VpcArgs>;
        internetGateway?: Transform<aws.ec2.InternetGatewayArgs>;
        publicRouteTable?: Transform<aws.ec2.RouteTableArgs>;
        privateSubnet?: Transform<aws.ec2.SubnetArgs>;
        publicSubnet?: Transform<aws.ec2.SubnetArgs>;
        publicRouteTableAssociation?: Transform<aws.ec2.RouteTableAssociationArgs>;
        natEip?: Transform<aws.ec2.EipArgs>;
        natGateway?: Transform<aws.ec2.NatGatewayArgs>;
        privateRouteTable?: Transform<aws.ec2.RouteTableArgs>;
        privateRouteTableAssociation?: Transform<aws.ec2.RouteTableAssociationArgs>;
        s3Endpoint?: Transform<aws.ec2.VpcEndpointArgs>;
        defaultSecurityGroup?: Transform<aws.ec2.DefaultSecurityGroupArgs>;
        flowLogGroup?: Transform<aws.cloudwatch.LogGroupArgs>;
        flowLogRole?: Transform<aws.iam.RoleArgs>;
        flowLogRolePolicy?: Transform<aws.iam.RolePolicyArgs>;
        flowLog?: Transform<aws.ec2.FlowLogArgs>;
        clusterSecurityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
        nodeSecurityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
        efaSecurityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
    };
}

/** The args with their defaults applied. */
type Resolved = Required<Pick<ClusterNetworkArgs, "network" | "extraAvailabilityZones" | "tags">> & ClusterNetworkArgs;

/**
 * The cluster's network: a VPC (created, or an existing one) and the three security groups every
 * node uses.
 *
 * Created VPC: per zone a private subnet (nodes, pods, FSx) and a public one (NAT, load balancers);
 * one NAT gateway in the GPU zone's public subnet (one, not one per zone: the GPU zone is a single
 * point of failure for the GPU nodes anyway, and each NAT gateway costs money per hour); an S3
 * gateway endpoint on the private route table (checkpoint and model traffic to S3 bypasses the NAT,
 * free).
 *
 * Security groups:
 * - `cluster`: extra group on the control plane's network interfaces; HTTPS (443) from the VPC's
 *   CIDR, so a private API endpoint is reachable from a VPN/bastion/runner inside the VPC. (Nodes
 *   reach the control plane through the EKS-created cluster security group they also carry.)
 * - `node`: on every node (system and GPU): all traffic between nodes, all egress. Storage opens its
 *   ports (FSx 988, 1018-1023) to this group.
 * - `efa`: on every GPU network interface: all traffic to and from itself, in and out; EFA's SRD
 *   traffic is dropped unless the group allows itself both ways.
 */
export class ClusterNetwork extends pulumi.ComponentResource implements AwsNetworkInfo {
    readonly vpcId: pulumi.Output<string>;
    readonly gpuSubnetId: pulumi.Output<string>;
    readonly privateSubnetIds: pulumi.Output<string[]>;
    readonly nodeSecurityGroupId: pulumi.Output<string>;
    readonly vpcCidr: pulumi.Output<string>;
    readonly zoneCount?: number;
    readonly clusterSecurityGroupId: pulumi.Output<string>;
    readonly efaSecurityGroupId: pulumi.Output<string>;

    constructor(name: string, args: ClusterNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:aws:ClusterNetwork", name, {}, opts);
        const network = args.network ?? sectionDefaults.cluster().network;
        const a: Resolved = {
            ...args,
            network,
            extraAvailabilityZones: args.extraAvailabilityZones ?? (network.type === "create" ? extraAvailabilityZones(args.gpuAvailabilityZone, network.availabilityZones) : []),
            tags: args.tags ?? {},
        };
        const vpc = network.type === "create" ? this.createVpc(name, a, network.vpcCidr) : this.existingVpc(network);
        this.vpcId = vpc.vpcId;
        this.vpcCidr = vpc.vpcCidr;
        this.gpuSubnetId = vpc.gpuSubnetId;
        this.privateSubnetIds = vpc.privateSubnetIds;
        this.zoneCount = vpc.zoneCount;

        const sgs = this.securityGroups(name, a);
        this.clusterSecurityGroupId = sgs.cluster.id;
        this.nodeSecurityGroupId = sgs.node.id;
        this.efaSecurityGroupId = sgs.efa.id;
        this.registerOutputs({ vpcId: this.vpcId, gpuSubnetId: this.gpuSubnetId, privateSubnetIds: this.privateSubnetIds });
    }

    private createVpc(name: string, args: Resolved, vpcCidr: string) {
        const opts = { parent: this };
        const t = args.transform ?? {};
        const tag = (suffix: string, extra: Record<string, string> = {}) => ({ ...args.tags, Name: `${args.clusterName}-${suffix}`, ...extra });
        const vpc = new aws.ec2.Vpc(...transform(t.vpc, `${name}-vpc`, { cidrBlock: vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tag("vpc") }, { ...opts }));
        const igw = new aws.ec2.InternetGateway(...transform(t.internetGateway, `${name}-igw`, { vpcId: vpc.id, tags: tag("igw") }, { ...opts }));
        const publicRt = new aws.ec2.RouteTable(
            ...transform(t.publicRouteTable, `${name}-public`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: tag("public") }, { ...opts }),
        );

        const zones = subnetLayout(vpcCidr, [args.gpuAvailabilityZone, ...args.extraAvailabilityZones]);
        const subnets = zones.map((z) => {
            const privateSubnet = new aws.ec2.Subnet(
                ...transform(
                    t.privateSubnet,
                    `${name}-private-${z.availabilityZone}`,
                    { vpcId: vpc.id, cidrBlock: z.privateCidr, availabilityZone: z.availabilityZone, tags: tag(`private-${z.availabilityZone}`, { "kubernetes.io/role/internal-elb": "1" }) },
                    { ...opts },
                ),
            );
            const publicSubnet = new aws.ec2.Subnet(
                ...transform(
                    t.publicSubnet,
                    `${name}-public-${z.availabilityZone}`,
                    { vpcId: vpc.id, cidrBlock: z.publicCidr, availabilityZone: z.availabilityZone, mapPublicIpOnLaunch: false, tags: tag(`public-${z.availabilityZone}`, { "kubernetes.io/role/elb": "1" }) },
                    { ...opts },
                ),
            );
            new aws.ec2.RouteTableAssociation(...transform(t.publicRouteTableAssociation, `${name}-public-${z.availabilityZone}`, { subnetId: publicSubnet.id, routeTableId: publicRt.id }, { ...opts }));
            return { zone: z.availabilityZone, privateSubnet, publicSubnet };
        });

        const gpuZone = subnets[0];
        const eip = new aws.ec2.Eip(...transform(t.natEip, `${name}-nat`, { domain: "vpc", tags: tag("nat") }, { ...opts }));
        const nat = new aws.ec2.NatGateway(...transform(t.natGateway, `${name}-nat`, { allocationId: eip.id, subnetId: gpuZone.publicSubnet.id, tags: tag("nat") }, { ...opts, dependsOn: [igw] }));
        const privateRt = new aws.ec2.RouteTable(
            ...transform(t.privateRouteTable, `${name}-private`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags: tag("private") }, { ...opts }),
        );
        for (const s of subnets) {
            new aws.ec2.RouteTableAssociation(...transform(t.privateRouteTableAssociation, `${name}-private-${s.zone}`, { subnetId: s.privateSubnet.id, routeTableId: privateRt.id }, { ...opts }));
        }
        new aws.ec2.VpcEndpoint(
            ...transform(t.s3Endpoint, `${name}-s3`, { vpcId: vpc.id, serviceName: `com.amazonaws.${args.region}.s3`, vpcEndpointType: "Gateway", routeTableIds: [privateRt.id], tags: tag("s3") }, { ...opts }),
        );
        // The default security group, closed: adopting it removes every rule (no ingress/egress given).
        // Nothing here uses it; a resource launched into the VPC without a group gets no traffic
        // (Security Hub EC2.2, AWS Config vpc-default-security-group-closed).
        new aws.ec2.DefaultSecurityGroup(...transform(t.defaultSecurityGroup, `${name}-default-sg`, { vpcId: vpc.id, tags: tag("default-closed") }, { ...opts }));
        if (args.network.type === "create" && args.network.flowLogs.enabled) this.flowLogs(name, vpc.id, args.network.flowLogs, args, tag("flow-logs"));

        return {
            vpcId: vpc.id,
            vpcCidr: vpc.cidrBlock,
            gpuSubnetId: gpuZone.privateSubnet.id,
            privateSubnetIds: pulumi.all(subnets.map((s) => s.privateSubnet.id)),
            zoneCount: subnets.length,
        };
    }

    /** VPC flow logs into a CloudWatch log group with a retention, written by a role scoped to it (Security Hub EC2.6). */
    private flowLogs(name: string, vpcId: pulumi.Input<string>, f: { trafficType: string; retentionDays: number }, args: Resolved, tags: Record<string, string>): void {
        const opts = { parent: this };
        const t = args.transform ?? {};
        const group = new aws.cloudwatch.LogGroup(...transform(t.flowLogGroup, `${name}-flow-logs`, { name: `/aws/vpc/${args.clusterName}/flow-logs`, retentionInDays: f.retentionDays, tags }, { ...opts }));
        const role = new aws.iam.Role(
            ...transform(t.flowLogRole, `${name}-flow-logs`, { description: `VPC flow logs of ${args.clusterName}`, assumeRolePolicy: JSON.stringify(FLOW_LOGS_TRUST_POLICY), tags }, { ...opts }),
        );
        const policy = new aws.iam.RolePolicy(
            ...transform(t.flowLogRolePolicy, `${name}-flow-logs`, { role: role.name, policy: group.arn.apply((arn) => JSON.stringify(flowLogsRolePolicy(arn))) }, { ...opts }),
        );
        new aws.ec2.FlowLog(
            ...transform(
                t.flowLog,
                `${name}-flow-logs`,
                { vpcId, trafficType: f.trafficType, logDestinationType: "cloud-watch-logs", logDestination: group.arn, iamRoleArn: role.arn, maxAggregationInterval: 600, tags },
                { ...opts, dependsOn: [policy] },
            ),
        );
    }

    private existingVpc(n: Extract<NetworkConfig, { type: "existing" }>) {
        // The CIDR is looked up (an invoke, not a resource): the cluster security group opens 443 to it.
        const vpc = aws.ec2.getVpcOutput({ id: n.vpcId }, { parent: this });
        return {
            vpcId: pulumi.output(n.vpcId),
            vpcCidr: vpc.cidrBlock,
            gpuSubnetId: pulumi.output(n.gpuSubnetId),
            privateSubnetIds: pulumi.output([...n.privateSubnetIds]),
            zoneCount: undefined,
        };
    }

    private securityGroups(name: string, args: Resolved) {
        const opts = { parent: this };
        const t = args.transform ?? {};
        const allEgress = [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], description: "all egress" }];
        const cluster = new aws.ec2.SecurityGroup(
            ...transform(t.clusterSecurityGroup, `${name}-cluster`, {
                vpcId: this.vpcId,
                description: `EKS control plane of ${args.clusterName}: Kubernetes API from inside the VPC`,
                ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: [this.vpcCidr], description: "Kubernetes API from the VPC" }],
                egress: allEgress,
                tags: { ...args.tags, Name: `${args.clusterName}-cluster` },
            }, { ...opts }),
        );
        const node = new aws.ec2.SecurityGroup(
            ...transform(t.nodeSecurityGroup, `${name}-node`, {
                vpcId: this.vpcId,
                description: `Nodes of ${args.clusterName}: all traffic between nodes`,
                ingress: [
                    { protocol: "-1", fromPort: 0, toPort: 0, self: true, description: "node to node" },
                    // Lustre clients must accept connections from the FSx servers too (FSx for Lustre
                    // user guide, "Inbound rules for Lustre clients"). Inline, by VPC CIDR, so the
                    // storage component need not edit this group (inline rules own it entirely).
                    { protocol: "tcp", fromPort: 988, toPort: 988, cidrBlocks: [this.vpcCidr], description: "Lustre from FSx" },
                    { protocol: "tcp", fromPort: 1018, toPort: 1023, cidrBlocks: [this.vpcCidr], description: "Lustre from FSx" },
                ],
                egress: allEgress,
                tags: { ...args.tags, Name: `${args.clusterName}-node` },
            }, { ...opts }),
        );
        const efa = new aws.ec2.SecurityGroup(
            ...transform(t.efaSecurityGroup, `${name}-efa`, {
                vpcId: this.vpcId,
                description: `EFA interfaces of ${args.clusterName}: all traffic to and from itself`,
                ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, self: true, description: "EFA from EFA" }],
                egress: [{ protocol: "-1", fromPort: 0, toPort: 0, self: true, description: "EFA to EFA" }],
                tags: { ...args.tags, Name: `${args.clusterName}-efa` },
            }, { ...opts }),
        );
        return { cluster, node, efa };
    }
}

import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { FLOW_LOGS_TRUST_POLICY, flowLogsRolePolicy } from "../domain/security/aws";
import type { NetworkConfig } from "../config/cluster";
import type { AwsNetworkInfo } from "./contracts";
import { subnetLayout } from "../domain/cluster";

/** One availability zone's subnets of a created VPC. */
export interface ClusterNetworkArgs {
    /** The network config: create a VPC or adopt an existing one. */
    network: NetworkConfig;
    region: string;
    /**
     * The availability zone of the GPU nodes; its private subnet is the GPU subnet.
     * @example "us-east-1a"
     */
    gpuAvailabilityZone: string;
    /**
     * Further zones for the system nodes and the control plane (created VPC only).
     * @example ["us-east-1b"]
     */
    extraAvailabilityZones: string[];
    /** Name used in `Name` tags and the EKS subnet discovery tag. */
    clusterName: string;
    tags: Record<string, string>;
}

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
    readonly clusterSecurityGroupId: pulumi.Output<string>;
    readonly efaSecurityGroupId: pulumi.Output<string>;

    constructor(name: string, args: ClusterNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:aws:ClusterNetwork", name, {}, opts);
        const vpc = args.network.type === "create" ? this.createVpc(name, args, args.network.vpcCidr) : this.existingVpc(args.network);
        this.vpcId = vpc.vpcId;
        this.vpcCidr = vpc.vpcCidr;
        this.gpuSubnetId = vpc.gpuSubnetId;
        this.privateSubnetIds = vpc.privateSubnetIds;

        const sgs = this.securityGroups(name, args);
        this.clusterSecurityGroupId = sgs.cluster.id;
        this.nodeSecurityGroupId = sgs.node.id;
        this.efaSecurityGroupId = sgs.efa.id;
        this.registerOutputs({ vpcId: this.vpcId, gpuSubnetId: this.gpuSubnetId, privateSubnetIds: this.privateSubnetIds });
    }

    private createVpc(name: string, args: ClusterNetworkArgs, vpcCidr: string) {
        const opts = { parent: this };
        const tag = (suffix: string, extra: Record<string, string> = {}) => ({ ...args.tags, Name: `${args.clusterName}-${suffix}`, ...extra });
        const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tag("vpc") }, opts);
        const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tag("igw") }, opts);
        const publicRt = new aws.ec2.RouteTable(`${name}-public`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: tag("public") }, opts);

        const zones = subnetLayout(vpcCidr, [args.gpuAvailabilityZone, ...args.extraAvailabilityZones]);
        const subnets = zones.map((z) => {
            const privateSubnet = new aws.ec2.Subnet(
                `${name}-private-${z.availabilityZone}`,
                { vpcId: vpc.id, cidrBlock: z.privateCidr, availabilityZone: z.availabilityZone, tags: tag(`private-${z.availabilityZone}`, { "kubernetes.io/role/internal-elb": "1" }) },
                opts,
            );
            const publicSubnet = new aws.ec2.Subnet(
                `${name}-public-${z.availabilityZone}`,
                { vpcId: vpc.id, cidrBlock: z.publicCidr, availabilityZone: z.availabilityZone, mapPublicIpOnLaunch: false, tags: tag(`public-${z.availabilityZone}`, { "kubernetes.io/role/elb": "1" }) },
                opts,
            );
            new aws.ec2.RouteTableAssociation(`${name}-public-${z.availabilityZone}`, { subnetId: publicSubnet.id, routeTableId: publicRt.id }, opts);
            return { zone: z.availabilityZone, privateSubnet, publicSubnet };
        });

        const gpuZone = subnets[0];
        const eip = new aws.ec2.Eip(`${name}-nat`, { domain: "vpc", tags: tag("nat") }, opts);
        const nat = new aws.ec2.NatGateway(`${name}-nat`, { allocationId: eip.id, subnetId: gpuZone.publicSubnet.id, tags: tag("nat") }, { ...opts, dependsOn: [igw] });
        const privateRt = new aws.ec2.RouteTable(`${name}-private`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags: tag("private") }, opts);
        for (const s of subnets) new aws.ec2.RouteTableAssociation(`${name}-private-${s.zone}`, { subnetId: s.privateSubnet.id, routeTableId: privateRt.id }, opts);
        new aws.ec2.VpcEndpoint(`${name}-s3`, { vpcId: vpc.id, serviceName: `com.amazonaws.${args.region}.s3`, vpcEndpointType: "Gateway", routeTableIds: [privateRt.id], tags: tag("s3") }, opts);
        // The default security group, closed: adopting it removes every rule (no ingress/egress given).
        // Nothing here uses it; a resource launched into the VPC without a group gets no traffic
        // (Security Hub EC2.2, AWS Config vpc-default-security-group-closed).
        new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.id, tags: tag("default-closed") }, opts);
        if (args.network.type === "create" && args.network.flowLogs.enabled) this.flowLogs(name, vpc.id, args.network.flowLogs, args, tag("flow-logs"));

        return {
            vpcId: vpc.id,
            vpcCidr: vpc.cidrBlock,
            gpuSubnetId: gpuZone.privateSubnet.id,
            privateSubnetIds: pulumi.all(subnets.map((s) => s.privateSubnet.id)),
        };
    }

    /** VPC flow logs into a CloudWatch log group with a retention, written by a role scoped to it (Security Hub EC2.6). */
    private flowLogs(name: string, vpcId: pulumi.Input<string>, f: { trafficType: string; retentionDays: number }, args: ClusterNetworkArgs, tags: Record<string, string>): void {
        const opts = { parent: this };
        const group = new aws.cloudwatch.LogGroup(`${name}-flow-logs`, { name: `/aws/vpc/${args.clusterName}/flow-logs`, retentionInDays: f.retentionDays, tags }, opts);
        const role = new aws.iam.Role(`${name}-flow-logs`, { description: `VPC flow logs of ${args.clusterName}`, assumeRolePolicy: JSON.stringify(FLOW_LOGS_TRUST_POLICY), tags }, opts);
        const policy = new aws.iam.RolePolicy(`${name}-flow-logs`, { role: role.name, policy: group.arn.apply((arn) => JSON.stringify(flowLogsRolePolicy(arn))) }, opts);
        new aws.ec2.FlowLog(
            `${name}-flow-logs`,
            { vpcId, trafficType: f.trafficType, logDestinationType: "cloud-watch-logs", logDestination: group.arn, iamRoleArn: role.arn, maxAggregationInterval: 600, tags },
            { ...opts, dependsOn: [policy] },
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
        };
    }

    private securityGroups(name: string, args: ClusterNetworkArgs) {
        const opts = { parent: this };
        const allEgress = [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], description: "all egress" }];
        const cluster = new aws.ec2.SecurityGroup(
            `${name}-cluster`,
            {
                vpcId: this.vpcId,
                description: `EKS control plane of ${args.clusterName}: Kubernetes API from inside the VPC`,
                ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: [this.vpcCidr], description: "Kubernetes API from the VPC" }],
                egress: allEgress,
                tags: { ...args.tags, Name: `${args.clusterName}-cluster` },
            },
            opts,
        );
        const node = new aws.ec2.SecurityGroup(
            `${name}-node`,
            {
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
            },
            opts,
        );
        const efa = new aws.ec2.SecurityGroup(
            `${name}-efa`,
            {
                vpcId: this.vpcId,
                description: `EFA interfaces of ${args.clusterName}: all traffic to and from itself`,
                ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, self: true, description: "EFA from EFA" }],
                egress: [{ protocol: "-1", fromPort: 0, toPort: 0, self: true, description: "EFA to EFA" }],
                tags: { ...args.tags, Name: `${args.clusterName}-efa` },
            },
            opts,
        );
        return { cluster, node, efa };
    }
}

import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { MANAGED_POLICY } from "../catalog/aws";
import { roleWithPolicies } from "./iam";

/** EKS access policy granting cluster-admin through an access entry. */
export const CLUSTER_ADMIN_ACCESS_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

export interface EksControlPlaneArgs {
    /**
     * EKS cluster name.
     * @example "miles-dev"
     */
    clusterName: string;
    /**
     * Kubernetes version.
     * @default "1.34"
     */
    kubernetesVersion: string;
    region: string;
    /** Private subnets for the control plane's network interfaces (at least two zones). */
    subnetIds: pulumi.Input<string[]>;
    /** Extra security group on the control plane (HTTPS from the VPC). */
    clusterSecurityGroupId: pulumi.Input<string>;
    /**
     * CIDRs allowed to reach the public endpoint; empty = private endpoint only.
     * @default []
     * @example ["203.0.113.0/24"]
     */
    publicAccessCidrs: string[];
    /**
     * Control plane log types sent to CloudWatch Logs.
     * @default ["api", "audit", "authenticator"]
     */
    logTypes: string[];
    /**
     * Days CloudWatch Logs keeps the control plane logs.
     * @default 30
     */
    logRetentionDays?: number;
    /**
     * IAM principals given cluster-admin through access entries (the deployer always is).
     * @default []
     */
    adminPrincipalArns: string[];
    tags: Record<string, string>;
}

/**
 * The EKS control plane: a KMS key (with yearly rotation) that envelope-encrypts Kubernetes
 * secrets, a CloudWatch log group with a retention (EKS would otherwise create one that keeps logs
 * forever), the cluster IAM role, the cluster itself with access-entry (`API`) authentication, and
 * the node IAM role shared by all node groups.
 *
 * `bootstrapSelfManagedAddons: false`: EKS installs no unmanaged vpc-cni/kube-proxy/CoreDNS; the
 * managed add-ons (components/eksManagedAddons.ts) are the only copies, so their versions and settings
 * are ours.
 */
export class EksControlPlane extends pulumi.ComponentResource {
    readonly cluster: aws.eks.Cluster;
    readonly clusterName: pulumi.Output<string>;
    readonly endpoint: pulumi.Output<string>;
    /** The security group EKS creates and puts on the control plane; nodes carry it to talk to it. */
    readonly eksSecurityGroupId: pulumi.Output<string>;
    readonly nodeRole: aws.iam.Role;
    /** Policy attachments of the node role: node groups must wait for them. */
    readonly nodeRoleReady: pulumi.Resource[];
    readonly kmsKey: aws.kms.Key;
    /** Kubeconfig using `aws eks get-token`, as a secret. */
    readonly kubeconfig: pulumi.Output<string>;

    constructor(name: string, args: EksControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:aws:EksControlPlane", name, {}, opts);
        const o = { parent: this };
        this.kmsKey = new aws.kms.Key(
            `${name}-secrets`,
            { description: `Envelope encryption of Kubernetes secrets of EKS cluster ${args.clusterName}`, enableKeyRotation: true, deletionWindowInDays: 30, tags: args.tags },
            o,
        );
        new aws.kms.Alias(`${name}-secrets`, { name: `alias/${args.clusterName}-eks-secrets`, targetKeyId: this.kmsKey.keyId }, o);
        const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, { name: `/aws/eks/${args.clusterName}/cluster`, retentionInDays: args.logRetentionDays ?? 30, tags: args.tags }, o);

        const clusterRole = roleWithPolicies(`${name}-cluster-role`, { service: "eks.amazonaws.com", policies: [MANAGED_POLICY.eksCluster], description: `EKS cluster ${args.clusterName}`, tags: args.tags }, o);
        const nodeRole = roleWithPolicies(
            `${name}-node-role`,
            { service: "ec2.amazonaws.com", policies: [MANAGED_POLICY.eksWorkerNode, MANAGED_POLICY.ecrReadOnly], description: `Nodes of EKS cluster ${args.clusterName}`, tags: args.tags },
            o,
        );
        this.nodeRole = nodeRole.role;
        this.nodeRoleReady = nodeRole.attachments;

        const publicAccess = args.publicAccessCidrs.length > 0;
        this.cluster = new aws.eks.Cluster(
            name,
            {
                name: args.clusterName,
                version: args.kubernetesVersion,
                roleArn: clusterRole.role.arn,
                vpcConfig: {
                    subnetIds: args.subnetIds,
                    securityGroupIds: [args.clusterSecurityGroupId],
                    endpointPrivateAccess: true,
                    endpointPublicAccess: publicAccess,
                    publicAccessCidrs: publicAccess ? [...args.publicAccessCidrs] : undefined,
                },
                accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
                encryptionConfig: { provider: { keyArn: this.kmsKey.arn }, resources: ["secrets"] },
                enabledClusterLogTypes: [...args.logTypes],
                bootstrapSelfManagedAddons: false,
                tags: args.tags,
            },
            { parent: this, dependsOn: [logGroup, ...clusterRole.attachments] },
        );
        this.clusterName = this.cluster.name;
        this.endpoint = this.cluster.endpoint;
        this.eksSecurityGroupId = this.cluster.vpcConfig.apply((v) => v?.clusterSecurityGroupId);

        args.adminPrincipalArns.forEach((principalArn, i) => {
            const entry = new aws.eks.AccessEntry(`${name}-admin-${i}`, { clusterName: this.cluster.name, principalArn, type: "STANDARD", tags: args.tags }, o);
            new aws.eks.AccessPolicyAssociation(
                `${name}-admin-${i}`,
                { clusterName: this.cluster.name, principalArn, policyArn: CLUSTER_ADMIN_ACCESS_POLICY, accessScope: { type: "cluster" } },
                { parent: this, dependsOn: [entry] },
            );
        });

        this.kubeconfig = pulumi.secret(
            pulumi
                .all([this.cluster.name, this.cluster.endpoint, this.cluster.certificateAuthority])
                .apply(([clusterName, endpoint, ca]) => kubeconfigJson({ clusterName, endpoint, certificateAuthorityData: ca?.data ?? "", region: args.region })),
        );
        this.registerOutputs({ clusterName: this.clusterName, endpoint: this.endpoint });
    }
}

/**
 * A kubeconfig (JSON, which is valid YAML) that authenticates with `aws eks get-token`, so it holds
 * no credential itself and works for whoever runs it with AWS credentials that have an access entry.
 */
export function kubeconfigJson(c: { clusterName: string; endpoint: string; certificateAuthorityData: string; region: string }): string {
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: c.clusterName, cluster: { server: c.endpoint, "certificate-authority-data": c.certificateAuthorityData } }],
        contexts: [{ name: c.clusterName, context: { cluster: c.clusterName, user: c.clusterName } }],
        "current-context": c.clusterName,
        users: [
            {
                name: c.clusterName,
                user: {
                    exec: {
                        apiVersion: "client.authentication.k8s.io/v1beta1",
                        command: "aws",
                        args: ["eks", "get-token", "--cluster-name", c.clusterName, "--region", c.region, "--output", "json"],
                        interactiveMode: "Never",
                    },
                },
            },
        ],
    });
}

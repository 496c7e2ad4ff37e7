import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { MANAGED_POLICY } from "../catalog/aws";
import { roleWithPolicies, type RoleTransform } from "./iam";
import { transform, type Transform } from "./transform";
import { sectionDefaults } from "./defaults";

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
     * @default the stack default (`cluster.kubernetesVersion`, config/cluster.ts)
     * @example "1.35"
     */
    kubernetesVersion?: string;
    /**
     * AWS region, written into the kubeconfig's `aws eks get-token` call.
     * @example "us-east-1"
     */
    region: string;
    /**
     * Private subnets for the control plane's network interfaces (at least two zones).
     * @example network.privateSubnetIds
     */
    subnetIds: pulumi.Input<string[]>;
    /**
     * Extra security group on the control plane (HTTPS from the VPC).
     * @example network.clusterSecurityGroupId
     */
    clusterSecurityGroupId: pulumi.Input<string>;
    /**
     * CIDRs allowed to reach the public endpoint; empty = private endpoint only.
     * @default []
     * @example ["203.0.113.0/24"]
     */
    publicAccessCidrs?: string[];
    /**
     * Control plane log types sent to CloudWatch Logs.
     * @default ["api", "audit", "authenticator"]
     * @example ["api", "audit", "authenticator", "scheduler"]
     */
    logTypes?: string[];
    /**
     * Days CloudWatch Logs keeps the control plane logs (a value CloudWatch accepts).
     * @default 30
     * @example 365
     */
    logRetentionDays?: number;
    /**
     * IAM principals given cluster-admin through access entries (the deployer always is).
     * @default []
     * @example ["arn:aws:iam::123456789012:role/ml-platform-admin"]
     */
    adminPrincipalArns?: string[];
    /**
     * Tags of every resource.
     * @default {}
     * @example { "miles-cluster/stack": "prod" }
     */
    tags?: Record<string, string>;
    /**
     * Changes to the args of the underlying resources; the access-entry transforms apply to the
     * entry (and policy association) of every admin principal.
     * @default none
     * @example { cluster: { upgradePolicy: { supportType: "STANDARD" } }, logGroup: { retentionInDays: 90 } }
     */
    transform?: {
        kmsKey?: Transform<aws.kms.KeyArgs>;
        kmsAlias?: Transform<aws.kms.AliasArgs>;
        logGroup?: Transform<aws.cloudwatch.LogGroupArgs>;
        clusterRole?: RoleTransform;
        nodeRole?: RoleTransform;
        cluster?: Transform<aws.eks.ClusterArgs>;
        accessEntry?: Transform<aws.eks.AccessEntryArgs>;
        accessPolicyAssociation?: Transform<aws.eks.AccessPolicyAssociationArgs>;
    };
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
        const defaults = sectionDefaults.cluster();
        const tags = args.tags ?? {};
        const publicAccessCidrs = args.publicAccessCidrs ?? defaults.endpoint.publicAccessCidrs;
        const t = args.transform ?? {};
        const o = () => ({ parent: this });
        this.kmsKey = new aws.kms.Key(
            ...transform(t.kmsKey, `${name}-secrets`, { description: `Envelope encryption of Kubernetes secrets of EKS cluster ${args.clusterName}`, enableKeyRotation: true, deletionWindowInDays: 30, tags }, o()),
        );
        new aws.kms.Alias(...transform(t.kmsAlias, `${name}-secrets`, { name: `alias/${args.clusterName}-eks-secrets`, targetKeyId: this.kmsKey.keyId }, o()));
        const logGroup = new aws.cloudwatch.LogGroup(...transform(t.logGroup, `${name}-logs`, { name: `/aws/eks/${args.clusterName}/cluster`, retentionInDays: args.logRetentionDays ?? defaults.controlPlaneLogRetentionDays, tags }, o()));

        const clusterRole = roleWithPolicies(
            `${name}-cluster-role`,
            { service: "eks.amazonaws.com", policies: [MANAGED_POLICY.eksCluster], description: `EKS cluster ${args.clusterName}`, tags, transform: t.clusterRole },
            o(),
        );
        const nodeRole = roleWithPolicies(
            `${name}-node-role`,
            { service: "ec2.amazonaws.com", policies: [MANAGED_POLICY.eksWorkerNode, MANAGED_POLICY.ecrReadOnly], description: `Nodes of EKS cluster ${args.clusterName}`, tags, transform: t.nodeRole },
            o(),
        );
        this.nodeRole = nodeRole.role;
        this.nodeRoleReady = nodeRole.attachments;

        const publicAccess = publicAccessCidrs.length > 0;
        this.cluster = new aws.eks.Cluster(
            ...transform(
                t.cluster,
                name,
                {
                    name: args.clusterName,
                    version: args.kubernetesVersion ?? defaults.kubernetesVersion,
                    roleArn: clusterRole.role.arn,
                    vpcConfig: {
                        subnetIds: args.subnetIds,
                        securityGroupIds: [args.clusterSecurityGroupId],
                        endpointPrivateAccess: true,
                        endpointPublicAccess: publicAccess,
                        publicAccessCidrs: publicAccess ? [...publicAccessCidrs] : undefined,
                    },
                    accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
                    encryptionConfig: { provider: { keyArn: this.kmsKey.arn }, resources: ["secrets"] },
                    enabledClusterLogTypes: [...(args.logTypes ?? defaults.controlPlaneLogs)],
                    bootstrapSelfManagedAddons: false,
                    tags,
                },
                { parent: this, dependsOn: [logGroup, ...clusterRole.attachments] },
            ),
        );
        this.clusterName = this.cluster.name;
        this.endpoint = this.cluster.endpoint;
        this.eksSecurityGroupId = this.cluster.vpcConfig.apply((v) => v?.clusterSecurityGroupId);

        (args.adminPrincipalArns ?? defaults.adminRoleArns).forEach((principalArn, i) => {
            const entry = new aws.eks.AccessEntry(...transform(t.accessEntry, `${name}-admin-${i}`, { clusterName: this.cluster.name, principalArn, type: "STANDARD", tags }, o()));
            new aws.eks.AccessPolicyAssociation(
                ...transform(
                    t.accessPolicyAssociation,
                    `${name}-admin-${i}`,
                    { clusterName: this.cluster.name, principalArn, policyArn: CLUSTER_ADMIN_ACCESS_POLICY, accessScope: { type: "cluster" } },
                    { parent: this, dependsOn: [entry] },
                ),
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

/**
 * EKS managed add-ons, in two phases around the node groups:
 *
 * 1. `EksNodeAddons` (before any node): vpc-cni, kube-proxy, eks-pod-identity-agent. Nodes need a
 *    CNI to become Ready, and the CNI gets its AWS credentials through Pod Identity.
 * 2. `EksClusterAddons` (after the node groups): coredns, aws-fsx-csi-driver,
 *    eks-node-monitoring-agent. Their Deployments need a node to run on, otherwise the add-on
 *    stays DEGRADED and its creation times out.
 *
 * Versions are not pinned: EKS installs its default version for the cluster's Kubernetes version.
 * For the VPC CNI that matters: `efa-only` interfaces need vpc-cni >= v1.18.4, which is older than
 * the defaults of the Kubernetes versions EKS supports today (⚠ not verified against the EKS
 * add-on version table here; check `aws eks describe-addon-versions --addon-name vpc-cni`).
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { MANAGED_POLICY } from "../catalog/aws";
import { podIdentityRole } from "./iam";
import { nodeMonitoringAgentValues } from "../domain/addons";
import { EBS_CSI } from "../catalog/observability";
import { transform, type Transform } from "./transform";
import type { RoleTransform } from "./iam";

/**
 * Service account of the FSx CSI controller (the EKS add-on's name for it). It gets no IAM role:
 * the stack's FSx volume is a static PersistentVolume (components/sharedVolume.ts), which the node
 * plugin mounts with the Lustre client and no AWS call. Only dynamic provisioning (a StorageClass,
 * which miles-cluster does not create) would need one, and AmazonFSxFullAccess would let a
 * compromised controller delete every file system of the account, the checkpoint one included.
 */
export const FSX_CSI_CONTROLLER_SA = "fsx-csi-controller-sa";


/**
 * VPC CNI add-on configuration: enforce Kubernetes NetworkPolicies (the add-on's network policy
 * agent, VPC CNI >= 1.14; https://docs.aws.amazon.com/eks/latest/userguide/cni-network-policy-configure.html,
 * value `enableNetworkPolicy: "true"` as the aws-vpc-cni chart spells it). Without it the
 * training namespace's NetworkPolicies are accepted but do nothing.
 */
export const VPC_CNI_VALUES = { enableNetworkPolicy: "true" } as const;

export interface ManagedAddonsArgs {
    /**
     * The EKS cluster the add-ons are installed on.
     * @example controlPlane.clusterName
     */
    clusterName: pulumi.Input<string>;
    /**
     * Tags of every add-on (and role).
     * @default {}
     * @example { "miles-cluster/stack": "prod" }
     */
    tags?: Record<string, string>;
    /**
     * What the add-ons wait for.
     * @default []
     * @example [systemNodeGroup.nodeGroup]
     */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export interface EksNodeAddonsArgs extends ManagedAddonsArgs {
    /**
     * Changes to the args of the underlying add-ons and of the VPC CNI's Pod Identity role.
     * @default none
     * @example { vpcCni: { addonVersion: "v1.20.4-eksbuild.1" } }
     */
    transform?: {
        podIdentityAgent?: Transform<aws.eks.AddonArgs>;
        vpcCni?: Transform<aws.eks.AddonArgs>;
        vpcCniRole?: RoleTransform;
        kubeProxy?: Transform<aws.eks.AddonArgs>;
    };
}

export interface EksClusterAddonsArgs extends ManagedAddonsArgs {
    /**
     * Install the EBS CSI driver (the monitoring volumes need a dynamic provisioner; EKS ships none).
     * @default false
     * @example true
     */
    ebsCsi?: boolean;
    /**
     * Changes to the args of the underlying add-ons (and of the EBS CSI driver's Pod Identity role).
     * @default none
     * @example { coredns: { configurationValues: JSON.stringify({ replicaCount: 3 }) } }
     */
    transform?: {
        coredns?: Transform<aws.eks.AddonArgs>;
        fsxCsiDriver?: Transform<aws.eks.AddonArgs>;
        nodeMonitoringAgent?: Transform<aws.eks.AddonArgs>;
        ebsCsiDriver?: Transform<aws.eks.AddonArgs>;
        ebsCsiDriverRole?: RoleTransform;
    };
}

function addon(
    parent: pulumi.Resource,
    name: string,
    addonName: string,
    clusterName: pulumi.Input<string>,
    extra: Partial<aws.eks.AddonArgs>,
    tags: Record<string, string>,
    dependsOn: pulumi.Input<pulumi.Resource>[] | undefined,
    t: Transform<aws.eks.AddonArgs> | undefined,
) {
    return new aws.eks.Addon(
        ...transform(t, `${name}-${addonName}`, { clusterName, addonName, resolveConflictsOnCreate: "OVERWRITE", resolveConflictsOnUpdate: "OVERWRITE", tags, ...extra }, { parent, dependsOn }),
    );
}

/** Add-ons every node needs before it can become Ready. */
export class EksNodeAddons extends pulumi.ComponentResource {
    readonly addons: aws.eks.Addon[];

    constructor(name: string, args: EksNodeAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:aws:EksNodeAddons", name, {}, opts);
        const tags = args.tags ?? {};
        const t = args.transform ?? {};
        const podIdentity = addon(this, name, "eks-pod-identity-agent", args.clusterName, {}, tags, args.dependsOn, t.podIdentityAgent);
        const cniRole = podIdentityRole(`${name}-vpc-cni`, [MANAGED_POLICY.eksCni], "VPC CNI (aws-node) through EKS Pod Identity", tags, { parent: this }, t.vpcCniRole);
        const vpcCni = addon(
            this,
            name,
            "vpc-cni",
            args.clusterName,
            { podIdentityAssociations: [{ serviceAccount: "aws-node", roleArn: cniRole.role.arn }], configurationValues: JSON.stringify(VPC_CNI_VALUES) },
            tags,
            [...(args.dependsOn ?? []), podIdentity, ...cniRole.attachments],
            t.vpcCni,
        );
        const kubeProxy = addon(this, name, "kube-proxy", args.clusterName, {}, tags, args.dependsOn, t.kubeProxy);
        this.addons = [podIdentity, vpcCni, kubeProxy];
        this.registerOutputs({});
    }
}

/** Add-ons that run Deployments, created once nodes exist. */
export class EksClusterAddons extends pulumi.ComponentResource {
    readonly addons: aws.eks.Addon[];

    constructor(name: string, args: EksClusterAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:aws:EksClusterAddons", name, {}, opts);
        const tags = args.tags ?? {};
        const t = args.transform ?? {};
        const coredns = addon(this, name, "coredns", args.clusterName, {}, tags, args.dependsOn, t.coredns);
        // No role for FSX_CSI_CONTROLLER_SA (see there): static volumes only.
        const fsx = addon(this, name, "aws-fsx-csi-driver", args.clusterName, {}, tags, args.dependsOn, t.fsxCsiDriver);
        const monitoring = addon(
            this,
            name,
            "eks-node-monitoring-agent",
            args.clusterName,
            { configurationValues: JSON.stringify(nodeMonitoringAgentValues()) },
            tags,
            args.dependsOn,
            t.nodeMonitoringAgent,
        );
        this.addons = [coredns, fsx, monitoring];
        if (args.ebsCsi) {
            // Its controller calls EC2 (CreateVolume, AttachVolume): AmazonEBSCSIDriverPolicy through Pod
            // Identity on ebs-csi-controller-sa (catalog/observability.ts EBS_CSI for the sources).
            const role = podIdentityRole(`${name}-ebs-csi`, [EBS_CSI.policyArn], "EBS CSI controller (ebs-csi-controller-sa) through EKS Pod Identity", tags, { parent: this }, t.ebsCsiDriverRole);
            this.addons.push(
                addon(
                    this,
                    name,
                    EBS_CSI.addonName,
                    args.clusterName,
                    { podIdentityAssociations: [{ serviceAccount: EBS_CSI.serviceAccount, roleArn: role.role.arn }] },
                    tags,
                    [...(args.dependsOn ?? []), ...role.attachments],
                    t.ebsCsiDriver,
                ),
            );
        }
        this.registerOutputs({});
    }
}

/**
 * IAM roles of the EKS cluster, each with the minimum AWS managed policies for its job:
 *
 * | role | trusted by | managed policies |
 * |---|---|---|
 * | cluster | eks.amazonaws.com | AmazonEKSClusterPolicy |
 * | node (system + GPU) | ec2.amazonaws.com | AmazonEKSWorkerNodePolicy, AmazonEC2ContainerRegistryReadOnly |
 * | vpc-cni (`aws-node`) | pods.eks.amazonaws.com (Pod Identity) | AmazonEKS_CNI_Policy |
 *
 * The FSx CSI controller gets no role: the FSx volume is static (see FSX_CSI_CONTROLLER_SA in
 * eksAddons.ts). The CNI policy is deliberately not on the node role: with it there, every pod that can reach the
 * instance metadata service could modify the VPC's network interfaces. EKS managed node groups
 * check the node role for AmazonEKSWorkerNodePolicy and AmazonEC2ContainerRegistryReadOnly, so
 * the newer, narrower ...PullOnly policy is not used. ARNs are for the commercial `aws` partition.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { POD_IDENTITY_SERVICE, serviceTrustPolicy } from "../domain/iam";
import { transform, type Transform } from "./transform";

/** Transforms of a role and of each of its policy attachments. */
export interface RoleTransform {
    /**
     * Changes to the role's args.
     * @default none
     * @example { maxSessionDuration: 7200 }
     */
    role?: Transform<aws.iam.RoleArgs>;
    /**
     * Changes to each of its policy attachments' args.
     * @default none
     * @example (a) => { a.policyArn = "arn:aws:iam::aws:policy/ReadOnlyAccess"; }
     */
    policyAttachment?: Transform<aws.iam.RolePolicyAttachmentArgs>;
}



/**
 * A role trusted by `service` with the given managed policies attached. Returns the role and the
 * attachments (resources that use the role should wait for them).
 */
export function roleWithPolicies(
    name: string,
    args: { service: string; tagSession?: boolean; policies: string[]; description: string; tags: Record<string, string>; transform?: RoleTransform },
    opts: pulumi.CustomResourceOptions,
): { role: aws.iam.Role; attachments: aws.iam.RolePolicyAttachment[] } {
    const t = args.transform ?? {};
    const role = new aws.iam.Role(...transform(t.role, name, { assumeRolePolicy: serviceTrustPolicy(args.service, args.tagSession), description: args.description, tags: args.tags }, { ...opts }));
    const attachments = args.policies.map(
        (policyArn) => new aws.iam.RolePolicyAttachment(...transform(t.policyAttachment, `${name}-${policyArn.split("/").pop()!.toLowerCase()}`, { role: role.name, policyArn }, { ...opts })),
    );
    return { role, attachments };
}

/** A role for a Kubernetes service account through EKS Pod Identity. */
export function podIdentityRole(name: string, policies: string[], description: string, tags: Record<string, string>, opts: pulumi.CustomResourceOptions, t?: RoleTransform) {
    return roleWithPolicies(name, { service: POD_IDENTITY_SERVICE, tagSession: true, policies, description, tags, transform: t }, opts);
}

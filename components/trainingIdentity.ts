/**
 * Who the training pods are: a Kubernetes service account in the training namespace and, on the
 * EKS cluster miles-cluster creates, an IAM role bound to it by EKS Pod Identity with access to the
 * checkpoint bucket and nothing else. On a bring-your-own cluster only the service account exists.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { POD_IDENTITY_TRUST_POLICY, bucketPolicy } from "../domain/iam";
import { partOfLabels } from "../domain/labels";



export interface TrainingIdentityArgs {
    /**
     * Service account name.
     * @default "miles-training"
     */
    serviceAccountName: string;
    /** Training namespace (its resource, so the account is created after it). */
    namespace: { name: string; resource: pulumi.Resource };
    provider: k8s.Provider;
    /** Present on the EKS cluster miles-cluster creates: then the IAM role and Pod Identity association are created. */
    eks?: { clusterName: pulumi.Input<string> };
    /**
     * The checkpoint bucket, when the storage has one (FSx data repository); no S3 access otherwise.
     * `kmsKeyArn`: its customer-managed SSE-KMS key, if any (the role may then use that key).
     */
    bucket?: { arn: pulumi.Input<string>; kmsKeyArn?: string };
    /** Tags for the AWS resources. */
    tags?: Record<string, string>;
}

/** Service account of the training pods (+ IAM role and Pod Identity association on our EKS cluster). */
export class TrainingIdentity extends pulumi.ComponentResource {
    readonly serviceAccount: k8s.core.v1.ServiceAccount;
    readonly serviceAccountName: string;
    readonly role?: aws.iam.Role;
    readonly association?: aws.eks.PodIdentityAssociation;
    /** What a training pod must wait for (the association must exist before the pod is created). */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: TrainingIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:addons:TrainingIdentity", name, {}, opts);
        this.serviceAccountName = args.serviceAccountName;
        this.serviceAccount = new k8s.core.v1.ServiceAccount(
            name,
            { metadata: { name: args.serviceAccountName, namespace: args.namespace.name, labels: partOfLabels() } },
            { parent: this, provider: args.provider, dependsOn: [args.namespace.resource] },
        );
        if (args.eks) {
            this.role = this.roleFor(name, args);
            this.association = new aws.eks.PodIdentityAssociation(
                name,
                { clusterName: args.eks.clusterName, namespace: args.namespace.name, serviceAccount: args.serviceAccountName, roleArn: this.role.arn, tags: args.tags },
                { parent: this },
            );
        }
        this.ready = [this.serviceAccount, ...(this.association ? [this.association] : [])];
        this.registerOutputs({ serviceAccountName: this.serviceAccountName, roleArn: this.role?.arn });
    }

    private roleFor(name: string, args: TrainingIdentityArgs): aws.iam.Role {
        const role = new aws.iam.Role(
            name,
            { description: `miles training pods (${args.namespace.name}/${args.serviceAccountName}) via EKS Pod Identity`, assumeRolePolicy: JSON.stringify(POD_IDENTITY_TRUST_POLICY), tags: args.tags },
            { parent: this },
        );
        const bucket = args.bucket;
        if (bucket) {
            new aws.iam.RolePolicy(`${name}-checkpoints`, { role: role.name, policy: pulumi.output(bucket.arn).apply((arn) => JSON.stringify(bucketPolicy(arn, bucket.kmsKeyArn))) }, { parent: this });
        }
        return role;
    }
}

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
import { transform, type Transform } from "./transform";
import { sectionDefaults } from "./defaults";
import { logsPolicy } from "../domain/monitoring/logs";



export interface TrainingIdentityArgs {
    /**
     * Service account name.
     * @default "miles-training" (the stack default, `addons.trainingServiceAccount`)
     * @example "rl-runner"
     */
    serviceAccountName?: string;
    /**
     * Training namespace (its resource, so the account is created after it).
     * @example new TrainingNamespace("ns", { provider: cluster.provider })
     */
    namespace: { name: string; resource?: pulumi.Resource };
    /**
     * Provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * Present on the EKS cluster miles-cluster creates: then the IAM role and Pod Identity association are created.
     * @default none: the service account only (a bring-your-own cluster)
     * @example { clusterName: cluster.aws.clusterName }
     */
    eks?: { clusterName: pulumi.Input<string> };
    /**
     * The checkpoint bucket, when the storage has one (FSx data repository); no S3 access otherwise.
     * `kmsKeyArn`: its customer-managed SSE-KMS key, if any (the role may then use that key).
     * @default no bucket access
     * @example storage.bucket
     */
    bucket?: { arn: pulumi.Input<string>; kmsKeyArn?: string };
    /**
     * ARN of the CloudWatch Logs group the pods' Fluent Bit sidecars write to: the role may create
     * streams and put events in it, nothing else (domain/monitoring/logs.ts logsPolicy).
     * @default no CloudWatch Logs access
     * @example logGroup.arn
     */
    logGroupArn?: pulumi.Input<string>;
    /**
     * Tags for the AWS resources.
     * @default no tags
     * @example { "miles-cluster/stack": "prod" }
     */
    tags?: Record<string, string>;
    /**
     * Changes to the args of the underlying resources.
     * @default none
     * @example { serviceAccount: (a) => { a.metadata = { ...a.metadata, annotations: { team: "rl" } }; } }
     */
    transform?: {
        serviceAccount?: Transform<k8s.core.v1.ServiceAccountArgs>;
        role?: Transform<aws.iam.RoleArgs>;
        rolePolicy?: Transform<aws.iam.RolePolicyArgs>;
        podIdentityAssociation?: Transform<aws.eks.PodIdentityAssociationArgs>;
    };
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
        const serviceAccountName = args.serviceAccountName ?? sectionDefaults.addons().trainingServiceAccount;
        const t = args.transform ?? {};
        this.serviceAccountName = serviceAccountName;
        this.serviceAccount = new k8s.core.v1.ServiceAccount(
            ...transform(
                t.serviceAccount,
                name,
                { metadata: { name: serviceAccountName, namespace: args.namespace.name, labels: partOfLabels() } },
                { parent: this, provider: args.provider, dependsOn: args.namespace.resource ? [args.namespace.resource] : [] },
            ),
        );
        if (args.eks) {
            this.role = this.roleFor(name, { ...args, serviceAccountName });
            this.association = new aws.eks.PodIdentityAssociation(
                ...transform(
                    t.podIdentityAssociation,
                    name,
                    { clusterName: args.eks.clusterName, namespace: args.namespace.name, serviceAccount: serviceAccountName, roleArn: this.role.arn, tags: args.tags },
                    { parent: this },
                ),
            );
        }
        this.ready = [this.serviceAccount, ...(this.association ? [this.association] : [])];
        this.registerOutputs({ serviceAccountName: this.serviceAccountName, roleArn: this.role?.arn });
    }

    private roleFor(name: string, args: TrainingIdentityArgs & { serviceAccountName: string }): aws.iam.Role {
        const t = args.transform ?? {};
        const role = new aws.iam.Role(
            ...transform(
                t.role,
                name,
                { description: `miles training pods (${args.namespace.name}/${args.serviceAccountName}) via EKS Pod Identity`, assumeRolePolicy: JSON.stringify(POD_IDENTITY_TRUST_POLICY), tags: args.tags },
                { parent: this },
            ),
        );
        const bucket = args.bucket;
        if (bucket) {
            new aws.iam.RolePolicy(
                ...transform(t.rolePolicy, `${name}-checkpoints`, { role: role.name, policy: pulumi.output(bucket.arn).apply((arn) => JSON.stringify(bucketPolicy(arn, bucket.kmsKeyArn))) }, { parent: this }),
            );
        }
        if (args.logGroupArn) {
            new aws.iam.RolePolicy(...transform(t.rolePolicy, `${name}-logs`, { role: role.name, policy: pulumi.output(args.logGroupArn).apply((arn) => JSON.stringify(logsPolicy(arn))) }, { parent: this }));
        }
        return role;
    }
}

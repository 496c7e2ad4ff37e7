/**
 * NodeTerminationHandler: AWS Node Termination Handler in Queue Processor mode for a cluster with
 * spot GPU groups (domain/lifecycle/spot.ts): it reads the spot interruption queue
 * (components/spotInterruptionQueue.ts), taints the node the event names, cordons and drains it.
 *
 * - an IAM role through EKS Pod Identity (NTH v1.25.6 uses aws-sdk-go v1.55.4, go.mod:9; Pod
 *   Identity needs v1.47.11 or later: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-minimum-sdk.html)
 *   with the describe calls and receive/delete on this one queue;
 * - the pinned chart (catalog/versions.ts CHARTS.nodeTerminationHandler) on the system nodes.
 *
 * Verified offline only (values against the chart's values.yaml keys, IAM); the drain itself is
 * verified only on a real cluster.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { CHARTS } from "../catalog/versions";
import { POD_IDENTITY_TRUST_POLICY } from "../domain/iam";
import { NTH_SERVICE_ACCOUNT, nodeTerminationHandlerPolicy, nodeTerminationHandlerValues } from "../domain/lifecycle/spot";
import { helmAddon } from "./helmAddon";
import { transform, type Transform } from "./transform";
import { configuredRegion } from "./defaults";

export interface NodeTerminationHandlerArgs {
    /**
     * EKS cluster (Pod Identity association: created after it).
     * @example controlPlane.clusterName
     */
    clusterName: pulumi.Input<string>;
    /**
     * The spot interruption queue's URL and ARN.
     * @example { url: queue.queueUrl, arn: queue.queueArn }
     */
    queue: { url: pulumi.Input<string>; arn: pulumi.Input<string> };
    /**
     * AWS region of the queue and the instances (the chart's `awsRegion`).
     * @default the stack's `aws:region` config
     * @example "us-east-1"
     */
    region?: string;
    /**
     * Provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * The system node group (the handler runs there), the queue's policy and rule targets.
     * @default []
     * @example [systemNodeGroup.nodeGroup, ...queue.ready]
     */
    dependsOn?: pulumi.Resource[];
    /**
     * Tags of the IAM role and the Pod Identity association.
     * @default {}
     * @example { "miles-cluster/stack": "prod" }
     */
    tags?: Record<string, string>;
    /**
     * Changes to the args of the underlying resources.
     * @default none
     * @example { release: { timeout: 900 } }
     */
    transform?: {
        role?: Transform<aws.iam.RoleArgs>;
        rolePolicy?: Transform<aws.iam.RolePolicyArgs>;
        podIdentityAssociation?: Transform<aws.eks.PodIdentityAssociationArgs>;
        release?: Transform<k8s.helm.v3.ReleaseArgs>;
    };
}

export class NodeTerminationHandler extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;
    readonly role: aws.iam.Role;

    constructor(name: string, args: NodeTerminationHandlerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:cluster:NodeTerminationHandler", name, {}, opts);
        const t = args.transform ?? {};
        const tags = args.tags ?? {};
        const region = args.region ?? configuredRegion();
        if (!region) throw new Error("NodeTerminationHandler: `region` (or the stack's aws:region config) is required");
        this.role = new aws.iam.Role(
            ...transform(
                t.role,
                `${name}-role`,
                { description: `AWS Node Termination Handler (kube-system/${NTH_SERVICE_ACCOUNT}) via EKS Pod Identity`, assumeRolePolicy: JSON.stringify(POD_IDENTITY_TRUST_POLICY), tags },
                { parent: this },
            ),
        );
        new aws.iam.RolePolicy(
            ...transform(t.rolePolicy, `${name}-policy`, { role: this.role.id, policy: pulumi.output(args.queue.arn).apply((arn) => JSON.stringify(nodeTerminationHandlerPolicy(arn))) }, { parent: this }),
        );
        const association = new aws.eks.PodIdentityAssociation(
            ...transform(
                t.podIdentityAssociation,
                `${name}-identity`,
                { clusterName: args.clusterName, namespace: "kube-system", serviceAccount: NTH_SERVICE_ACCOUNT, roleArn: this.role.arn, tags },
                { parent: this },
            ),
        );
        this.release = helmAddon(
            name,
            {
                pin: CHARTS.nodeTerminationHandler,
                releaseName: NTH_SERVICE_ACCOUNT,
                namespace: "kube-system",
                values: nodeTerminationHandlerValues(region, args.queue.url),
                policy: { atomic: true, timeout: 600 },
                provider: args.provider,
                dependsOn: [...(args.dependsOn ?? []), association],
                transform: t.release,
            },
            this,
        );
        this.registerOutputs({ release: this.release.name, roleArn: this.role.arn });
    }
}

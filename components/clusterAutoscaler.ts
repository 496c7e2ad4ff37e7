/**
 * ClusterAutoscaler: scales the on-demand and spot GPU node groups between 0 and their size, so
 * GPU nodes appear for a pending run and go away after it (about $55 an hour per idle p5 node).
 * Capacity Block and ODCR groups are not touched: they are paid whether used or not.
 *
 * - the ASG tags of each autoscaled group (discovery + scale-from-zero node template: GPUs, EFA,
 *   labels, taints; EKS does not copy node group tags to its ASG);
 * - an IAM role through EKS Pod Identity with the README's policy, the two mutating actions limited
 *   to ASGs tagged `miles-cluster/autoscale=true`;
 * - the pinned `cluster-autoscaler` chart (catalog/versions.ts) on the system nodes.
 *
 * Verified offline only (values, tags, IAM); scaling itself is verified only on a real cluster.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { CHARTS } from "../catalog/versions";
import { CA_AUTOSCALE_TAG, CA_IAM_DESCRIBE_ACTIONS, CA_IAM_SCALE_ACTIONS } from "../catalog/autoscaler";
import { POD_IDENTITY_TRUST_POLICY } from "../domain/iam";
import { clusterAutoscalerValues } from "../domain/lifecycle/autoscaling";
import { helmAddon } from "./helmAddon";

export interface ClusterAutoscalerArgs {
    /** EKS cluster (Pod Identity association: created after it). */
    clusterName: pulumi.Input<string>;
    /**
     * The same name as known from config (clusterNameOf), for the auto-discovery tag in the values.
     * @example "miles-dev"
     */
    discoveryClusterName: string;
    /** @example "us-east-1" */
    region: string;
    /** Autoscaled groups: their ASG name and the tags it must carry (domain/lifecycle/autoscaling.ts). */
    groups: Array<{ name: string; asgName: pulumi.Input<string>; tags: Record<string, string> }>;
    provider: k8s.Provider;
    /** The system node group (the chart runs there) and add-ons it waits for. */
    dependsOn?: pulumi.Resource[];
    /** @default {} */
    tags?: Record<string, string>;
}

/** Release and service account name in kube-system. */
export const CLUSTER_AUTOSCALER_SA = "cluster-autoscaler";

export class ClusterAutoscaler extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;
    readonly role: aws.iam.Role;

    constructor(name: string, args: ClusterAutoscalerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:cluster:ClusterAutoscaler", name, {}, opts);
        const asgTags = args.groups.flatMap((g) =>
            Object.entries(g.tags).map(
                ([key, value], i) =>
                    new aws.autoscaling.Tag(`${name}-${g.name}-tag-${i}`, { autoscalingGroupName: g.asgName, tag: { key, value, propagateAtLaunch: false } }, { parent: this }),
            ),
        );
        this.role = new aws.iam.Role(`${name}-role`, { description: "Cluster Autoscaler (kube-system/cluster-autoscaler) via EKS Pod Identity", assumeRolePolicy: JSON.stringify(POD_IDENTITY_TRUST_POLICY), tags: args.tags }, { parent: this });
        new aws.iam.RolePolicy(
            `${name}-policy`,
            {
                role: this.role.id,
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [
                        { Sid: "Describe", Effect: "Allow", Action: [...CA_IAM_DESCRIBE_ACTIONS], Resource: "*" },
                        // Only the groups miles-cluster autoscales: never a Capacity Block, ODCR or system group.
                        { Sid: "ScaleAutoscaledGroups", Effect: "Allow", Action: [...CA_IAM_SCALE_ACTIONS], Resource: "*", Condition: { StringEquals: { [`aws:ResourceTag/${CA_AUTOSCALE_TAG}`]: "true" } } },
                    ],
                }),
            },
            { parent: this },
        );
        const association = new aws.eks.PodIdentityAssociation(`${name}-identity`, { clusterName: args.clusterName, namespace: "kube-system", serviceAccount: CLUSTER_AUTOSCALER_SA, roleArn: this.role.arn, tags: args.tags }, { parent: this });
        this.release = helmAddon(
            name,
            {
                pin: CHARTS.clusterAutoscaler,
                releaseName: CLUSTER_AUTOSCALER_SA,
                namespace: "kube-system",
                values: clusterAutoscalerValues(args.discoveryClusterName, args.region, CLUSTER_AUTOSCALER_SA),
                policy: { atomic: true, timeout: 600 },
                provider: args.provider,
                dependsOn: [...(args.dependsOn ?? []), association, ...asgTags],
            },
            this,
        );
        this.registerOutputs({ release: this.release.name, roleArn: this.role.arn });
    }
}

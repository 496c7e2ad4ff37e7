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
import { transform, type Transform } from "./transform";
import { configuredRegion } from "./defaults";

/** One autoscaled group: its ASG (EKS creates and names it) and the tags the ASG must carry. */
export interface AutoscaledGroup {
    /**
     * The GPU node group's name (resource names of its tags).
     * @example "h100"
     */
    name: string;
    /**
     * The group's Auto Scaling group (`GpuNodeGroup.asgName`).
     * @example gpuGroup.asgName
     */
    asgName: pulumi.Input<string>;
    /**
     * Discovery and scale-from-zero node-template tags (domain/lifecycle/autoscaling.ts).
     * @example capacityPlanOf(groupConfig).asgTags
     */
    tags: Record<string, string>;
}

export interface ClusterAutoscalerArgs {
    /**
     * EKS cluster (Pod Identity association: created after it).
     * @example controlPlane.clusterName
     */
    clusterName: pulumi.Input<string>;
    /**
     * The same name as known from config (clusterNameOf), for the auto-discovery tag in the values.
     * @example "miles-dev"
     */
    discoveryClusterName: string;
    /**
     * AWS region of the cluster (the chart's `awsRegion`).
     * @default the stack's `aws:region` config
     * @example "us-east-1"
     */
    region?: string;
    /**
     * Autoscaled groups: their ASG name and the tags it must carry (domain/lifecycle/autoscaling.ts).
     * @example [{ name: "h100", asgName: gpuGroup.asgName, tags: capacityPlanOf(groupConfig).asgTags }]
     */
    groups: AutoscaledGroup[];
    /**
     * Keys of the taints the GPU nodes carry only while they start (e.g. the FSx CSI startup taint):
     * the autoscaler treats such nodes as not ready yet instead of scaling up again for the pods they
     * do not admit yet (cluster-autoscaler FAQ.md "Startup taints", `--startup-taint`).
     * @default []
     * @example [FSX_STARTUP_TAINT.key]
     */
    startupTaints?: string[];
    /**
     * Provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * The system node group (the chart runs there) and add-ons it waits for.
     * @default []
     * @example [systemNodeGroup.nodeGroup]
     */
    dependsOn?: pulumi.Resource[];
    /**
     * Tags of the IAM role and the Pod Identity association.
     * @default {}
     * @example { "miles-cluster/stack": "prod" }
     */
    tags?: Record<string, string>;
    /**
     * Changes to the args of the underlying resources (`asgTag`: every ASG tag).
     * @default none
     * @example { release: { timeout: 900 }, role: { maxSessionDuration: 7200 } }
     */
    transform?: {
        asgTag?: Transform<aws.autoscaling.TagArgs>;
        role?: Transform<aws.iam.RoleArgs>;
        rolePolicy?: Transform<aws.iam.RolePolicyArgs>;
        podIdentityAssociation?: Transform<aws.eks.PodIdentityAssociationArgs>;
        release?: Transform<k8s.helm.v3.ReleaseArgs>;
    };
}

/** Release and service account name in kube-system. */
export const CLUSTER_AUTOSCALER_SA = "cluster-autoscaler";

export class ClusterAutoscaler extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;
    readonly role: aws.iam.Role;

    constructor(name: string, args: ClusterAutoscalerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:cluster:ClusterAutoscaler", name, {}, opts);
        const t = args.transform ?? {};
        const tags = args.tags ?? {};
        const region = args.region ?? configuredRegion();
        if (!region) throw new Error("ClusterAutoscaler: `region` (or the stack's aws:region config) is required");
        const asgTags = args.groups.flatMap((g) =>
            Object.entries(g.tags).map(
                ([key, value], i) =>
                    new aws.autoscaling.Tag(...transform(t.asgTag, `${name}-${g.name}-tag-${i}`, { autoscalingGroupName: g.asgName, tag: { key, value, propagateAtLaunch: false } }, { parent: this })),
            ),
        );
        this.role = new aws.iam.Role(
            ...transform(
                t.role,
                `${name}-role`,
                { description: "Cluster Autoscaler (kube-system/cluster-autoscaler) via EKS Pod Identity", assumeRolePolicy: JSON.stringify(POD_IDENTITY_TRUST_POLICY), tags },
                { parent: this },
            ),
        );
        new aws.iam.RolePolicy(
            ...transform(
                t.rolePolicy,
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
            ),
        );
        const association = new aws.eks.PodIdentityAssociation(
            ...transform(
                t.podIdentityAssociation,
                `${name}-identity`,
                { clusterName: args.clusterName, namespace: "kube-system", serviceAccount: CLUSTER_AUTOSCALER_SA, roleArn: this.role.arn, tags },
                { parent: this },
            ),
        );
        this.release = helmAddon(
            name,
            {
                pin: CHARTS.clusterAutoscaler,
                releaseName: CLUSTER_AUTOSCALER_SA,
                namespace: "kube-system",
                values: clusterAutoscalerValues(args.discoveryClusterName, region, CLUSTER_AUTOSCALER_SA, args.startupTaints ?? []),
                policy: { atomic: true, timeout: 600 },
                provider: args.provider,
                dependsOn: [...(args.dependsOn ?? []), association, ...asgTags],
                transform: t.release,
            },
            this,
        );
        this.registerOutputs({ release: this.release.name, roleArn: this.role.arn });
    }
}

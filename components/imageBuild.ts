/**
 * EfaImageBuild: the deployment builds the project EFA image it pulls (issue 21). An AWS CodeBuild
 * project builds images/miles-efa and pushes it to the stack's ECR repository; a Job in kube-system,
 * which Pulumi awaits, starts the build and waits for it (or finds the tag already pushed). Every pod
 * pulling the image is ordered after that Job (`ready`), so no Pulumi wait can hang on an image no
 * step of the deployment pushes. What each piece does: domain/training/imageBuild.ts.
 *
 * Verified offline only (the resources, the buildspec, the trigger script against a stand-in `aws`);
 * the build itself runs only in a real account.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { CODEBUILD_EFA_BUILD, EFA_BUILD_WAIT_MINUTES } from "../catalog/imageBuild";
import { POD_IDENTITY_TRUST_POLICY, serviceTrustPolicy } from "../domain/iam";
import { efaBuildHash, efaBuildProjectName, efaBuildServicePolicy, efaBuildSpec, efaBuildTriggerJob, efaBuildTriggerPolicy, IMAGE_BUILD_LABELS, IMAGE_BUILD_NAMESPACE, type EfaImageToBuild } from "../domain/training/imageBuild";
import { transform, type Transform } from "./transform";
import { configuredRegion, currentStack } from "./defaults";

/** The Dockerfile of images/miles-efa, from the checkout or the installed package (package.json `files` ships images/). */
export function readEfaDockerfile(from: string = __dirname): string {
    for (let dir = from, i = 0; i < 6; i++, dir = path.dirname(dir)) {
        const f = path.join(dir, "images", "miles-efa", "Dockerfile");
        if (fs.existsSync(f)) return fs.readFileSync(f, "utf8");
    }
    throw new Error(`images/miles-efa/Dockerfile not found above ${from}: pass EfaImageBuildArgs.dockerfile`);
}

export interface EfaImageBuildArgs {
    /**
     * The ECR repository the image is pushed to (name, ARN, URL).
     * @example { name: "miles-cluster/prod/miles-efa", arn: repo.repository.arn, url: repo.url }
     */
    repository: { name: string; arn: pulumi.Input<string>; url: pulumi.Input<string> };
    /**
     * The images to build: tag pushed and miles base image (one trigger Job each).
     * @example [{ tag: "v0.1.0-efa1.49.0", base: "radixark/miles:v0.1.0" }]
     */
    images: EfaImageToBuild[];
    /**
     * Provider of the EKS cluster the trigger Job runs on.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * The EKS cluster (for the trigger's Pod Identity association).
     * @example { clusterName: cluster.aws.clusterName }
     */
    eks: { clusterName: pulumi.Input<string> };
    /**
     * What the trigger Job waits for: the cluster's nodes and add-ons (Pod Identity agent).
     * @default []
     * @example cluster.aws.ready
     */
    dependsOn?: pulumi.Resource[];
    /**
     * AWS region of the repository and the build.
     * @default the stack's `aws:region` config
     * @example "us-east-1"
     */
    region?: string;
    /**
     * CodeBuild project name.
     * @default `miles-efa-<stack>`
     * @example "miles-efa-prod"
     */
    projectName?: string;
    /**
     * The Dockerfile built (the whole build context).
     * @default images/miles-efa/Dockerfile of this package
     * @example fs.readFileSync("images/miles-efa/Dockerfile", "utf8")
     */
    dockerfile?: string;
    /**
     * Tags of the AWS resources.
     * @default {}
     * @example { "miles-cluster/stack": "prod" }
     */
    tags?: Record<string, string>;
    /**
     * Changes to the args of the underlying resources.
     * @default none
     * @example { project: { environment: { computeType: "BUILD_GENERAL1_XLARGE", image: "aws/codebuild/amazonlinux-x86_64-standard:5.0", type: "LINUX_CONTAINER", privilegedMode: true } } }
     */
    transform?: {
        logGroup?: Transform<aws.cloudwatch.LogGroupArgs>;
        serviceRole?: Transform<aws.iam.RoleArgs>;
        serviceRolePolicy?: Transform<aws.iam.RolePolicyArgs>;
        project?: Transform<aws.codebuild.ProjectArgs>;
        triggerRole?: Transform<aws.iam.RoleArgs>;
        triggerRolePolicy?: Transform<aws.iam.RolePolicyArgs>;
        podIdentityAssociation?: Transform<aws.eks.PodIdentityAssociationArgs>;
        serviceAccount?: Transform<k8s.core.v1.ServiceAccountArgs>;
        job?: Transform<k8s.batch.v1.JobArgs>;
    };
}

export class EfaImageBuild extends pulumi.ComponentResource {
    readonly project: aws.codebuild.Project;
    /** The trigger Jobs, one per image: whatever pulls the image depends on them. */
    readonly jobs: k8s.batch.v1.Job[];
    /** What a pod pulling the image must wait for. */
    readonly ready: pulumi.Resource[];

    constructor(name: string, args: EfaImageBuildArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:images:EfaImageBuild", name, {}, opts);
        const t = args.transform ?? {};
        const tags = args.tags ?? {};
        const region = args.region ?? configuredRegion() ?? "";
        const projectName = args.projectName ?? efaBuildProjectName(currentStack());
        const buildspec = efaBuildSpec(args.dockerfile ?? readEfaDockerfile());

        const logGroup = new aws.cloudwatch.LogGroup(...transform(t.logGroup, `${name}-logs`, { name: `/aws/codebuild/${projectName}`, retentionInDays: 30, tags }, { parent: this }));
        const serviceRole = new aws.iam.Role(
            ...transform(t.serviceRole, `${name}-codebuild`, { description: `CodeBuild ${projectName}: builds images/miles-efa and pushes it to the stack's ECR repository`, assumeRolePolicy: serviceTrustPolicy("codebuild.amazonaws.com"), tags }, { parent: this }),
        );
        const servicePolicy = new aws.iam.RolePolicy(
            ...transform(
                t.serviceRolePolicy,
                `${name}-codebuild`,
                { role: serviceRole.id, policy: pulumi.all([args.repository.arn, logGroup.arn]).apply(([repo, logs]) => JSON.stringify(efaBuildServicePolicy(repo, logs))) },
                { parent: this },
            ),
        );
        this.project = new aws.codebuild.Project(
            ...transform(
                t.project,
                `${name}-project`,
                {
                    name: projectName,
                    description: "Builds the miles EFA image (images/miles-efa) for this stack; started by the miles-efa-build Job of each pulumi up that needs a tag not yet pushed",
                    serviceRole: serviceRole.arn,
                    source: { type: "NO_SOURCE", buildspec },
                    artifacts: { type: "NO_ARTIFACTS" },
                    environment: {
                        computeType: CODEBUILD_EFA_BUILD.computeType,
                        image: CODEBUILD_EFA_BUILD.image,
                        type: CODEBUILD_EFA_BUILD.environmentType,
                        privilegedMode: true,
                        environmentVariables: [{ name: "REPOSITORY_URI", value: args.repository.url, type: "PLAINTEXT" }],
                    },
                    buildTimeout: CODEBUILD_EFA_BUILD.buildTimeoutMinutes,
                    queuedTimeout: CODEBUILD_EFA_BUILD.queuedTimeoutMinutes,
                    concurrentBuildLimit: 1,
                    logsConfig: { cloudwatchLogs: { groupName: logGroup.name, status: "ENABLED" } },
                    tags,
                },
                { parent: this, dependsOn: [servicePolicy] },
            ),
        );

        const saName = "miles-efa-build";
        const sa = new k8s.core.v1.ServiceAccount(
            ...transform(t.serviceAccount, `${name}-sa`, { metadata: { name: saName, namespace: IMAGE_BUILD_NAMESPACE, labels: { ...IMAGE_BUILD_LABELS } }, automountServiceAccountToken: false }, { parent: this, provider: args.provider, dependsOn: args.dependsOn }),
        );
        const triggerRole = new aws.iam.Role(
            ...transform(t.triggerRole, `${name}-trigger`, { description: `${IMAGE_BUILD_NAMESPACE}/${saName}: starts and watches CodeBuild ${projectName}`, assumeRolePolicy: JSON.stringify(POD_IDENTITY_TRUST_POLICY), tags }, { parent: this }),
        );
        const triggerPolicy = new aws.iam.RolePolicy(
            ...transform(
                t.triggerRolePolicy,
                `${name}-trigger`,
                { role: triggerRole.id, policy: pulumi.all([this.project.arn, args.repository.arn]).apply(([p, repo]) => JSON.stringify(efaBuildTriggerPolicy(p, repo))) },
                { parent: this },
            ),
        );
        const association = new aws.eks.PodIdentityAssociation(
            ...transform(t.podIdentityAssociation, `${name}-trigger`, { clusterName: args.eks.clusterName, namespace: IMAGE_BUILD_NAMESPACE, serviceAccount: saName, roleArn: triggerRole.arn, tags }, { parent: this }),
        );
        const wait = `${EFA_BUILD_WAIT_MINUTES}m`;
        this.jobs = args.images.map((image, i) => {
            const job = efaBuildTriggerJob({ project: projectName, repositoryName: args.repository.name, image, serviceAccountName: saName, region, hash: efaBuildHash(image, buildspec) });
            return new k8s.batch.v1.Job(
                ...transform(
                    t.job,
                    args.images.length === 1 ? `${name}-job` : `${name}-job-${i}`,
                    { metadata: job.metadata, spec: job.spec },
                    // Pulumi awaits the Job until Complete (the tag is in ECR) or Failed, at most the build's queue and run time.
                    { parent: this, provider: args.provider, dependsOn: [...(args.dependsOn ?? []), sa, association, triggerPolicy, this.project], customTimeouts: { create: wait, update: wait } },
                ),
            );
        });
        this.ready = [...this.jobs];
        this.registerOutputs({ projectName });
    }
}

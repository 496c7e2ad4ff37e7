/**
 * Facts about the in-account build of the project EFA image (images/miles-efa) with AWS CodeBuild,
 * which the deployment runs and waits for before anything pulls the image (issue 21;
 * domain/training/imageBuild.ts, components/imageBuild.ts).
 */

export const CODEBUILD_EFA_BUILD = {
    /**
     * "BUILD_GENERAL1_2XLARGE: Use up to 144 GiB memory, 72 vCPUs, and 824 GB of SSD storage for builds.
     * This compute type supports Docker images up to 100 GB uncompressed."
     * (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_ProjectEnvironment.html, computeType).
     * The miles base image (lmsysorg/sglang + Megatron, CUDA 13) is tens of GB: the smaller types' disks
     * do not hold its layers twice (pull + the new layers).
     */
    computeType: "BUILD_GENERAL1_2XLARGE",
    /** On-demand Linux x86-64 container environment (same API page, `type`). */
    environmentType: "LINUX_CONTAINER",
    /**
     * CodeBuild's curated Amazon Linux 2023 image with Docker and the AWS CLI: "aws/codebuild/amazonlinux-x86_64-standard:5.0"
     * (https://docs.aws.amazon.com/codebuild/latest/userguide/ec2-compute-images.html; definition
     * github.com/aws/aws-codebuild-docker-images al/x86_64/standard/5.0). Docker builds need
     * `privilegedMode: true` (API_ProjectEnvironment.html, privilegedMode).
     */
    image: "aws/codebuild/amazonlinux-x86_64-standard:5.0",
    /**
     * How long one build may run: 5..2160 minutes (API_CreateProject.html, timeoutInMinutes). A cold
     * build pulls the tens-of-GB base, runs the EFA installer and compiles nccl-tests: 180 minutes is
     * an engineering margin, not a measurement (no build was timed here).
     */
    buildTimeoutMinutes: 180,
    /** How long a build may wait in CodeBuild's queue: 5..480 minutes (API_CreateProject.html, queuedTimeoutInMinutes). */
    queuedTimeoutMinutes: 60,
    /** How often the trigger Job asks CodeBuild for the build's status (BatchGetBuilds). */
    pollSeconds: 30,
} as const;

/**
 * How long `pulumi up` waits for the image-build Job: the build's queue and run time plus 10 minutes
 * for the Job's own pod (image pull of the AWS CLI, Pod Identity credentials). The Job's
 * activeDeadlineSeconds is the same, so the Job controller fails it when Pulumi gives up.
 */
export const EFA_BUILD_WAIT_MINUTES = CODEBUILD_EFA_BUILD.queuedTimeoutMinutes + CODEBUILD_EFA_BUILD.buildTimeoutMinutes + 10;

/**
 * The project EFA image built by the deployment itself (issue 21): before, the default multi-node
 * image (`training.image.source: efa-build`) lived in an ECR repository the same `pulumi up` created,
 * a manually started CI workflow had to push it, and the download, convert and gate Jobs waited on
 * an image no step of the deployment produced (up to their timeouts).
 *
 * Now the stack builds it in its own account with AWS CodeBuild, and a Job Pulumi awaits starts the
 * build and waits for it; every pod that pulls the image is ordered after that Job. The pieces, as
 * pure data (components/imageBuild.ts registers them):
 *
 * - the CodeBuild project's buildspec (version 0.2, https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html):
 *   the Dockerfile of images/miles-efa is the whole build context, carried inside the buildspec
 *   (base64) so the project needs no source bucket (`source.type: NO_SOURCE`);
 * - the trigger script (AWS CLI v2 image): nothing to do when the tag is already in ECR (tags are
 *   immutable, components/imageRepository.ts); else wait for a build of the project already running
 *   (a retried pod, a second `pulumi up`), else StartBuild with the tag and base image, poll
 *   BatchGetBuilds until the build ends, and check the tag is in ECR;
 * - the IAM policies of CodeBuild's service role (push to this repository only, its own log group)
 *   and of the trigger's Pod Identity role (start and read builds of this project, describe images of
 *   this repository).
 *
 * The image build itself (Docker in CodeBuild, Docker Hub pulls of the base, the EFA installer) is
 * verified only on a real AWS account; offline, the script runs against a stand-in `aws` (test/imageBuild.test.ts).
 */
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import type * as k8s from "@pulumi/kubernetes";
import { IMAGES, imageRef } from "../../catalog/versions";
import { CODEBUILD_EFA_BUILD, EFA_BUILD_WAIT_MINUTES } from "../../catalog/imageBuild";
import { hardenPodSpec } from "../security/pods";

/**
 * Where the trigger Job runs: kube-system. Not the training namespace: Kueue's Job webhooks
 * (failurePolicy Fail) skip kube-system (domain/kueue.ts), the namespace's default-deny NetworkPolicies
 * do not apply, and the build can start as soon as the system nodes are up, while add-ons and storage
 * are still being created.
 */
export const IMAGE_BUILD_NAMESPACE = "kube-system";

/** One image to build: the tag pushed and the miles image it is built FROM (`MILES_IMAGE` build arg of the Dockerfile). */
export interface EfaImageToBuild {
    /** `<miles tag>-efa<installer>` (catalog/fabric.ts efaImageTag). */
    tag: string;
    /** `repository:tag` of the miles base image. */
    base: string;
}

/** CodeBuild project name of a stack's EFA build: `[A-Za-z0-9][A-Za-z0-9-_]{1,254}` (API_CreateProject.html, name). */
export function efaBuildProjectName(stack: string): string {
    return `miles-efa-${stack.replace(/[^A-Za-z0-9_-]+/g, "-")}`.slice(0, 255);
}

/** The CodeBuild buildspec: log in to ECR, build the Dockerfile FROM `$MILES_IMAGE`, push `$REPOSITORY_URI:$IMAGE_TAG`. */
export function efaBuildSpec(dockerfile: string): string {
    const b64 = Buffer.from(dockerfile, "utf8").toString("base64");
    return stringify(
        {
            version: 0.2,
            env: { shell: "bash" },
            phases: {
                pre_build: {
                    commands: [
                        "mkdir -p /tmp/miles-efa",
                        `echo '${b64}' | base64 -d > /tmp/miles-efa/Dockerfile`,
                        'aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}"',
                    ],
                },
                build: {
                    commands: [
                        'DOCKER_BUILDKIT=1 docker build --platform linux/amd64 --build-arg "MILES_IMAGE=$MILES_IMAGE" -t "$REPOSITORY_URI:$IMAGE_TAG" /tmp/miles-efa',
                        'docker push "$REPOSITORY_URI:$IMAGE_TAG"',
                    ],
                },
            },
        },
        { lineWidth: 0 },
    );
}

/**
 * The trigger Job's script (POSIX sh; AWS CLI v2). Env: PROJECT, REPOSITORY_NAME, IMAGE_TAG,
 * MILES_IMAGE, POLL_SECONDS (and AWS_REGION for the CLI).
 */
export const EFA_BUILD_TRIGGER_SCRIPT = `set -eu
exists() { aws ecr describe-images --repository-name "$REPOSITORY_NAME" --image-ids "imageTag=$IMAGE_TAG" >/dev/null 2>&1; }
status() { aws codebuild batch-get-builds --ids "$1" --query 'builds[0].buildStatus' --output text; }
wait_build() { while [ "$(status "$1")" = IN_PROGRESS ]; do sleep "$POLL_SECONDS"; done; }
if exists; then echo "$REPOSITORY_NAME:$IMAGE_TAG is already in ECR: nothing to build"; exit 0; fi
last=$(aws codebuild list-builds-for-project --project-name "$PROJECT" --sort-order DESCENDING --query 'ids[0]' --output text)
if [ -n "$last" ] && [ "$last" != None ] && [ "$(status "$last")" = IN_PROGRESS ]; then
  echo "build $last of $PROJECT is running: waiting for it"
  wait_build "$last"
  if exists; then echo "$REPOSITORY_NAME:$IMAGE_TAG pushed by build $last"; exit 0; fi
fi
id=$(aws codebuild start-build --project-name "$PROJECT" --environment-variables-override "name=IMAGE_TAG,value=$IMAGE_TAG,type=PLAINTEXT" "name=MILES_IMAGE,value=$MILES_IMAGE,type=PLAINTEXT" --query 'build.id' --output text)
echo "started CodeBuild build $id of $PROJECT ($REPOSITORY_NAME:$IMAGE_TAG FROM $MILES_IMAGE)"
wait_build "$id"
result=$(status "$id")
if [ "$result" = SUCCEEDED ] && exists; then echo "$REPOSITORY_NAME:$IMAGE_TAG built by $id"; exit 0; fi
echo "CodeBuild build $id ended $result without pushing $REPOSITORY_NAME:$IMAGE_TAG; its log: aws logs tail /aws/codebuild/$PROJECT, or aws codebuild batch-get-builds --ids $id" >&2
exit 1
`;

/** A short hash of what a build produces (tag, base, buildspec): the trigger Job's name changes with it, so a changed image is built by a new Job. */
export function efaBuildHash(image: EfaImageToBuild, buildspec: string): string {
    return createHash("sha256").update(JSON.stringify({ image, buildspec })).digest("hex").slice(0, 10);
}

/** Labels of the trigger's objects. */
export const IMAGE_BUILD_LABELS = { "app.kubernetes.io/name": "miles-efa-build", "app.kubernetes.io/part-of": "miles-cluster" } as const;

export interface TriggerJobArgs {
    project: string;
    repositoryName: string;
    image: EfaImageToBuild;
    serviceAccountName: string;
    region: string;
    /** efaBuildHash of the image. */
    hash: string;
}

/** The Job Pulumi awaits: it ends Complete once the tag is in ECR, Failed when the build fails or the deadline passes. */
export function efaBuildTriggerJob(a: TriggerJobArgs): { apiVersion: "batch/v1"; kind: "Job"; metadata: { name: string; namespace: string; labels: Record<string, string> }; spec: k8s.types.input.batch.v1.JobSpec } {
    const deadline = EFA_BUILD_WAIT_MINUTES * 60;
    const env = { PROJECT: a.project, REPOSITORY_NAME: a.repositoryName, IMAGE_TAG: a.image.tag, MILES_IMAGE: a.image.base, POLL_SECONDS: String(CODEBUILD_EFA_BUILD.pollSeconds), AWS_REGION: a.region };
    return {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name: `miles-efa-build-${a.hash}`, namespace: IMAGE_BUILD_NAMESPACE, labels: { ...IMAGE_BUILD_LABELS } },
        spec: {
            // A retried pod finds the running build (list-builds-for-project) instead of starting another.
            backoffLimit: 2,
            activeDeadlineSeconds: deadline,
            template: {
                metadata: { labels: { ...IMAGE_BUILD_LABELS } },
                spec: hardenPodSpec({
                    serviceAccountName: a.serviceAccountName,
                    restartPolicy: "Never",
                    containers: [
                        {
                            name: "build",
                            image: imageRef(IMAGES.awsCli),
                            command: ["/bin/sh", "-c", EFA_BUILD_TRIGGER_SCRIPT],
                            env: Object.entries(env).map(([name, value]) => ({ name, value })),
                            resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                            // Root, as the run-lifecycle Jobs' AWS CLI container (domain/lifecycle/jobs.ts): the image's default user.
                            securityContext: { runAsUser: 0, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                        },
                    ],
                }),
            },
        },
    };
}

/** CodeBuild's service role policy: push to this one repository, write its own log group. */
export function efaBuildServicePolicy(repositoryArn: string, logGroupArn: string): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            // GetAuthorizationToken has no resource-level permissions (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html).
            { Sid: "EcrLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
            {
                Sid: "PushEfaImage",
                Effect: "Allow",
                Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"],
                Resource: repositoryArn,
            },
            { Sid: "BuildLogs", Effect: "Allow", Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], Resource: [logGroupArn, `${logGroupArn}:*`] },
        ],
    };
}

/** The trigger's Pod Identity role policy: start and read builds of this one project, see whether the tag is pushed. */
export function efaBuildTriggerPolicy(projectArn: string, repositoryArn: string): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "RunEfaBuild", Effect: "Allow", Action: ["codebuild:StartBuild", "codebuild:BatchGetBuilds", "codebuild:ListBuildsForProject"], Resource: projectArn },
            { Sid: "SeeEfaImage", Effect: "Allow", Action: ["ecr:DescribeImages"], Resource: repositoryArn },
        ],
    };
}

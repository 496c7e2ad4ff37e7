/**
 * ImageRepository: the stack's private ECR repository for the project EFA image
 * (images/miles-efa, built and pushed by the stack's EfaImageBuild, components/imageBuild.ts, or by
 * .github/workflows/miles-efa-image.yml). Tags are immutable (a tag
 * always means the same image, so `<miles tag>-efa<installer>` cannot be overwritten), every push
 * is scanned, images are encrypted with KMS (the AWS-managed ECR key), and the repository is
 * retained when the stack is destroyed, like the checkpoint bucket: images are cheap to keep and
 * slow to rebuild. The GPU nodes pull with their node role (EKS managed node groups carry
 * AmazonEC2ContainerRegistryReadOnly).
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { transform, type Transform } from "./transform";

export interface ImageRepositoryArgs {
    /**
     * ECR repository name.
     * @example "miles-cluster/prod/miles-efa"
     */
    name: string;
    /**
     * Tags of the repository.
     * @default {}
     * @example { "miles-cluster/stack": "prod", "miles-cluster/component": "images" }
     */
    tags?: Record<string, string>;
    /**
     * Changes to the args of the ECR repository.
     * @default none
     * @example { repository: { imageScanningConfiguration: { scanOnPush: false } } }
     */
    transform?: { repository?: Transform<aws.ecr.RepositoryArgs> };
}

export class ImageRepository extends pulumi.ComponentResource {
    readonly repository: aws.ecr.Repository;
    /** `<account>.dkr.ecr.<region>.amazonaws.com/<name>`. */
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: ImageRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("miles-cluster:images:ImageRepository", name, {}, opts);
        this.repository = new aws.ecr.Repository(
            ...transform(
                args.transform?.repository,
                `${name}-ecr`,
                {
                    name: args.name,
                    imageTagMutability: "IMMUTABLE",
                    imageScanningConfiguration: { scanOnPush: true },
                    encryptionConfigurations: [{ encryptionType: "KMS" }],
                    // Never delete images with the repository, even if someone flips retainOnDelete.
                    forceDelete: false,
                    tags: args.tags ?? {},
                },
                { parent: this, retainOnDelete: true },
            ),
        );
        this.url = this.repository.repositoryUrl;
        this.registerOutputs({ url: this.url });
    }
}

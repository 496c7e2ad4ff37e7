/**
 * Which container image a run's pods pull, and what that means for the fabric: the project's EFA
 * build (images/miles-efa, built into the stack's ECR repository by the deployment itself: components/imageBuild.ts), an image the user names, or
 * the plain miles image (no libfabric / aws-ofi-nccl: NCCL uses TCP sockets between nodes).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { TrainingConfig } from "../../config";
import { IMAGES } from "../../catalog/versions";
import { EFA_INSTALLER, efaImageTag } from "../../catalog/fabric";

export type ImageSource = "efa-build" | "named" | "miles";

export interface ImageChoice {
    source: ImageSource;
    /** The platform it was chosen for (the EFA build lives in an ECR repository only EKS stacks create). */
    platform: Platform;
    /** Whether the source was chosen by default (not written in the config). */
    defaulted: boolean;
    /** ECR repository name of the EFA build (the registry host is the account's, known at deploy). */
    ecrRepositoryName?: string;
    /** Tag pulled when no digest is set. */
    tag: string;
    digest?: string;
    /** Full reference when it is known offline (named and miles images). */
    ref?: string;
    /** Whether the image carries libfabric with the EFA provider and aws-ofi-nccl. */
    hasEfaSoftware: boolean | "unknown";
    /** One line for the plan. */
    describe: string;
}

/** Where the run's cluster comes from: created by this stack (EKS) or brought by the user. */
export type Platform = "eks" | "existing";

/** ECR repository name of a stack's EFA image (lowercase; `/` groups it under the project). */
export function efaRepositoryName(stack: string): string {
    return `miles-cluster/${stack.toLowerCase().replace(/[^a-z0-9._-]+/g, "-")}/miles-efa`;
}

/** `repo:tag` or `repo@digest`. */
export function imageReference(repository: string, tag: string, digest: string | undefined): string {
    return digest ? `${repository}@${digest}` : `${repository}:${tag}`;
}

/**
 * The reference a node pulls for the EFA build, given the stack's ECR repository URL
 * (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`, known at deploy): the URL with the build's tag
 * or digest. The components apply it to the repository's output; nothing else builds it.
 */
export function ecrImageReference(choice: ImageChoice, repositoryUrl: string): string {
    if (choice.source !== "efa-build") throw new Error(`ecrImageReference: the run's image is ${choice.describe}, not the EFA build`);
    return imageReference(repositoryUrl, choice.tag, choice.digest);
}

/**
 * The image every container of a run that runs the miles image pulls (head, probe, workers,
 * submitter, preparation and fabric gate Jobs): the configured reference for a named or plain miles
 * image, and for the EFA build the reference in the stack's ECR repository, which only a deployment
 * knows (`deployed`, built by ecrImageReference from the repository output). There is no fallback to
 * the bare repository name: without its registry host a node would look it up on Docker Hub.
 */
export function pullableImage(choice: ImageChoice, deployed: pulumi.Input<string> | undefined): pulumi.Input<string> {
    if (choice.source === "efa-build") {
        if (deployed === undefined) throw new Error(`the run's image is the EFA build in the ECR repository ${choice.ecrRepositoryName}: its registry host is known only at deploy; pass the repository URL (MilesTrainingJobArgs.efaImageRepositoryUrl)`);
        return deployed;
    }
    if (choice.ref === undefined) throw new Error(`pullableImage: ${choice.describe} has no reference`);
    return choice.ref;
}

/**
 * What the plan and the run record show for the image: the reference, or for the EFA build its ECR
 * repository name (no registry host) with tag or digest. Never a pull reference (see pullableImage).
 */
export function imageDisplayName(choice: ImageChoice): string {
    return choice.ref ?? imageReference(choice.ecrRepositoryName ?? "?", choice.tag, choice.digest);
}

/**
 * The image of a run. Default source: a `repository` other than radixark/miles is a named image;
 * otherwise the EFA build on EKS stacks whose run spans several EFA nodes (the plain image cannot
 * use the EFA devices the pods request), the plain miles image elsewhere (one node talks over NVLink).
 */
export function chooseImage(t: TrainingConfig, opts: { stack: string; platform: Platform; efaPerNode: number; nodes: number }): ImageChoice {
    const i = t.image;
    // EFA only carries NCCL traffic between nodes: a one-node run (NVLink) keeps the plain image and
    // works without the CI build; a multi-node run on EFA nodes gets the EFA build.
    const efaNodes = t.network.efa && opts.efaPerNode > 0 && opts.nodes > 1;
    const source: ImageSource = i.source ?? (i.repository !== IMAGES.miles.repository ? "named" : opts.platform === "eks" && efaNodes ? "efa-build" : "miles");
    const defaulted = i.source === undefined;
    if (source === "efa-build") {
        const tag = efaImageTag(i.tag);
        const name = efaRepositoryName(opts.stack);
        return {
            source,
            platform: opts.platform,
            defaulted,
            ecrRepositoryName: name,
            tag,
            digest: i.digest,
            hasEfaSoftware: true,
            describe: `EFA build (images/miles-efa: ${i.repository}:${i.tag} + EFA installer ${EFA_INSTALLER.version}) from this stack's ECR repository ${name}, ${i.digest ? `pinned by digest ${i.digest}` : `tag ${tag}, built by this deployment (CodeBuild, before any pod pulls it; components/imageBuild.ts)`}`,
        };
    }
    const ref = imageReference(i.repository, i.tag, i.digest);
    if (source === "named") {
        return { source, platform: opts.platform, defaulted, tag: i.tag, digest: i.digest, ref, hasEfaSoftware: "unknown", describe: `${ref} (named image${i.digest ? "" : "; by tag: set training.image.digest to pin it"})` };
    }
    return { source, platform: opts.platform, defaulted, tag: i.tag, digest: i.digest, ref, hasEfaSoftware: false, describe: `${ref} (plain miles image: no libfabric/aws-ofi-nccl)` };
}

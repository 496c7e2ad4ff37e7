/**
 * Decisions about the shared storage made from its config: bucket names and linked prefixes.
 */
import type { StorageLink } from "../config/storage";

/** The bucket prefix a link maps to. */
export function linkS3Prefix(link: StorageLink): string {
    return link.s3Prefix ?? link.path.replace(/^\/+/, "");
}

/** A bucket-name prefix for a stack: `miles-<stack>-`, lowercased, at most 37 characters (S3's limit for prefixes). */
export function bucketPrefixFor(stack: string): string {
    const slug = stack
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/^-+|-+$/g, "");
    return `miles-${slug}`.slice(0, 36).replace(/-+$/, "") + "-";
}

/**
 * User data of the GPU launch templates, as pure functions (tested without Pulumi).
 *
 * The launch templates name no AMI: EKS picks the NVIDIA AMI from the node group's `amiType` and
 * *merges* its own bootstrap configuration (cluster name, endpoint, CA, labels, taints) with ours.
 * What we pass therefore only holds what EKS does not set:
 *
 * - AL2023: a MIME multi-part document (EKS requires that format to merge) with one
 *   `application/node.eks.aws` part, a nodeadm `NodeConfig` that assembles the instance-store NVMe
 *   disks into a RAID0 array for containerd, kubelet and pod logs
 *   (`spec.instance.localStorage.strategy: RAID0`).
 * - Bottlerocket: TOML settings (EKS merges `[settings.kubernetes]` in). Bottlerocket has no
 *   nodeadm; since v1.22 its bootstrap commands do the same RAID0 through
 *   `apiclient ephemeral-storage init` + `bind`, which is what Karpenter renders for
 *   `instanceStorePolicy: RAID0`.
 */
import type { AmiFamily } from "../catalog/nodeLabels";

const MIME_BOUNDARY = "MILESCLUSTERBOUNDARY";

/** nodeadm NodeConfig putting containerd/kubelet on a RAID0 of the local NVMe disks. */
export const AL2023_NODECONFIG = [
    "apiVersion: node.eks.aws/v1alpha1",
    "kind: NodeConfig",
    "spec:",
    "  instance:",
    "    localStorage:",
    "      strategy: RAID0",
    "",
].join("\n");

/** Bottlerocket bootstrap command: RAID0 of the instance store, bound over containerd/kubelet/pod logs. */
export const BOTTLEROCKET_SETTINGS = [
    "[settings.bootstrap-commands.000-mount-instance-storage]",
    'commands = [["apiclient", "ephemeral-storage", "init"], ["apiclient", "ephemeral-storage", "bind", "--dirs", "/var/lib/containerd", "/var/lib/kubelet", "/var/log/pods"]]',
    "essential = true",
    'mode = "always"',
    "",
].join("\n");

/** The AL2023 user data as MIME multi-part text. */
export function al2023UserData(): string {
    return [
        "MIME-Version: 1.0",
        `Content-Type: multipart/mixed; boundary="${MIME_BOUNDARY}"`,
        "",
        `--${MIME_BOUNDARY}`,
        "Content-Type: application/node.eks.aws",
        "",
        AL2023_NODECONFIG,
        `--${MIME_BOUNDARY}--`,
        "",
    ].join("\n");
}

/** The user data of a GPU node, base64-encoded as launch templates take it. */
export function gpuUserDataBase64(amiFamily: AmiFamily): string {
    const text = amiFamily === "al2023" ? al2023UserData() : BOTTLEROCKET_SETTINGS;
    return Buffer.from(text, "utf8").toString("base64");
}

/**
 * The Amazon EKS Kubernetes version calendar: when each minor version leaves standard support and
 * extended support. Source: the AWS "Amazon EKS Kubernetes release calendar"
 * (https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html), as reproduced by
 * endoflife.date/amazon-eks and by aws-samples/sample-apex-skills
 * (skills/eks-operation-review/references/cluster-lifecycle.md, "Last verified: 2026-04-24").
 * EKS 1.36 is not listed: its EKS release date could not be verified here (upstream
 * cluster-autoscaler-1.36.0 exists, so Kubernetes 1.36 itself is out); add it when AWS lists it.
 */
export interface EksVersionSupport {
    /** EKS general availability (YYYY-MM-DD). */
    released: string;
    /** Last day of standard support (YYYY-MM-DD); extended support starts after it. */
    standardSupportEnds: string;
    /** Last day of extended support; afterwards EKS upgrades the control plane itself. */
    extendedSupportEnds: string;
}

export const EKS_VERSIONS: Readonly<Record<string, EksVersionSupport>> = {
    "1.35": { released: "2026-01-28", standardSupportEnds: "2027-03-27", extendedSupportEnds: "2028-03-27" },
    "1.34": { released: "2025-10-06", standardSupportEnds: "2026-12-02", extendedSupportEnds: "2027-12-02" },
    "1.33": { released: "2025-05-28", standardSupportEnds: "2026-07-29", extendedSupportEnds: "2027-07-29" },
    "1.32": { released: "2025-01-25", standardSupportEnds: "2026-03-23", extendedSupportEnds: "2027-03-23" },
    "1.31": { released: "2024-09-26", standardSupportEnds: "2025-11-26", extendedSupportEnds: "2026-11-26" },
};

/**
 * Default Kubernetes version of a new cluster: the newest EKS version in standard support on
 * 2026-12-01 (1.34 leaves it on 2026-12-02).
 */
export const DEFAULT_KUBERNETES_VERSION = "1.35";

/** The EKS control plane price of each support phase is in catalog/prices.ts. */

/** `plan` warns when standard support ends within this many days. */
export const EKS_SUPPORT_WARNING_DAYS = 90;

/**
 * Where a Kubernetes version stands in the EKS support calendar on a given day, what the control
 * plane costs then, and the warning `plan` prints.
 */
import { EKS_SUPPORT_WARNING_DAYS, EKS_VERSIONS } from "../../catalog/eksVersions";
import { EKS_CONTROL_PLANE_USD_PER_HOUR } from "../../catalog/prices";

export type SupportPhase = "standard" | "extended" | "ended" | "unknown";

export interface VersionSupport {
    version: string;
    phase: SupportPhase;
    /** Last day of standard support, when the calendar knows the version. */
    standardSupportEnds?: string;
    extendedSupportEnds?: string;
    /** Whole days from `now` to the end of standard support (negative once it has passed). */
    daysOfStandardSupportLeft?: number;
    /** Control plane price now. */
    usdPerHour: number;
    /** A warning for `plan`, when the version is or soon is out of standard support. */
    warning?: string;
}

const DAY_MS = 86_400_000;
/** The calendar's dates are whole days: support ends at the end of that day (UTC). */
const endOfDay = (d: string) => Date.parse(`${d}T23:59:59Z`);

export function versionSupport(version: string, now: Date): VersionSupport {
    const v = EKS_VERSIONS[version];
    const upgrade = "see docs/upgrades.md for the upgrade path (control plane, add-ons, node groups, with a run on)";
    if (!v) {
        return {
            version,
            phase: "unknown",
            usdPerHour: EKS_CONTROL_PLANE_USD_PER_HOUR.standard,
            warning: `cluster.kubernetesVersion: ${version} is not in miles-cluster's EKS calendar (${Object.keys(EKS_VERSIONS).join(", ")}); check it is offered and in standard support (extended support costs $${EKS_CONTROL_PLANE_USD_PER_HOUR.extended}/hour instead of $${EKS_CONTROL_PLANE_USD_PER_HOUR.standard})`,
        };
    }
    const left = Math.floor((endOfDay(v.standardSupportEnds) - now.getTime()) / DAY_MS);
    const base = { version, standardSupportEnds: v.standardSupportEnds, extendedSupportEnds: v.extendedSupportEnds, daysOfStandardSupportLeft: left };
    const extra = `+$${(EKS_CONTROL_PLANE_USD_PER_HOUR.extended - EKS_CONTROL_PLANE_USD_PER_HOUR.standard).toFixed(2)}/hour`;
    if (now.getTime() > endOfDay(v.extendedSupportEnds)) {
        return { ...base, phase: "ended", usdPerHour: EKS_CONTROL_PLANE_USD_PER_HOUR.extended, warning: `cluster.kubernetesVersion: EKS ${version} left extended support on ${v.extendedSupportEnds}: EKS upgrades such a control plane on its own; upgrade now, ${upgrade}` };
    }
    if (left < 0) {
        return {
            ...base,
            phase: "extended",
            usdPerHour: EKS_CONTROL_PLANE_USD_PER_HOUR.extended,
            warning: `cluster.kubernetesVersion: EKS ${version} left standard support on ${v.standardSupportEnds} and is in extended support until ${v.extendedSupportEnds}: the control plane costs $${EKS_CONTROL_PLANE_USD_PER_HOUR.extended}/hour (${extra}); upgrade, ${upgrade}`,
        };
    }
    const warning =
        left <= EKS_SUPPORT_WARNING_DAYS
            ? `cluster.kubernetesVersion: EKS ${version} leaves standard support on ${v.standardSupportEnds} (in ${left} day${left === 1 ? "" : "s"}); after that the control plane costs $${EKS_CONTROL_PLANE_USD_PER_HOUR.extended}/hour (${extra}) in extended support; upgrade before then, ${upgrade}`
            : undefined;
    return { ...base, phase: "standard", usdPerHour: EKS_CONTROL_PLANE_USD_PER_HOUR.standard, warning };
}

/**
 * The KubeRay CRD Job's name and scripts (see components/kuberay.ts for why a Job applies the CRDs).
 */
import { KUBERAY_CRDS, kuberayCrdUrl } from "../catalog/versions";

/** `kuberay-crds-v1-7-0`: the Job's name changes with the version, which is what re-runs it. */
export function crdJobName(version: string): string {
    return `kuberay-crds-v${version.replace(/[^0-9a-z]+/gi, "-").toLowerCase()}`;
}

/** Shell script of the download container: fetch each CRD file, then check every sha256. */
export function crdFetchScript(version: string): string {
    const lines = ["set -eu", "cd /crds"];
    for (const c of KUBERAY_CRDS) lines.push(`curl -fsSL --retry 5 --retry-all-errors -o ${c.file} ${kuberayCrdUrl(version, c.file)}`);
    lines.push(`cat > SHA256SUMS <<'EOF'`, ...KUBERAY_CRDS.map((c) => `${c.sha256}  ${c.file}`), "EOF", "sha256sum -c SHA256SUMS");
    return lines.join("\n");
}

/** kubectl arguments of the apply container. */
export function crdApplyArgs(): string[] {
    return ["apply", "--server-side", "--force-conflicts", "--field-manager=miles-cluster", ...KUBERAY_CRDS.flatMap((c) => ["-f", `/crds/${c.file}`])];
}

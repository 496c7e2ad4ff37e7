/**
 * Pod hardening of every pod miles-cluster creates, and the Pod Security admission level of the
 * namespaces it creates. Pure. Sources:
 * - Pod Security Standards, https://kubernetes.io/docs/concepts/security/pod-security-standards/
 *   (restricted: allowPrivilegeEscalation false, capabilities drop ALL (add only NET_BIND_SERVICE),
 *   seccompProfile RuntimeDefault or Localhost, runAsNonRoot true; baseline: no privileged, no host
 *   namespaces/paths, capabilities added only from AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID,
 *   KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT — not IPC_LOCK).
 * - Pod Security admission labels, https://kubernetes.io/docs/concepts/security/pod-security-admission/
 *   (`pod-security.kubernetes.io/<enforce|warn|audit>` and `-version`).
 * - EKS Best Practices, pod security: https://docs.aws.amazon.com/eks/latest/best-practices/pod-security.html
 *   (disable service account token mounts where no API access is needed; drop capabilities).
 */
import type * as k8s from "@pulumi/kubernetes";

type PodSpec = k8s.types.input.core.v1.PodSpec;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;

export const RUNTIME_DEFAULT_SECCOMP = { type: "RuntimeDefault" } as const;

/**
 * Capability RDMA needs: libibverbs/libfabric pin (mlock) the memory registered with the EFA
 * device beyond the default memlock limit. Only on pods that really get `vpc.amazonaws.com/efa`
 * devices (aws-samples/awsome-distributed-training EFA examples add IPC_LOCK for that reason).
 */
export const RDMA_CAPABILITY = "IPC_LOCK";

/** Container securityContext: no privilege escalation, every capability dropped (`add` only what a device needs), RuntimeDefault seccomp. */
export function containerSecurityContext(add: ReadonlyArray<string> = []): SecurityContext {
    return {
        allowPrivilegeEscalation: false,
        capabilities: add.length > 0 ? { drop: ["ALL"], add: [...add] } : { drop: ["ALL"] },
        seccompProfile: { ...RUNTIME_DEFAULT_SECCOMP },
    };
}

export interface HardenOptions {
    /** The pod talks to the Kubernetes API (keeps its service-account token mounted). Default false. */
    apiAccess?: boolean;
    /** Capabilities added back (e.g. IPC_LOCK for RDMA), on the containers `capabilityContainers` names. */
    addCapabilities?: ReadonlyArray<string>;
    /** Names of the containers that get `addCapabilities` (a sidecar beside the GPU container gets none). Default: every container. */
    capabilityContainers?: ReadonlyArray<string>;
}

/**
 * A pod spec with the hardening applied: RuntimeDefault seccomp for the pod, each container (and
 * init container) with `containerSecurityContext` merged over what it sets, no service links, and
 * no service-account token unless the pod needs the API. Pod Identity credentials do not depend on
 * that token: the EKS Pod Identity webhook mounts its own projected token (⚠ verified only on a
 * real cluster).
 */
export function hardenPodSpec<T extends PodSpec>(spec: T, o: HardenOptions = {}): T {
    const add = (c: k8s.types.input.core.v1.Container) => (o.capabilityContainers === undefined || o.capabilityContainers.includes(String(c.name)) ? (o.addCapabilities ?? []) : []);
    const harden = (c: k8s.types.input.core.v1.Container) => ({ ...c, securityContext: { ...((c.securityContext as object | undefined) ?? {}), ...containerSecurityContext(add(c)) } });
    const out: T = {
        ...spec,
        automountServiceAccountToken: o.apiAccess === true,
        enableServiceLinks: false,
        securityContext: { ...((spec.securityContext as object | undefined) ?? {}), seccompProfile: { ...RUNTIME_DEFAULT_SECCOMP } },
        containers: (spec.containers as k8s.types.input.core.v1.Container[]).map(harden),
    };
    if (spec.initContainers) out.initContainers = (spec.initContainers as k8s.types.input.core.v1.Container[]).map(harden);
    return out;
}

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/**
 * Pod Security admission labels: `enforce` at `level`, and `warn` + `audit` at `restricted` so
 * every deviation from the strictest profile is visible (kubectl warnings, audit log).
 */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
    return {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "latest",
    };
}

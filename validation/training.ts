/**
 * The training rules as config problems, for every run of the stack: errors stop `pulumi up` and
 * `plan`; warnings only reach the plan summary (domain/training/rules.ts). A named run's problems
 * are reported at its own path, `training.runs.<name>.<field>`.
 */
import type { MilesConfig, RunEntry } from "../config";
import type { Problem } from "../config/problems";
import { trainingProblems } from "../domain/training/rules";
import { systemInstanceFacts } from "../catalog/systemInstances";
import type { ResolvedStack } from "../domain/stack";

/** A rule's `training.<field>` path, moved to where the run's fields live. */
export function runPath(run: Pick<RunEntry, "path">, path: string): string {
    if (run.path === "training") return path;
    return path === "training" ? run.path : path.startsWith("training.") ? `${run.path}${path.slice("training".length)}` : path;
}

/**
 * Cross-field rules miles and Megatron enforce at start-up (or hang on), checked before anything is
 * created, for each enabled run of the resolved stack (a run stack's runs are resolved against its
 * cluster stack's facts). Each problem names the field and the numbers.
 */
export function trainingChecks(stack: ResolvedStack): Problem[] {
    const problems: Problem[] = [];
    for (const { entry, run } of stack.runs) {
        for (const p of trainingProblems(run)) if (p.severity === "error") problems.push({ path: runPath(entry, p.path), message: p.message });
    }
    return problems;
}

/**
 * The Ray head runs on a system node (it tolerates no GPU taint): a head that asks for more than a
 * system node can give stays Pending forever and the RayJob never starts. The kubelet reservation,
 * the kernel and the DaemonSets (CNI, kube-proxy, Pod Identity agent, CSI node plugins, node
 * monitoring) take about 0.5 vCPU and 1.5-2 GiB on a 4 vCPU / 16 GiB node, so the bound is one vCPU
 * and 15% of memory below the instance size: loose enough to catch "the whole node", not a tight fit.
 */
export function headFitChecks(cfg: MilesConfig, stack: () => ResolvedStack): Problem[] {
    if (!cfg.training.enabled || cfg.cluster.existing) return [];
    const type = cfg.cluster.systemNodeGroup.instanceType;
    const facts = systemInstanceFacts(type);
    if (!facts) return [];
    const problems: Problem[] = [];
    const maxCpu = facts.vcpus - 1;
    const maxMemGiB = Math.floor(facts.memoryGiB * 0.85);
    for (const { entry, run } of stack().runs) {
        const r = entry.training.resources;
        const at = `${entry.path}.resources`;
        if (r.headCpu > maxCpu) {
            problems.push({ path: `${at}.headCpu`, message: `is ${r.headCpu} but the Ray head runs on a system node (${type}: ${facts.vcpus} vCPUs, some taken by the kubelet and DaemonSets): at most ${maxCpu}, or a larger cluster.systemNodeGroup.instanceType; otherwise the head stays Pending` });
        }
        const head = run.head;
        if (head.memoryGiB > maxMemGiB) {
            const what = head.from === "config" ? `is ${head.memoryGiB} GiB` : `is unset, so the head gets what the run puts on it, ${head.memoryGiB} GiB (${head.basis}),`;
            problems.push({ path: `${at}.headMemoryGiB`, message: `${what} but the Ray head runs on a system node (${type}: ${facts.memoryGiB} GiB, less the kernel, kubelet reservation and DaemonSets): at most ${maxMemGiB} GiB, or a larger cluster.systemNodeGroup.instanceType; otherwise the head stays Pending` });
        }
    }
    return problems;
}

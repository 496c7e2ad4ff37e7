import * as fs from "node:fs";
import * as path from "node:path";
import { clusterStackOf, parseConfig, withSecretLeaves } from "../validation";
import { projectRoot, readStackFile, stackFilePath } from "./stackFile";
import { trainingSection } from "./sections/training";
import { CLUSTER_FACTS_OUTPUT, type ClusterFacts } from "../domain/runStack";
import type { ResolvedStack } from "../domain/stack";
import { isConfigError, NAMESPACE, type MilesConfig, type Problem, type RawConfig } from "../config";
import { program } from "../program";
import { UNKNOWN_COMMIT } from "../domain/training/runRecord";
import { evaluate, UNKNOWN, type Evaluation, type RecordedResource } from "./evaluate";
import { summarize, type PlanSummary } from "./summary";
import { firstDeploySequence } from "./firstDeploy";
import { runStorageNeeds, runsSizing } from "./sections/storage";

export interface Plan {
    stack: string;
    config?: MilesConfig;
    /** The stack as validation resolved it, once: what the program deployed and the summary shows. */
    resolved?: ResolvedStack;
    summary?: PlanSummary;
    resources: RecordedResource[];
    outputs: Record<string, unknown>;
    problems: Problem[];
}

/** The program as `plan` evaluates it: the run records' git commit is left to the deployment (plans stay the same across commits). */
const planned = () => program({ gitCommit: UNKNOWN_COMMIT });

/**
 * Plans one stack offline: validates the config (every problem at once), then evaluates the same
 * program `pulumi up` runs under the mock runtime, and summarizes what it would create.
 */
export async function plan(stack: string, raw: RawConfig, run: () => Promise<object> = planned): Promise<Plan> {
    const ref = clusterStackOf(raw);
    if (ref) return planRunStack(stack, raw, ref, run);
    const parsed = parseConfig(raw, { project: NAMESPACE, stack });
    if (!parsed.config || !parsed.stack) return { stack, resources: [], outputs: {}, problems: parsed.problems };
    let ev: Evaluation;
    try {
        ev = await withSecretLeaves(raw.secretLeaves, () => evaluate({ project: NAMESPACE, stack, config: raw, run }));
    } catch (e) {
        if (isConfigError(e)) return { stack, resources: [], outputs: {}, problems: e.problems };
        throw e;
    }
    return { stack, config: parsed.config, resolved: parsed.stack, summary: summarize(parsed.stack, ev), resources: ev.resources, outputs: ev.outputs, problems: [] };
}

/**
 * Plans a run stack offline. The cluster stack's outputs cannot be read without an engine, so they
 * are derived by planning the cluster stack's own file from this repository
 * (stacks/Pulumi.<planFrom>.yaml, default the last segment of the reference's name) — the plan says
 * so — and handed to the run stack's StackReference under the mocks.
 */
async function planRunStack(stack: string, raw: RawConfig, ref: { name: string; planFrom?: string }, run: () => Promise<object>): Promise<Plan> {
    const from = ref.planFrom ?? ref.name.split("/").pop()!;
    const file = stackFilePath(projectRoot(), from);
    const at = "cluster.clusterStack";
    if (from === stack) return { stack, resources: [], outputs: {}, problems: [{ path: `${at}.name`, message: `is this stack itself (${stack}); name the cluster stack` }] };
    if (!fs.existsSync(file)) return { stack, resources: [], outputs: {}, problems: [{ path: `${at}.planFrom`, message: `no stack file ${path.relative(process.cwd(), file)} to plan the cluster stack ${ref.name} from offline; set planFrom to its stack file's name` }] };
    const cluster = await plan(from, readStackFile(file, NAMESPACE));
    if (cluster.problems.length > 0 || !cluster.config || !cluster.resolved) {
        return { stack, resources: [], outputs: {}, problems: [{ path: `${at}.name`, message: `cluster stack file ${path.relative(process.cwd(), file)} does not plan: ${cluster.problems.map((p) => `${p.path}: ${p.message}`).join("; ")}` }] };
    }
    if (cluster.config.cluster.clusterStack) return { stack, resources: [], outputs: {}, problems: [{ path: `${at}.name`, message: `${from} is itself a run stack; name the cluster stack it runs on` }] };
    const facts = cluster.outputs[CLUSTER_FACTS_OUTPUT];
    const parsed = parseConfig(raw, { project: NAMESPACE, stack, clusterFacts: facts });
    if (!parsed.config || !parsed.stack) return { stack, resources: [], outputs: {}, problems: parsed.problems };
    let ev: Evaluation;
    try {
        ev = await withSecretLeaves(raw.secretLeaves, () =>
            evaluate({ project: NAMESPACE, stack, config: raw, run, stackOutputs: { [ref.name]: { outputs: { ...cluster.outputs, kubeconfig: UNKNOWN }, secretOutputNames: ["kubeconfig"] } } }),
        );
    } catch (e) {
        if (isConfigError(e)) return { stack, resources: [], outputs: {}, problems: e.problems };
        throw e;
    }
    // The training section as it runs on the cluster stack's cluster: its node groups and queue.
    const onCluster: MilesConfig = { ...parsed.config, cluster: cluster.config.cluster, storage: cluster.config.storage, addons: cluster.config.addons };
    const resolved: ResolvedStack = { ...parsed.stack, config: onCluster };
    const training = trainingSection(resolved, ev);
    const f = facts as ClusterFacts;
    // The cluster stack's file system holds its own runs' checkpoints and this stack's: size them together.
    const storageLines: Array<[string, string]> = [["claim", `${f.claimName} in namespace ${f.namespace} (the cluster stack's)`]];
    const sizing = runsSizing({ storage: { ...cluster.config.storage, capacityGiB: cluster.resolved.storage.capacityGiB } }, [...runStorageNeeds(cluster.resolved), ...runStorageNeeds(parsed.stack)], storageLines, training.warnings ?? (training.warnings = []), [], `the cluster stack's runs and this stack's`);
    storageLines.push(["other run stacks", "not counted: the cluster stack cannot know them; plan each run stack, or size storage on the cluster stack for all of them"]);
    const source = `derived offline by planning ${path.relative(projectRoot(), file)} (pulumi up reads the deployed stack's outputs through a StackReference)`;
    const summary: PlanSummary = {
        cluster: { clusterStack: ref.name, factsFrom: path.relative(projectRoot(), file) },
        storage: { claimName: f.claimName, namespace: f.namespace, sizing },
        addons: { serviceAccount: f.serviceAccount, queue: f.queue },
        training: training.data,
        cost: { usdPerHour: 0, items: [], sources: [] },
        warnings: training.warnings ?? [],
        firstDeploy: firstDeploySequence(resolved, ev),
        lines: {
            cluster: [
                ["run stack", `runs only, on the cluster of stack ${ref.name}: creates no cluster, node group, storage, namespace, service account, queue or add-on; destroying it deletes only its runs' Secrets, Jobs and RayJobs (checkpoints stay)`],
                ["cluster facts", source],
                ["gpu groups", f.gpuNodeGroups.map((g) => `${g.name}: ${g.nodes} × ${g.gpusPerNode} GPUs`).join(", ")],
                ["cluster runs", f.runs.map((r) => `${r.name} (${r.gpus} GPUs, ${r.checkpointDir})`).join(", ") || "none"],
            ],
            storage: storageLines,
            addons: [["add-ons", `the cluster stack's; pods run as ${f.namespace}/${f.serviceAccount}`]],
            training: training.lines,
        },
    };
    return { stack, config: parsed.config, resolved: parsed.stack, summary, resources: ev.resources, outputs: ev.outputs, problems: [] };
}

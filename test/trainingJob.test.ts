import { resolveStack } from "../domain/stack";
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import Ajv, { type ValidateFunction } from "ajv";
import { loadConfig, parseConfig } from "../validation";
import { plan, type Plan } from "../plan/run";
import { REDACTED } from "../plan/evaluate";
import { gpuNodeGroupsFromConfig } from "../domain/gpuNodes";
import { convertScript, downloadScript } from "../domain/training/prepJobs";
import { secretManifest } from "../domain/training/secret";
import { runOf } from "../domain/stack";
import { rayJobManifest } from "../domain/training/rayJob";
import { MilesTrainingJob } from "../components/milesTrainingJob";
import { trainingSection } from "../plan/sections/training";
import * as os from "node:os";
import { parse as parseYaml } from "yaml";
import { renderJson, renderText, writeManifests } from "../plan/render";
import { AJV_OPTIONS, closeObjects, one, ofType, planConfig, rawConfig, rayJobCommand, requireShared } from "./harness";
import { WORKFLOW_1, WORKFLOW_2 } from "./trainingFixtures";

const RAYJOB = "kubernetes:ray.io/v1:RayJob";
const JOB = "kubernetes:batch/v1:Job";
const SECRET = "kubernetes:core/v1:Secret";

const DEV: Record<string, unknown> = {
    "aws:region": "us-east-1",
    "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] },
    "miles-cluster:training": { model: { preset: "qwen3-4B" }, parallelism: { tp: 2 } },
};

/** Resource name → names of the resources it depends on, captured while the program runs. */
type Deps = Map<string, string[]>;

/**
 * Plans MilesTrainingJob alone, under mocks, with fake handles for the cluster, namespace, storage
 * and add-ons (what program.ts hands it), recording each resource's dependsOn.
 */
async function planTraining(values: Record<string, unknown>, secretKeys: string[] = []): Promise<{ p: Plan; deps: Deps; job: () => MilesTrainingJob }> {
    const deps: Deps = new Map();
    let component: MilesTrainingJob | undefined;
    const p = await plan("test", rawConfig(values, secretKeys), async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            const d = args.opts.dependsOn;
            const list = (Array.isArray(d) ? d : d ? [d] : []) as unknown as pulumi.Resource[];
            deps.set(args.name, list.map((r) => (r as unknown as { __name: string }).__name));
            return undefined;
        });
        const cfg = loadConfig();
        const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
        const ns = new k8s.core.v1.Namespace("ns", { metadata: { name: cfg.training.namespace } }, { provider });
        const pvc = new k8s.core.v1.PersistentVolumeClaim("pvc", { metadata: { name: "miles-shared", namespace: cfg.training.namespace }, spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "1200Gi" } } } }, { provider });
        const crds = new k8s.core.v1.ConfigMap("kuberay-crds", {}, { provider });
        component = new MilesTrainingJob("training", {
            training: cfg.training,
            stack: cfg.stack,
            cluster: { provider, gpuNodeGroups: gpuNodeGroupsFromConfig(cfg) },
            namespace: { name: cfg.training.namespace, resource: ns },
            storage: { claimName: "miles-shared", ready: [pvc] },
            addons: { serviceAccountName: "miles-training", ready: [crds] },
        });
        return { jobName: component.jobName, follow: component.follow };
    });
    assert.deepEqual(p.problems, []);
    return { p, deps, job: () => component! };
}


let cachedValidator: ValidateFunction | undefined;
/** Compiles the closed RayJob schema once (about a second of CPU). */
function rayJobValidator(shared: string): ValidateFunction {
    if (cachedValidator) return cachedValidator;
    const schema = JSON.parse(fs.readFileSync(path.join(shared, "schemas", "ray.io_rayjobs.schema.json"), "utf8"));
    closeObjects(schema);
    cachedValidator = new Ajv(AJV_OPTIONS).compile(schema);
    return cachedValidator;
}

type Obj = Record<string, any>;

/** Validates with kubernetes-models (ESM-only: loaded with a dynamic import, typed here). */
async function validateK8s(modulePath: string, kind: string, obj: unknown): Promise<void> {
    const mod = (await import(modulePath)) as Record<string, new (o: unknown) => { validate(): void }>;
    new mod[kind](obj).validate();
}
const spec = (r: { inputs: Obj }): Obj => r.inputs.spec;
const meta = (r: { inputs: Obj }): Obj => r.inputs.metadata;
const worker = (rj: { inputs: Obj }): Obj => spec(rj).rayClusterSpec.workerGroupSpecs[0];
const head = (rj: { inputs: Obj }): Obj => spec(rj).rayClusterSpec.headGroupSpec;
const envOf = (c: Obj): Record<string, string> => Object.fromEntries((c.env as Obj[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));

describe("MilesTrainingJob (under mocks)", function () {
    let dev: { p: Plan; deps: Deps };
    before(async () => {
        dev = await planTraining(DEV);
    });

    it("creates a RayJob, a download Job and a convert Job in the training namespace, and no Secret without secrets", () => {
        const rj = one(dev.p, RAYJOB);
        assert.equal(meta(rj).name, "miles-test");
        assert.equal(meta(rj).namespace, "miles");
        // Plus the pre-replacement save Job (test/runLifecycle.test.ts), named by the RayJob spec hash.
        assert.deepEqual(ofType(dev.p, JOB).map((j) => meta(j).name).sort().map((n) => n.replace(/-presave-[0-9a-f]{10}$/, "-presave-<hash>")), ["miles-test-convert", "miles-test-download", "miles-test-fabric", "miles-test-presave-<hash>"]);
        assert.equal(ofType(dev.p, SECRET).length, 0);
        assert.equal(one(dev.p, "miles-cluster:training:MilesTrainingJob").name, "training");
    });

    it("orders Secret → download → convert → RayJob, after the volume and the add-ons", () => {
        assert.ok(dev.deps.get("training-prep-convert")!.includes("training-prep-download"));
        const rj = dev.deps.get("training-rayjob")!;
        for (const d of ["training-prep-download", "training-prep-convert", "pvc", "kuberay-crds", "ns"]) assert.ok(rj.includes(d), `RayJob does not depend on ${d}: ${rj.join(", ")}`);
        assert.ok(dev.deps.get("training-prep-download")!.includes("pvc"));
        // A spec change first runs the pre-replacement save (its name carries the spec hash).
        assert.ok(rj.some((d) => /^training-lifecycle-presave-[0-9a-f]{10}$/.test(d)), `RayJob does not wait for the pre-replacement save: ${rj.join(", ")}`);
    });

    it("a node roll or drain waits for the run: a PodDisruptionBudget (maxUnavailable 0) over its Ray pods, and pods the Cluster Autoscaler never evicts", async () => {
        const pdb = one(dev.p, "kubernetes:policy/v1:PodDisruptionBudget");
        const ps = pdb.inputs.spec as any;
        assert.equal(ps.maxUnavailable, 0);
        assert.equal(ps.selector.matchLabels["app.kubernetes.io/instance"], "miles-test");
        assert.deepEqual(ps.selector.matchExpressions[0].values, ["ray-head", "ray-worker"]);
        const mod = (await import("kubernetes-models/policy/v1")) as unknown as Record<string, new (o: unknown) => { validate(): void }>;
        new mod.PodDisruptionBudget({ ...pdb.inputs, apiVersion: "policy/v1", kind: "PodDisruptionBudget" }).validate();
        const rcs = spec(one(dev.p, RAYJOB)).rayClusterSpec;
        for (const t of [rcs.headGroupSpec.template, rcs.workerGroupSpecs[0].template]) {
            assert.equal(t.metadata.annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"], "false");
            // The PDB's selector matches these pods.
            for (const [k, v] of Object.entries(ps.selector.matchLabels)) assert.equal(t.metadata.labels[k], v);
            assert.ok(ps.selector.matchExpressions[0].values.includes(t.metadata.labels["app.kubernetes.io/component"]));
        }
    });

    it("validates against the KubeRay v1.7.0 RayJob schema with every object closed", function () {
        const validate = rayJobValidator(requireShared(this));
        const rj = one(dev.p, RAYJOB).inputs;
        assert.ok(validate(rj), JSON.stringify(validate.errors, null, 1));
        // The closed schema does catch a misspelt field.
        const typo = JSON.parse(JSON.stringify(rj));
        typo.spec.rayClusterSpec.workerGroupSpecs[0].template.spec.containers[0].resource = {};
        assert.equal(validate(typo), false);
    });

    it("with monitoring and log shipping (EKS), the head with both native sidecars (log shipper, Ray dashboards) validates too; workers have only the log shipper", function () {
        const validate = rayJobValidator(requireShared(this));
        const parsed = parseConfig(rawConfig(DEV), { stack: "t" });
        assert.deepEqual(parsed.problems, []);
        const cfg = parsed.config!;
        const observability = { monitoring: true, logs: { logGroupName: "/miles-cluster/t/training", region: "us-east-1" }, rayDashboardsNamespace: "miles-monitoring" };
        const m = rayJobManifest(runOf(cfg), { namespace: "miles", claimName: "miles-shared", serviceAccountName: "miles-training", observability });
        assert.ok(validate(m), JSON.stringify(validate.errors, null, 1));
        const rc = m.spec.rayClusterSpec as Obj;
        assert.deepEqual(rc.headGroupSpec.template.spec.initContainers.map((c: Obj) => [c.name, c.restartPolicy]), [["log-shipper", "Always"], ["ray-dashboards", "Always"]]);
        for (const w of rc.workerGroupSpecs) assert.deepEqual(w.template.spec.initContainers.map((c: Obj) => c.name), ["log-shipper"]);
    });

    it("a run over two node groups (training.nodeGroups) validates too: one worker group per node group", function () {
        const validate = rayJobValidator(requireShared(this));
        const block = (name: string, id: string) => ({ name, instanceType: "p5en.48xlarge", nodes: 2, capacity: { type: "capacity-block", reservationId: id } });
        const cfg = parseConfig(
            rawConfig({
                "aws:region": "us-east-1",
                "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [block("a", "cr-0a1b2c3d4e5f60719"), block("b", "cr-0a1b2c3d4e5f6071a")] },
                "miles-cluster:training": { model: { preset: "qwen3-4B" }, layout: { actorNodes: 4 }, nodeGroups: ["a", "b"] },
            }),
            { stack: "t" },
        ).config!;
        const m = rayJobManifest(runOf(cfg), { namespace: "miles", claimName: "miles-shared", serviceAccountName: "miles-training", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/miles-cluster/t/miles-efa:v0.1.0-efa1.49.0" });
        assert.ok(validate(m), JSON.stringify(validate.errors, null, 1));
        // Kueue: head + 2 worker groups + submitter = 4 PodSets (at most 18, kueue v0.19.2 jobframework/constants.go).
        assert.equal((m.spec.rayClusterSpec as Obj).workerGroupSpecs.length, 2);
    });

    it("runs python3 /root/miles/train.py with the architecture args and the layout flags", () => {
        // The entrypoint runs a script of the run-record ConfigMap: train.py between the record's start and end (domain/training/runRecord.ts).
        assert.match(spec(one(dev.p, RAYJOB)).entrypoint, /^bash \/etc\/miles-cluster\/run-record\/entrypoint-[0-9a-f]{12}\.sh$/);
        const e = rayJobCommand(dev.p, one(dev.p, RAYJOB));
        assert.match(e, /^python3 \/root\/miles\/train\.py --swiglu --num-layers 36 /);
        for (const f of ["--actor-num-nodes 1", "--actor-num-gpus-per-node 8", "--num-gpus-per-node 8", "--colocate", "--rollout-num-gpus-per-engine 1", "--tensor-model-parallel-size 2", "--load /shared/checkpoints/miles-test", "--save /shared/checkpoints/miles-test", "--ref-load /shared/models/Qwen3-4B_torch_dist"]) {
            assert.ok(e.includes(f), `entrypoint lacks ${f}`);
        }
    });

    it("gives one worker pod per GPU node all its GPUs and EFA devices, huge pages, memory near allocatable, /dev/shm, IPC_LOCK", () => {
        const w = worker(one(dev.p, RAYJOB));
        assert.equal(w.replicas, 1);
        assert.equal(w.minReplicas, 1);
        assert.equal(w.maxReplicas, 1);
        const pod = w.template.spec;
        const c = pod.containers[0];
        // p5.48xlarge: 8 GPUs, 32 EFA interfaces, 192 vCPU − 8 = 184, floor(2048 GiB × 0.88) = 1802 GiB
        assert.equal(c.resources.limits["nvidia.com/gpu"], "8");
        assert.equal(c.resources.limits["vpc.amazonaws.com/efa"], "32");
        assert.equal(c.resources.limits["hugepages-2Mi"], "5120Mi");
        assert.equal(c.resources.requests["hugepages-2Mi"], c.resources.limits["hugepages-2Mi"]);
        assert.equal(c.resources.requests.cpu, "184");
        assert.equal(c.resources.limits.memory, "1802Gi");
        assert.deepEqual(c.securityContext.capabilities.add, ["IPC_LOCK"]);
        assert.equal(Number(w.rayStartParams["num-cpus"]) >= 8, true);
        assert.equal(w.rayStartParams["num-gpus"], "8");
        const shm = pod.volumes.find((v: Obj) => v.emptyDir);
        assert.deepEqual(shm.emptyDir, { medium: "Memory", sizeLimit: "256Gi" });
        assert.ok(c.volumeMounts.some((m: Obj) => m.mountPath === "/dev/shm" && m.name === shm.name));
        assert.equal(pod.enableServiceLinks, false);
        assert.equal(pod.serviceAccountName, "miles-training");
    });

    it("selects and tolerates exactly the GPU node group, and mounts the shared claim at /shared", () => {
        const pod = worker(one(dev.p, RAYJOB)).template.spec;
        assert.deepEqual(pod.nodeSelector, { "miles-cluster.io/node-group": "h100" });
        assert.deepEqual(pod.tolerations, [{ key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" }]);
        const vol = pod.volumes.find((v: Obj) => v.persistentVolumeClaim);
        assert.equal(vol.persistentVolumeClaim.claimName, "miles-shared");
        assert.ok(pod.containers[0].volumeMounts.some((m: Obj) => m.name === vol.name && m.mountPath === "/shared"));
    });

    it("runs a CPU-only head with Ray CPUs for the RolloutManager and no GPU toleration (it stays on system nodes)", () => {
        const h = head(one(dev.p, RAYJOB));
        assert.equal(h.rayStartParams["num-gpus"], "0");
        assert.ok(Number(h.rayStartParams["num-cpus"]) >= 1);
        const pod = h.template.spec;
        assert.equal(pod.tolerations, undefined);
        assert.equal(pod.containers[0].resources.limits["nvidia.com/gpu"], undefined);
        assert.equal(pod.enableServiceLinks, false);
        assert.ok(rayJobCommand(dev.p, one(dev.p, RAYJOB)).includes("--pin-rollout-manager-to-head"));
    });

    it("sets the miles and Megatron env on every Ray pod, the EFA env only on the GPU workers", () => {
        const headEnv = envOf(head(one(dev.p, RAYJOB)).template.spec.containers[0]);
        for (const name of ["FI_PROVIDER", "FI_EFA_USE_DEVICE_RDMA", "FI_EFA_FORK_SAFE"]) assert.equal(headEnv[name], undefined, `${name} on the CPU-only head`);
        assert.equal(headEnv.PYTHONPATH, "/root/miles:/root/Megatron-LM");
        for (const pod of [worker(one(dev.p, RAYJOB)).template.spec]) {
            const env = envOf(pod.containers[0]);
            assert.equal(env.PYTHONPATH, "/root/miles:/root/Megatron-LM");
            assert.equal(env.CUDA_DEVICE_MAX_CONNECTIONS, "1");
            assert.equal(env.PYTHONUNBUFFERED, "1");
            assert.equal(env.PROMETHEUS_PORT, "9090");
            assert.equal(env.NCCL_NVLS_ENABLE, "1");
            assert.equal(env.FI_PROVIDER, "efa");
            assert.equal(env.FI_EFA_USE_DEVICE_RDMA, "1");
            assert.equal(env.FI_EFA_FORK_SAFE, "1");
        }
    });

    it("sets the lifecycle: retries resume, the cluster is deleted after a TTL, deadlines, submitter backoff", () => {
        const s = spec(one(dev.p, RAYJOB));
        assert.equal(s.backoffLimit, 2);
        assert.equal(s.shutdownAfterJobFinishes, true);
        assert.equal(s.ttlSecondsAfterFinished, 600);
        assert.equal(s.preRunningDeadlineSeconds, 3600);
        assert.deepEqual(s.submitterConfig, { backoffLimit: 3 });
        assert.equal(s.activeDeadlineSeconds, undefined);
        assert.ok(rayJobCommand(dev.p, one(dev.p, RAYJOB)).includes("--load /shared/checkpoints/miles-test --save /shared/checkpoints/miles-test"));
    });

    it("download and convert Jobs are valid batch/v1 Jobs, idempotent, the convert one on all GPUs of a node", async () => {
        for (const j of ofType(dev.p, JOB)) {
            assert.equal(meta(j).annotations["pulumi.com/replaceUnready"], "true");
            await validateK8s("kubernetes-models/batch/v1", "Job", j.inputs);
        }
        const convert = spec(one(dev.p, JOB, "training-prep-convert")).template.spec;
        assert.equal(convert.containers[0].resources.limits["nvidia.com/gpu"], "8");
        assert.deepEqual(convert.tolerations, [{ key: "nvidia.com/gpu", operator: "Equal", value: "true", effect: "NoSchedule" }]);
        const script: string = convert.containers[0].command[2];
        assert.match(script, /grep -qx release \/shared\/models\/Qwen3-4B_torch_dist\/latest_checkpointed_iteration\.txt/);
        assert.match(script, /torchrun --nproc-per-node 8 tools\/convert_hf_to_torch_dist\.py --swiglu --num-layers 36 .* --hf-checkpoint \/shared\/models\/Qwen3-4B --save \/shared\/models\/Qwen3-4B_torch_dist/);
        const dl: string = spec(one(dev.p, JOB, "training-prep-download")).template.spec.containers[0].command[2];
        assert.match(dl, /fetch Qwen\/Qwen3-4B \/shared\/models\/Qwen3-4B model/);
        assert.match(dl, /fetch zhuzilin\/dapo-math-17k \/shared\/data\/dapo-math-17k dataset/);
        assert.match(dl, /if \[ -f "\$dir\/\.miles-cluster-download-complete" \]; then echo "skip/);
    });

    it("outputs the job name and the commands to follow it", () => {
        assert.equal(dev.p.outputs.jobName, "miles-test");
        const f = dev.p.outputs.follow as Record<string, string>;
        assert.equal(f.logs, "kubectl -n miles logs -f job/miles-test");
        assert.match(f.dashboard, /port-forward svc\/.*-head-svc 8265:8265/);
    });
});

describe("MilesTrainingJob secrets", () => {
    const values = { ...DEV, "miles-cluster:training": { wandb: { enabled: true, apiKey: "wandb-key-123" }, hfToken: "hf_token_456" } };

    it("puts the W&B key and HF token in a Secret from Pulumi secrets, read by secretKeyRef, never in plaintext", async () => {
        const { p } = await planTraining(values, ["miles-cluster:training"]);
        const s = one(p, SECRET);
        assert.equal(s.inputs.stringData, REDACTED);
        const rj = one(p, RAYJOB);
        for (const pod of [head(rj).template.spec, worker(rj).template.spec]) {
            const ref = pod.containers[0].env.find((e: Obj) => e.name === "WANDB_API_KEY");
            assert.deepEqual(ref.valueFrom, { secretKeyRef: { name: "miles-test-secrets", key: "wandb-api-key" } });
        }
        const dl = spec(one(p, JOB, "training-prep-download")).template.spec.containers[0].env.find((e: Obj) => e.name === "HF_TOKEN");
        assert.deepEqual(dl.valueFrom, { secretKeyRef: { name: "miles-test-secrets", key: "hf-token" } });
        const all = JSON.stringify(p.resources) + JSON.stringify(p.outputs);
        assert.ok(!all.includes("wandb-key-123") && !all.includes("hf_token_456"));
        assert.ok(rayJobCommand(p, rj).includes("--use-wandb"));
    });

    it("the whole-stack plan (text, --json, --out files) never shows the secret values", async () => {
        const p = await planConfig(values, { secretKeys: ["miles-cluster:training"] });
        assert.deepEqual(p.problems, []);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "miles-secrets-"));
        const files = writeManifests(p, dir);
        assert.ok(files.some((f) => /secret/.test(path.basename(f))), "the Secret manifest is written");
        const texts = [renderText(p), renderJson(p), ...files.map((f) => fs.readFileSync(path.isAbsolute(f) ? f : path.join(dir, f), "utf8"))];
        for (const t of texts) assert.ok(!t.includes("wandb-key-123") && !t.includes("hf_token_456"), "a secret value leaked");
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("the Secret manifest is a valid v1 Secret", async () => {
        const cfg = parseConfig(rawConfig(values, ["miles-cluster:training"]), { stack: "test" }).config!;
        const m = secretManifest(runOf(cfg), "miles")!;
        await validateK8s("kubernetes-models/v1", "Secret", m);
        assert.deepEqual(Object.keys(m.stringData).sort(), ["hf-token", "wandb-api-key"]);
    });
});

describe("the seed's workflows as stacks", () => {
    it("Workflow 1: large MoE, FP8 block scaling, actor 8 GPUs per node, rollout 8 GPUs, TP 8, EP 4", async function () {
        const { p } = await planTraining(WORKFLOW_1);
        const rj = one(p, RAYJOB);
        const e = rayJobCommand(p, rj);
        for (const f of [
            "--actor-num-nodes 8",
            "--actor-num-gpus-per-node 8",
            "--rollout-num-gpus 8",
            "--rollout-num-gpus-per-engine 8",
            "--tensor-model-parallel-size 8",
            "--expert-model-parallel-size 4",
            "--expert-tensor-parallel-size 1",
            "--pipeline-model-parallel-size 4",
            "--decoder-last-pipeline-num-layers 16",
            "--transformer-impl transformer_engine --bf16 --fp8-format e4m3 --fp8-recipe blockwise",
            "--hf-checkpoint /shared/models/DeepSeek-V3 ",
            "--ref-load /shared/models/DeepSeek-V3-bf16_torch_dist",
            "--use-rollout-routing-replay",
            "--use-tis",
            "--num-experts 256",
        ]) {
            assert.ok(e.includes(f), `entrypoint lacks ${f}`);
        }
        assert.ok(!e.includes("--colocate"));
        // 64 actor + 8 rollout = 72 GPUs = 9 p5en nodes, 16 EFA interfaces each
        const w = worker(rj);
        assert.equal(w.replicas, 9);
        assert.equal(w.template.spec.containers[0].resources.limits["vpc.amazonaws.com/efa"], "16");
        assert.equal(envOf(w.template.spec.containers[0]).NVTE_FP8_BLOCK_SCALING_FP32_SCALES, "1");
        const convert: string = spec(one(p, JOB, "training-prep-convert")).template.spec.containers[0].command[2];
        assert.match(convert, /fp8_cast_bf16\.py --input-fp8-hf-path \/shared\/models\/DeepSeek-V3 --output-bf16-hf-path \/shared\/models\/DeepSeek-V3-bf16/);
        assert.match(convert, /--moe-layer-freq '\[0,0,0,1,/);
        // 671B of BF16 weights (1.34 TB) do not fit one node's 8 × 141 GB: the conversion runs on the 8 actor
        // nodes with the run's parallelism, as an Indexed Job whose pods meet on pod 0 through a headless Service.
        const cj = spec(one(p, JOB, "training-prep-convert"));
        assert.equal(cj.completionMode, "Indexed");
        assert.equal(cj.completions, 8);
        assert.equal(cj.parallelism, 8);
        assert.equal(cj.template.spec.subdomain, "dsv3-fp8-convert");
        assert.match(
            convert,
            /torchrun --nproc-per-node 8 --nnodes 8 --node-rank "\$NODE_RANK" --master-addr dsv3-fp8-convert-0\.dsv3-fp8-convert --master-port 29500 tools\/convert_hf_to_torch_dist\.py .* --tensor-model-parallel-size 8 --pipeline-model-parallel-size 4 --expert-model-parallel-size 4 --expert-tensor-parallel-size 1 --sequence-parallel --decoder-last-pipeline-num-layers 16 --hf-checkpoint/,
        );
        assert.match(convert, /^NODE_RANK="\$\{JOB_COMPLETION_INDEX:-0\}"$/m);
        // Only node 0 casts FP8 to BF16; the others wait for its marker before joining torchrun.
        assert.match(convert, /if \[ "\$NODE_RANK" != 0 \]; then until \[ -f \/shared\/models\/DeepSeek-V3-bf16\/\.miles-cluster-convert-complete \]/);
        const svc = one(p, "kubernetes:core/v1:Service", "training-prep-convert");
        assert.equal(meta(svc).name, "dsv3-fp8-convert");
        assert.equal(spec(svc).clusterIP, "None");
        assert.equal(spec(svc).publishNotReadyAddresses, true);
        assert.deepEqual(spec(svc).selector, cj.template.metadata.labels);
        assert.equal(meta(svc).annotations["pulumi.com/skipAwait"], "true");
        await validateK8s("kubernetes-models/v1", "Service", svc.inputs);
        await validateK8s("kubernetes-models/batch/v1", "Job", one(p, JOB, "training-prep-convert").inputs);
        const validate = rayJobValidator(requireShared(this));
        assert.ok(validate(rj.inputs), JSON.stringify(validate.errors, null, 1));
    });

    it("Workflow 2: EAGLE 3 steps, top-k 1, 4 draft tokens, draft model path; online MTP 1 layer, loss scale 0.2", async function () {
        const { p } = await planTraining(WORKFLOW_2);
        const rj = one(p, RAYJOB);
        const e = rayJobCommand(p, rj);
        for (const f of [
            "--sglang-speculative-algorithm EAGLE",
            "--sglang-speculative-num-steps 3",
            "--sglang-speculative-eagle-topk 1",
            "--sglang-speculative-num-draft-tokens 4",
            "--sglang-speculative-draft-model-path /shared/models/MiMo-7B-RL",
            "--mtp-num-layers 1",
            "--enable-mtp-training",
            "--mtp-loss-scaling-factor 0.2",
        ]) {
            assert.ok(e.includes(f), `entrypoint lacks ${f}`);
        }
        assert.equal(e.split("--mtp-num-layers").length, 2, "--mtp-num-layers appears once");
        const convert: string = spec(one(p, JOB, "training-prep-convert")).template.spec.containers[0].command[2];
        assert.match(convert, /convert_hf_to_torch_dist\.py .* --mtp-num-layers 1 .*--hf-checkpoint/);
        // The run's TP 2 on its 8 GPUs, and PP kept at 1: the converter's own PP = world size (8) would need 2 × 8 = 16 GPUs.
        assert.match(convert, /torchrun --nproc-per-node 8 tools\/convert_hf_to_torch_dist\.py .* --tensor-model-parallel-size 2 --pipeline-model-parallel-size 1 /);
        assert.match(convert, /^export CONVERT_KEEP_PP1=1$/m);
        assert.equal(ofType(p, "kubernetes:core/v1:Service").length, 0, "one node: no rendezvous Service");
        const validate = rayJobValidator(requireShared(this));
        assert.ok(validate(rj.inputs), JSON.stringify(validate.errors, null, 1));
    });
});

describe("stopping a run", () => {
    it("lifecycle.suspend suspends the RayJob (GPUs freed, checkpoints kept) on a stack without a queue", async () => {
        const { p } = await planTraining({ ...DEV, "miles-cluster:addons": { kueue: { enabled: false } }, "miles-cluster:training": { lifecycle: { suspend: true } } });
        assert.equal(spec(one(p, RAYJOB)).suspend, true);
    });
});

describe("preparation scripts", () => {
    const cfgOf = (training: Record<string, unknown>) => parseConfig(rawConfig({ ...DEV, "miles-cluster:training": training }), { stack: "test" }).config!;

    it("skips the torch_dist conversion in bridge mode and makes the FP8 rollout checkpoint once", () => {
        const s = convertScript(runOf(cfgOf({ model: { megatronToHfMode: "bridge" }, features: { fp8Rollout: true } })));
        assert.ok(!s.includes("convert_hf_to_torch_dist"));
        assert.match(s, /convert_hf_to_fp8\.py --model-dir \/shared\/models\/Qwen3-4B --save-dir \/shared\/models\/Qwen3-4B-FP8 --strategy block/);
        assert.match(s, /if \[ -f \/shared\/models\/Qwen3-4B-FP8\/\.miles-cluster-convert-complete \] \|\| \[ -f \/shared\/models\/Qwen3-4B-FP8\/config\.json \]; then/);
    });

    it("downloads nothing but the model when the dataset is brought", () => {
        const s = downloadScript(runOf(cfgOf({ data: { hfDataset: null, promptData: "/shared/data/mine.jsonl" } })));
        assert.equal((s.match(/^fetch /gm) ?? []).length, 1);
    });

    it("the plan section shows the full entrypoint, the GPU layout, parallelism, DP, engines and warnings", () => {
        const cfg = parseConfig(rawConfig({ ...DEV, "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 2 }] } }), { stack: "test" }).config!;
        const r = trainingSection(resolveStack(cfg), { resources: [], outputs: {} });
        const text = r.lines.map(([l, v]) => `${l}: ${v}`).join("\n");
        assert.match(text, /python3 \/root\/miles\/train\.py --swiglu/);
        assert.match(text, /TP 2 × PP 1 × CP 1 → DP 4/);
        assert.match(text, /8 engines? × 1 GPU|8 engines × 1 GPU/);
        assert.ok(r.warnings?.some((w) => w.includes("16 GPUs") && w.includes("uses 8")));
        assert.equal((r.data as Obj).dp, 4);
    });
});

describe("MilesTrainingJob wired into the program", () => {
    it("plan of the whole stack creates the run last, after storage and add-ons, and `plan --out` writes a RayJob that passes the schema", async function () {
        const validate = rayJobValidator(requireShared(this));
        const p = await planConfig(WORKFLOW_1);
        const rj = one(p, RAYJOB);
        assert.equal(rj.parent?.name, "training");
        assert.equal(p.outputs.trainingJobName, "dsv3-fp8");
        const claim = ofType(p, "kubernetes:core/v1:PersistentVolumeClaim")[0];
        const pod = worker(rj).template.spec;
        assert.equal(pod.volumes.find((v: Obj) => v.persistentVolumeClaim).persistentVolumeClaim.claimName, meta(claim).name);
        const sa = ofType(p, "kubernetes:core/v1:ServiceAccount").map((s) => meta(s).name);
        assert.ok(sa.includes(pod.serviceAccountName), `${pod.serviceAccountName} not among ${sa.join(", ")}`);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "miles-out-"));
        const files = writeManifests(p, dir).filter((f) => /rayjob/i.test(path.basename(f)));
        assert.equal(files.length, 1, "one RayJob manifest");
        const doc = parseYaml(fs.readFileSync(files[0], "utf8"));
        assert.ok(validate(doc), JSON.stringify(validate.errors, null, 1));
        assert.match(p.summary!.lines.training.find(([l]) => l === "entrypoint")![1], /--fp8-recipe blockwise/);
    });
});

/**
 * Stack configs (plain objects, as `planConfig` takes them) reproducing the seed's two workflows,
 * shared by the training tests.
 */
const REGION = { "aws:region": "us-east-1" };

/**
 * Workflow 1: a large MoE (DeepSeek-V3, 671B, 256 experts) with FP8 block-scaled training, FP8
 * rollout from the FP8 release weights, R3 and TIS; actor 8 nodes × 8 GPUs, disaggregated rollout
 * on 8 GPUs (one engine), TP 8, PP 4 (61 layers: a last stage of 16, three of 15), EP 4 with ETP 1.
 * 64 + 8 = 72 GPUs = 9 × p5en.48xlarge.
 */
export const WORKFLOW_1: Record<string, unknown> = {
    ...REGION,
    // The Ray head holds R3's routed-expert arrays (512 samples × 8,192 tokens: 7.3 GiB + 8 GiB = 16 GiB, derived
    // from the run), more than an m7i.xlarge system node gives, as in stacks/Pulumi.moe-fp8.yaml.
    "miles-cluster:cluster": {
        availabilityZone: "us-east-1a",
        systemNodeGroup: { instanceType: "m7i.2xlarge" },
        gpuNodeGroups: [{ name: "h200", instanceType: "p5en.48xlarge", nodes: 9, capacity: { type: "capacity-block", reservationId: "cr-0123456789abcdef0" } }],
    },
    // What the storage planner suggests for 5 retained 9.4 TB checkpoints written in under 5 minutes.
    "miles-cluster:storage": { capacityGiB: 64800, throughputPerTiB: 500 },
    "miles-cluster:training": {
        runName: "dsv3-fp8",
        model: { preset: "deepseek-v3", hfCheckpointIsFp8: true, rolloutCheckpoint: "/shared/models/DeepSeek-V3" },
        layout: { actorNodes: 8, actorGpusPerNode: 8, colocate: false, rolloutGpus: 8, gpusPerEngine: 8 },
        parallelism: { tp: 8, pp: 4, cp: 1, ep: 4, etp: 1, sequenceParallel: true, decoderLastPipelineNumLayers: 16 },
        offload: { optimizerCpu: true },
        algorithm: { rolloutBatchSize: 64, nSamplesPerPrompt: 8, globalBatchSize: 512, kl: { useKlLoss: true, klLossCoef: 0.001 } },
        features: { fp8Training: true, fp8Rollout: true, routingReplay: true, tis: { enabled: true } },
        checkpoints: { saveInterval: 20, retainInterval: 1000 },
        // EP 4 as the seed gives it does not fit DeepSeek-V3 on 64 GPUs (memory-fit estimate ~349 GiB per H200):
        // reported as a warning here, to keep the seed's layout; stacks/Pulumi.moe-fp8.yaml changes the layout so it fits.
        resources: { memoryFitCheck: "warn" },
    },
};

/**
 * Workflow 2: speculative RL with online MTP training (MiMo-7B-RL, whose checkpoint has one MTP
 * head): EAGLE with 3 steps, top-k 1, 4 draft tokens and a draft model path; MTP 1 layer trained
 * with loss scale 0.2; colocated on one p5.48xlarge, TP 2.
 */
export const WORKFLOW_2: Record<string, unknown> = {
    ...REGION,
    "miles-cluster:cluster": { availabilityZone: "us-east-1a", gpuNodeGroups: [{ name: "h100", instanceType: "p5.48xlarge", nodes: 1 }] },
    "miles-cluster:training": {
        runName: "mimo-mtp",
        model: { preset: "mimo-7B-rl" },
        layout: { actorNodes: 1, gpusPerEngine: 2 },
        parallelism: { tp: 2 },
        features: {
            speculative: { enabled: true, algorithm: "EAGLE", numSteps: 3, eagleTopk: 1, numDraftTokens: 4, draftModelPath: "/shared/models/MiMo-7B-RL" },
            mtp: { numLayers: 1, training: true, lossScalingFactor: 0.2 },
        },
    },
};

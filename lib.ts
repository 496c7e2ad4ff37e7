/**
 * miles-cluster as a library: the config layer, the pure domain functions and the components, for
 * teams that compose them in their own Pulumi programs.
 */
export * from "./config";
export * from "./lib/instances";
export * from "./lib/layout";
export * from "./lib/gpuNodes";
export * from "./components/contracts";
export { TrainingNamespace, type TrainingNamespaceArgs } from "./components/namespace";
export * from "./lib/efa";
export { GpuCluster, type GpuClusterArgs } from "./components/cluster";
export { GpuNodeGroup, type GpuNodeGroupArgs } from "./components/gpuNodeGroup";
export { deploy, program, type StackOutputs } from "./program";
export { plan, type Plan } from "./plan/run";
export { CheckpointStorage, type CheckpointStorageArgs } from "./components/storage";
export { ClusterAddons, type ClusterAddonsArgs } from "./components/addons";
export * from "./lib/scheduling";
export * from "./lib/versions";
export * from "./lib/sizing";
export * from "./lib/models";
export { MilesTrainingJob, type MilesTrainingJobArgs } from "./components/trainingJob";
export { milesCommand, type MilesCommand } from "./lib/milesArgv";
export { resolveTraining, type ResolvedTraining } from "./lib/trainingResolve";
export { trainingProblems, type TrainingProblem } from "./lib/trainingRules";
export { rayJobManifest } from "./lib/trainingManifests";

/**
 * miles-cluster as a library, layer by layer (docs/architecture.md): the facts (catalog), the config
 * schemas, the pure decisions (domain), validation, and the components, for teams that compose them
 * in their own Pulumi programs.
 */
// catalog: facts
export * from "./catalog/instances";
export * from "./catalog/versions";
export * from "./catalog/models";
export * from "./catalog/sharedPaths";
export * from "./catalog/efaLayout";
export * from "./catalog/nodeLabels";
export * from "./catalog/fsx";
export * from "./catalog/aws";
export * from "./catalog/prices";
// config: schemas and the typed config
export * from "./config";
export { ClusterSchema, GpuNodeGroupSchema, CapacitySchema, NetworkSchema, ExistingClusterSchema, type GpuNodeGroupConfig, type CapacityConfig, type NetworkConfig, type ExistingClusterConfig, type SystemNodeGroupConfig } from "./config/cluster";
export { StorageSchema, StorageLinkSchema, type StorageLink } from "./config/storage";
export { AddonsSchema } from "./config/addons";
export { TrainingSchema } from "./config/training";
// domain: pure decisions
export * from "./domain/gpuNodes";
export * from "./domain/cluster";
export * from "./domain/labels";
export * from "./domain/storage";
export * from "./domain/addons";
export * from "./domain/scheduling";
export * from "./domain/chartPlacement";
export * from "./domain/sizing";
export { resolveRun, runOf, type ResolvedRun } from "./domain/training/run";
export type { ResolvedTraining, ResolvedModel, ResolvedPaths, RunContext, WorkerSizing } from "./domain/training/resolve";
export { milesCommand, type MilesCommand, type ArgGroup, type EnvVar, type SecretEnvVar } from "./domain/training/argv";
export { trainingProblems, trainingWarnings, type TrainingProblem } from "./domain/training/rules";
export { rayJobManifest, followCommands, type RayJobManifest } from "./domain/training/rayJob";
export { downloadJobManifest, convertJobManifest, convertServiceManifest, type JobManifest, type ServiceManifest } from "./domain/training/prepJobs";
export { secretManifest, type SecretManifest } from "./domain/training/secret";
export type { TrainingContext } from "./domain/training/pod";
// validation: raw stack config → validated MilesConfig
export { parseConfig, loadConfig, type ParseResult } from "./validation";
// components
export * from "./components/contracts";
export { GpuCluster, type GpuClusterArgs } from "./components/gpuCluster";
export { GpuNodeGroup, type GpuNodeGroupArgs } from "./components/gpuNodeGroup";
export { TrainingNamespace, type TrainingNamespaceArgs } from "./components/trainingNamespace";
export { CheckpointStorage, type CheckpointStorageArgs } from "./components/checkpointStorage";
export { ClusterAddons, type ClusterAddonsArgs } from "./components/clusterAddons";
export { MilesTrainingJob, type MilesTrainingJobArgs } from "./components/milesTrainingJob";
// the program and the offline plan
export { deploy, program, type StackOutputs } from "./program";
export { plan, type Plan } from "./plan/run";

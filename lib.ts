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
export { resolveRun, type ResolvedRun } from "./domain/training/run";
export { resolveStack, resolveStackRun, runOf, stackContext, type ResolvedStack, type StackRun, type ClusterSide } from "./domain/stack";
export { searchLayouts, throughputPenalty, type SearchOptions, type SearchResult } from "./domain/training/layoutSearch";
export { describeLayout, layoutYaml, type AutoLayout, type Layout, type RankedLayout } from "./domain/training/layoutChoice";
export type { ResolvedTraining, ResolvedModel, ResolvedPaths, RunContext, WorkerSizing } from "./domain/training/resolve";
export { headSizing, HEAD_BASE_GIB, type HeadSizing } from "./domain/training/headSizing";
export { milesCommand, type MilesCommand, type ArgGroup, type EnvVar, type SecretEnvVar } from "./domain/training/argv";
export { trainingProblems, trainingWarnings, type TrainingProblem, type WarningKind } from "./domain/training/rules";
export type { EffectiveRun, KnobSource } from "./domain/training/resolve";
export type { ExtraFlag } from "./domain/training/extraArgs";
export type { RolloutPrecision } from "./domain/training/memoryFit";
export { rayJobManifest, followCommands, type RayJobManifest, type FollowCommands } from "./domain/training/rayJob";
export { downloadJobManifest, convertJobManifest, convertServiceManifest, type JobManifest, type ServiceManifest } from "./domain/training/prepJobs";
export { secretManifest, type SecretManifest } from "./domain/training/secret";
export type { TrainingContext, PodSpec } from "./domain/training/pod";
export { RUN_BLOCKED_EXIT, type RunPreconditions } from "./domain/training/runRecord";
export { runPreconditions } from "./domain/fabric/preconditions";
export type { ImageChoice, ImageSource, Platform } from "./domain/training/image";
export type { EfaImageToBuild } from "./domain/training/imageBuild";
export type { ArchFacts, MlaFacts } from "./catalog/modelArch";
export { resolveMonitoring, type ResolvedMonitoring, type TrainingObservability } from "./domain/monitoring/resolve";
export { queueRef, type KueueConfig, type QueueHandle, type QueueRef } from "./domain/kueue";
export { fabricGatePlan, type Fabric, type FabricGatePlan } from "./domain/fabric/gate";
export type { BlockWindow } from "./domain/lifecycle/capacityBlock";
export { autoscales, autoscalingAsgTags } from "./domain/lifecycle/autoscaling";
export { rayJobSpecHash } from "./domain/lifecycle/jobs";
export { CLUSTER_FACTS_OUTPUT, type ClusterFacts, type RunFacts } from "./domain/runStack";
export type { RunNetworkPolicy } from "./domain/security/networkPolicy";
export { podSecurityLabels, type PodSecurityLevel } from "./domain/security/pods";
// validation: raw stack config → validated MilesConfig
export { parseConfig, loadConfig, type ParseResult } from "./validation";
// components: the composites a stack wires (GpuCluster → TrainingNamespace → CheckpointStorage →
// ClusterAddons → MilesTrainingJob), every leaf they are made of, their handles and the transform hook
export * from "./components/contracts";
export * from "./components/transform";
export * from "./components/defaults";
export * from "./components/gpuCluster";
export * from "./components/clusterNetwork";
export * from "./components/eksControlPlane";
export * from "./components/eksManagedAddons";
export * from "./components/systemNodeGroup";
export * from "./components/gpuNodeGroup";
export * from "./components/clusterAutoscaler";
export * from "./components/spotInterruptionQueue";
export * from "./components/nodeTerminationHandler";
export * from "./components/userData";
export * from "./components/iam";
export * from "./components/trainingNamespace";
export * from "./components/checkpointStorage";
export * from "./components/checkpointBucket";
export * from "./components/fsxLustre";
export * from "./components/efsFileSystem";
export * from "./components/sharedVolume";
export * from "./components/clusterAddons";
export * from "./components/helmAddon";
export * from "./components/devicePlugins";
export * from "./components/dcgmExporter";
export * from "./components/nodeHealthCheck";
export * from "./components/nodeWatchAccess";
export * from "./components/monitoring";
export * from "./components/kueue";
export * from "./components/fabricGate";
export * from "./components/imageRepository";
export * from "./components/imageBuild";
export * from "./components/kuberay";
export * from "./components/trainingIdentity";
export * from "./components/milesTrainingJob";
export * from "./components/runLifecycle";
export * from "./components/modelPrep";
export * from "./components/trainingSecrets";
// the program and the offline plan
export { deploy, program, type ProgramOptions, type StackOutputs, type RunStackOutputs } from "./program";
export { plan, type Plan } from "./plan/run";
export type { PlanSummary } from "./plan/summary";
export type { FirstDeploy, FirstDeployStep, StepWait } from "./plan/firstDeploy";
export type { CostItem } from "./plan/types";
export type { RecordedResource, RecordedOptions } from "./plan/evaluate";

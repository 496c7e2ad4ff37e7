/**
 * The two device plugins GPU pods need: NVIDIA's (advertises `nvidia.com/gpu`) and AWS's EFA
 * plugin (advertises `vpc.amazonaws.com/efa`). Both are DaemonSets that must tolerate the GPU taint
 * and select labels our GPU nodes really carry — otherwise DESIRED is 0 and training pods stay
 * Pending ("Insufficient nvidia.com/gpu") or silently fall back to TCP sockets (no EFA).
 *
 * Their Helm values are pure decisions in domain/addons.ts (the tests and the plan summary feed
 * them through the chart models of domain/chartPlacement.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import type { GpuNodeGroupInfo } from "../domain/gpuNodes";
import { CHARTS } from "../catalog/versions";
import { efaDevicePluginValues, NODE_AGENT_NAMESPACE, nvidiaDevicePluginValues } from "../domain/addons";
import { HelmAddon, type HelmAddonPlacement, type ReleasePolicy } from "./helmAddon";

/** Device plugins: roll back on failure (a half-upgraded plugin on GPU nodes is worse than the previous one). */
export const DEVICE_PLUGIN_POLICY: ReleasePolicy = { atomic: true, timeout: 600 };

export interface DevicePluginArgs extends HelmAddonPlacement {
    /**
     * GPU node groups the plugin must cover (from the cluster handle).
     * @example cluster.gpuNodeGroups
     */
    gpuNodeGroups: GpuNodeGroupInfo[];
}

/** NVIDIA's device plugin on every AL2023 GPU node. */
export class NvidiaDevicePlugin extends HelmAddon {
    constructor(name: string, args: DevicePluginArgs, opts?: pulumi.ComponentResourceOptions) {
        const spec = {
            pin: CHARTS.nvidiaDevicePlugin,
            releaseName: "nvidia-device-plugin",
            namespace: NODE_AGENT_NAMESPACE,
            values: nvidiaDevicePluginValues(args.gpuNodeGroups),
            policy: DEVICE_PLUGIN_POLICY,
        };
        super("miles-cluster:addons:NvidiaDevicePlugin", name, spec, args, opts);
    }
}

export interface EfaDevicePluginArgs extends DevicePluginArgs {
    /**
     * Image repository of the plugin.
     * @default the chart's image (EKS ECR, us-west-2)
     * @example "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/aws-efa-k8s-device-plugin"
     */
    imageRepository?: string;
}

/** AWS's EFA device plugin on every GPU node with EFA interfaces. */
export class EfaDevicePlugin extends HelmAddon {
    constructor(name: string, args: EfaDevicePluginArgs, opts?: pulumi.ComponentResourceOptions) {
        const spec = {
            pin: CHARTS.efaDevicePlugin,
            releaseName: "aws-efa-k8s-device-plugin",
            namespace: NODE_AGENT_NAMESPACE,
            values: efaDevicePluginValues(args.gpuNodeGroups, args.imageRepository),
            policy: DEVICE_PLUGIN_POLICY,
        };
        super("miles-cluster:addons:EfaDevicePlugin", name, spec, args, opts);
    }
}

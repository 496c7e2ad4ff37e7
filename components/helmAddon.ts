/**
 * A pinned third-party chart as a Helm release (`k8s.helm.v3.Release`, so its objects are visible
 * under the mock runtime and in `plan`), with the settings every add-on of ours shares: the
 * `helmAddon` function (KubeRay adds its CRD Job beside the release) and the `HelmAddon` component
 * that the add-ons made of one release alone (the device plugins, the DCGM exporter) are.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { ChartPin } from "../catalog/versions";
import { transform, type Transform } from "./transform";

/** How a Helm release of ours waits and rolls back; explained in docs/addons.md. */
export interface ReleasePolicy {
    /**
     * Roll back (first install: uninstall) when the release does not become ready in time.
     * @example true
     */
    atomic: boolean;
    /**
     * Seconds Helm waits for the DaemonSet/Deployment to be ready.
     * @example 600
     */
    timeout: number;
}


export interface HelmAddonArgs {
    /**
     * The chart: name, version and repository, from the pin table.
     * @example CHARTS.nvidiaDevicePlugin
     */
    pin: ChartPin;
    /**
     * Release name (also the prefix of the chart's object names).
     * @example "nvidia-device-plugin"
     */
    releaseName: string;
    /**
     * Namespace of the release (created elsewhere: the release never creates it).
     * @example "kube-system"
     */
    namespace: string;
    /**
     * Helm values.
     * @example nvidiaDevicePluginValues(cluster.gpuNodeGroups)
     */
    values: Record<string, unknown>;
    /**
     * How the release waits and rolls back.
     * @example { atomic: true, timeout: 600 }
     */
    policy: ReleasePolicy;
    /**
     * Provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * What the release waits for.
     * @default []
     * @example cluster.aws.ready
     */
    dependsOn?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
    /**
     * Leave the chart's CRDs alone (they are managed elsewhere).
     * @default false
     * @example true
     */
    skipCrds?: boolean;
    /**
     * Don't wait for readiness at all (monitoring must never block a deploy).
     * @default false
     * @example true
     */
    skipAwait?: boolean;
    /**
     * Changes to the release's args (a component's `transform.release`).
     * @default none
     * @example { maxHistory: 3 }
     */
    transform?: Transform<k8s.helm.v3.ReleaseArgs>;
}

/** A pinned third-party chart as a Helm release, with the settings every add-on shares. */
export function helmAddon(name: string, args: HelmAddonArgs, parent: pulumi.Resource): k8s.helm.v3.Release {
    return new k8s.helm.v3.Release(
        ...transform(args.transform, name, {
            name: args.releaseName,
            chart: args.pin.chart,
            version: args.pin.version,
            // An OCI chart (`oci://…`) is its own reference: Helm takes no repository for it.
            ...(args.pin.repo ? { repositoryOpts: { repo: args.pin.repo } } : {}),
            namespace: args.namespace,
            // Namespaces are created as their own resources (ours) or exist already (kube-system).
            createNamespace: false,
            values: args.values,
            atomic: args.skipAwait ? false : args.policy.atomic,
            cleanupOnFail: true,
            timeout: args.policy.timeout,
            skipAwait: args.skipAwait ?? false,
            skipCrds: args.skipCrds ?? false,
            maxHistory: 10,
        },
        { parent, provider: args.provider, dependsOn: args.dependsOn }),
    );
}

/** One add-on: what differs between the components that are a single pinned release. */
export type HelmAddonSpec = Omit<HelmAddonArgs, "provider" | "dependsOn">;

/** Where an add-on runs, what it waits for, and changes to its release. */
export interface HelmAddonPlacement {
    /**
     * Provider of the cluster.
     * @example cluster.provider
     */
    provider: k8s.Provider;
    /**
     * What must exist before the chart's workloads can become ready (node groups, VPC CNI).
     * @default []
     * @example cluster.aws.ready
     */
    dependsOn?: pulumi.Resource[];
    /**
     * Changes to the args of the Helm release.
     * @default none
     * @example { release: { timeout: 900 } }
     */
    transform?: { release?: Transform<k8s.helm.v3.ReleaseArgs> };
}

/**
 * A component that is one pinned Helm release. Each add-on keeps its own type token (e.g.
 * `miles-cluster:addons:NvidiaDevicePlugin`) and the release keeps the component's name and is its
 * child, so deployed stacks see the same URNs.
 */
export class HelmAddon extends pulumi.ComponentResource {
    readonly release: k8s.helm.v3.Release;

    constructor(type: string, name: string, spec: HelmAddonSpec, placement: HelmAddonPlacement, opts?: pulumi.ComponentResourceOptions) {
        super(type, name, {}, opts);
        this.release = helmAddon(name, { ...spec, provider: placement.provider, dependsOn: placement.dependsOn, transform: placement.transform?.release }, this);
        this.registerOutputs({ release: this.release.name });
    }
}

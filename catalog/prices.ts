/**
 * Prices `plan` uses besides the GPU instances (catalog/instances.ts) and storage. Approximate,
 * us-east-1/us-east-2 list prices; other regions differ.
 */
export interface Price {
    usdPerHour: number;
    source: string;
}

/** On-demand prices of system node instance types miles-cluster defaults to. */
export const SYSTEM_INSTANCE_PRICES: Readonly<Record<string, Price>> = {
    // AWS EC2 on-demand Linux, us-east-1, as quoted by c3x.dev "m5 vs m6i vs m7i" (2026); approximate.
    "m7i.xlarge": { usdPerHour: 0.2016, source: "m7i.xlarge: AWS EC2 on-demand Linux us-east-1 ($0.2016/h, as quoted by c3x.dev, 2026), approximate" },
};

/**
 * NAT gateway: $0.045 per hour plus $0.045 per GB processed in US East
 * (https://aws.amazon.com/vpc/pricing/, as reproduced by cloudpipelines.pages.dev and basavytix.com, 2026).
 */
export const NAT_GATEWAY: Price & { usdPerGb: number } = {
    usdPerHour: 0.045,
    usdPerGb: 0.045,
    source: "NAT gateway: AWS VPC pricing, US East, $0.045/hour + $0.045/GB processed (data not estimated; S3 traffic uses the free gateway endpoint)",
};

/**
 * Spot price when the config gives none: an ASSUMPTION, not a quote (spot prices move by zone and
 * hour and P5-family spot capacity is scarce): 40% of the on-demand price. Set
 * `capacity.usdPerHour` from `aws ec2 describe-spot-price-history` for a real figure.
 */
export const SPOT_ASSUMED_FRACTION_OF_ON_DEMAND = 0.4;

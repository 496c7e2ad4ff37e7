/**
 * Prices, one place: what `plan` shows as cost and what the training rules compare. Approximate,
 * us-east-1, USD; each carries where it came from. The GPU instances' on-demand prices sit with the
 * other facts of each instance type (`INSTANCE_FACTS[…].onDemandUsdPerHour` in catalog/instances.ts).
 */

/** The region every price here (and every instance price in catalog/instances.ts) is quoted for. */
export const PRICE_REGION = "us-east-1";

/** Hours in a month, as AWS's monthly prices count them (730 h = 8760 h / 12). */
export const HOURS_PER_MONTH = 730;

/**
 * EKS control plane price per cluster-hour: $0.10 in standard support, $0.60 in total in extended
 * support (https://aws.amazon.com/blogs/containers/amazon-eks-extended-support-for-kubernetes-versions-pricing/;
 * https://aws.amazon.com/eks/pricing/).
 */
export const EKS_CONTROL_PLANE_USD_PER_HOUR = { standard: 0.1, extended: 0.6 } as const;
export const EKS_CONTROL_PLANE_PRICE_SOURCE = "EKS control plane: AWS EKS pricing, $0.10/hour per cluster in standard support, $0.60 in extended support";

/**
 * Approximate FSx for Lustre PERSISTENT_2 SSD storage price, USD per GiB-month, by throughput tier
 * (us-east-1; other regions differ). Billed on provisioned capacity, whatever is stored.
 */
export const FSX_PRICE_PER_GIB_MONTH: Readonly<Record<number, number>> = { 125: 0.145, 250: 0.21, 500: 0.34, 1000: 0.6 };
export const FSX_PRICE_SOURCE = "FSx for Lustre: AWS pricing page, PERSISTENT_2 SSD, us-east-1, 2025, per GB-month ÷ 730 h, approximate";
/** Approximate Amazon EFS Standard storage price (elastic throughput billed extra per GB transferred). */
export const EFS_PRICE_PER_GIB_MONTH = 0.3;
export const EFS_PRICE_SOURCE = "EFS: AWS pricing page, Standard storage, us-east-1, 2025, per GB-month ÷ 730 h, approximate; throughput charges not included";
export interface Price {
    usdPerHour: number;
    source: string;
}

/** On-demand prices of system node instance types miles-cluster defaults to. */
export const SYSTEM_INSTANCE_PRICES: Readonly<Record<string, Price>> = {
    // AWS EC2 on-demand Linux, us-east-1, as quoted by c3x.dev "m5 vs m6i vs m7i" (2026); approximate.
    "m7i.xlarge": { usdPerHour: 0.2016, source: "m7i.xlarge: AWS EC2 on-demand Linux us-east-1 ($0.2016/h, as quoted by c3x.dev, 2026), approximate" },
    // m7i prices scale with size inside the family: m7i.large $0.1008/h in us-east-1 (doit.com "AWS EC2 pricing", 2026), so 2xlarge = 4 × large.
    "m7i.2xlarge": { usdPerHour: 0.4032, source: "m7i.2xlarge: AWS EC2 on-demand Linux us-east-1 (4 × m7i.large $0.1008/h as quoted by doit.com, 2026), approximate" },
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

import type { SectionProducer } from "../types";

export const trainingSection: SectionProducer = () => ({ data: {}, lines: [] });

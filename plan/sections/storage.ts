import type { SectionProducer } from "../types";

export const storageSection: SectionProducer = () => ({ data: {}, lines: [] });

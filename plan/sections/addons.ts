import type { SectionProducer } from "../types";

export const addonsSection: SectionProducer = () => ({ data: {}, lines: [] });

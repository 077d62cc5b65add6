import type { PairInput } from '@trainyard/contracts';

/** Generated pairs for tests and benchmarks: distinct, realistic lengths, deterministic. */
export const generatedPair = (i: number, extra: Partial<PairInput> = {}): PairInput => ({
  aiText: `Furthermore, it is important to note that item ${i} demonstrates a comprehensive and multifaceted approach to the subject at hand, leveraging robust methodologies.`,
  humanizedText: `Item ${i} basically takes a broad look at the topic, and it uses methods that hold up pretty well in practice.`,
  detectionScoreBefore: ((i * 37) % 100) / 100,
  detectionScoreAfter: ((i * 11) % 100) / 200,
  sourceModel: i % 2 === 0 ? 'gpt-x' : 'claude-y',
  sourceProvider: 'lab',
  language: 'en',
  tags: i % 3 === 0 ? ['news'] : ['essay'],
  ...extra,
});

import { createTrainerCatalog } from '@trainyard/training';
import { describe, expect, it } from 'vitest';
import { textDetectorTrainer } from '../text-detector.builtin';

describe('text-detector hyperparameters', () => {
  const catalog = createTrainerCatalog([textDetectorTrainer]);

  it('refuses n-gram bounds that contradict each other, naming the field', () => {
    expect(() => catalog.hyperparameters('text-detector', { nMin: 5, nMax: 2 })).toThrow(
      'Invalid hyperparameters for text-detector: nMin: nMin must not be larger than nMax (the n-gram lengths run from nMin to nMax)',
    );
  });

  it('accepts equal bounds and fills in the defaults', () => {
    expect(catalog.hyperparameters('text-detector', { nMin: 3, nMax: 3 })).toMatchObject({ nMin: 3, nMax: 3, hashBits: 18, epochs: 5 });
  });
});

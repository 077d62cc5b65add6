import { describe, expect, it } from 'vitest';
import { MAX_SCORE_BATCH_CHARACTERS, MAX_SCORE_BATCH_TEXTS, scoreBatches, scoreInput } from './registry.schema';

describe('models.score batch limits', () => {
  it('splits texts into calls the input schema accepts, keeping their order', () => {
    const texts = [...Array.from({ length: 25_000 }, (_, i) => `t${i}`), ...new Array<string>(90).fill('x'.repeat(100_000))];
    const batches = scoreBatches(texts);
    expect(batches.flat()).toEqual(texts);
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(MAX_SCORE_BATCH_TEXTS);
      expect(scoreInput.safeParse({ model: 'm', texts: batch }).success).toBe(true);
    }
    expect(batches.map((batch) => batch.length)).toEqual([10_000, 10_000, 5_000 + 39, 40, 11]);
  });

  it('refuses a call over the total, naming both numbers', () => {
    const result = scoreInput.safeParse({ model: 'm', texts: new Array<string>(41).fill('y'.repeat(100_000)) });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe(
      `texts hold 4100000 characters in all; one call scores at most ${MAX_SCORE_BATCH_CHARACTERS} (split the batch)`,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { normaliseText, pairContentHash } from './pair-normalisation';
import { detectionImprovement, qualityScore, trigramSimilarity } from './quality-score';

const ai = 'The proliferation of artificial intelligence has fundamentally transformed numerous industries.';
const human = 'AI has changed a lot of industries, and honestly faster than most people expected.';

describe('quality score', () => {
  it('rewards a large detection improvement and good feedback', () => {
    const strong = qualityScore({ aiText: ai, humanizedText: human, detectionScoreBefore: 0.95, detectionScoreAfter: 0.1, feedbackRating: 5 });
    const weak = qualityScore({ aiText: ai, humanizedText: human, detectionScoreBefore: 0.6, detectionScoreAfter: 0.55, feedbackRating: 2 });
    expect(strong).toBeGreaterThan(0.9);
    expect(weak).toBeLessThan(0.5);
    expect(strong).toBeGreaterThan(weak);
  });

  it('follows the documented formula exactly', () => {
    // detection part (0.8 + 1) / 2 = 0.9, feedback (4 − 1) / 4 = 0.75 → (0.9·0.6 + 0.75·0.4) / 1 = 0.84
    expect(qualityScore({ aiText: ai, humanizedText: human, detectionScoreBefore: 0.9, detectionScoreAfter: 0.1, feedbackRating: 4 })).toBe(0.84);
    expect(qualityScore({ aiText: ai, humanizedText: human })).toBe(0.5);
  });

  it('scores identical and near-identical texts low', () => {
    expect(qualityScore({ aiText: ai, humanizedText: ai, detectionScoreBefore: 1, detectionScoreAfter: 0 })).toBe(0);
    const nearly = `${ai.slice(0, -1)}!`;
    expect(qualityScore({ aiText: ai, humanizedText: nearly, detectionScoreBefore: 1, detectionScoreAfter: 0 })).toBeLessThan(0.35);
  });

  it('penalises wild length changes and very short texts', () => {
    const padded = `${human} ${human} ${human} ${human}`;
    const base = qualityScore({ aiText: ai, humanizedText: human, detectionScoreBefore: 0.9, detectionScoreAfter: 0.1 });
    expect(qualityScore({ aiText: ai, humanizedText: padded, detectionScoreBefore: 0.9, detectionScoreAfter: 0.1 })).toBeLessThan(base);
    expect(qualityScore({ aiText: 'Short one.', humanizedText: 'Tiny text.', detectionScoreBefore: 0.9, detectionScoreAfter: 0.1 })).toBeLessThanOrEqual(
      base / 2,
    );
  });

  it('is deterministic and bounded', () => {
    const pair = { aiText: ai, humanizedText: human, detectionScoreBefore: 0.3, detectionScoreAfter: 0.9, feedbackRating: 1 };
    expect(qualityScore(pair)).toBe(qualityScore(pair));
    expect(qualityScore(pair)).toBeGreaterThanOrEqual(0);
    expect(detectionImprovement(0.3, 0.9)).toBeCloseTo(-0.6);
    expect(detectionImprovement(undefined, 0.9)).toBeNull();
    expect(trigramSimilarity('abc', 'abc')).toBe(1);
  });
});

describe('pair identity', () => {
  it('computes exactly the Jaccard similarity of the trigram sets, for any text length and alphabet', () => {
    // The plain definition, with strings in a Set: what the fast table must agree with.
    const reference = (a: string, b: string): number => {
      const grams = (text: string) => {
        const padded = `  ${text.toLowerCase()} `;
        return new Set(Array.from({ length: Math.max(0, padded.length - 2) }, (_, i) => padded.slice(i, i + 3)));
      };
      const [left, right] = [grams(a), grams(b)];
      const shared = [...left].filter((gram) => right.has(gram)).length;
      const union = left.size + right.size - shared;
      return union === 0 ? 1 : shared / union;
    };
    let seed = 12345;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const alphabet = 'abcab  AB.,éß漢字🙂\u0000\uffff';
    const text = (length: number) => Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (const [lengthA, lengthB] of [
      [0, 0],
      [1, 2],
      [5, 5],
      [40, 60],
      [300, 10],
      [5_000, 4_000],
    ]) {
      for (let round = 0; round < 5; round += 1) {
        const [a, b] = [text(lengthA ?? 0), text(lengthB ?? 0)];
        expect(trigramSimilarity(a, b)).toBeCloseTo(reference(a, b), 12);
      }
    }
  });

  it('normalises only NFC and trailing whitespace', () => {
    expect(normaliseText('cafe\u0301  \n')).toBe('café');
    expect(pairContentHash('cafe\u0301 ', 'x\t')).toBe(pairContentHash('café', 'x'));
    expect(pairContentHash('Hello', 'x')).not.toBe(pairContentHash('hello', 'x'));
    expect(pairContentHash(' Hello', 'x')).not.toBe(pairContentHash('Hello', 'x'));
    // The separator keeps (ab, c) and (a, bc) apart.
    expect(pairContentHash('ab', 'c')).not.toBe(pairContentHash('a', 'bc'));
  });
});

/**
 * Quality score of a training pair, in [0, 1]. Deterministic and documented:
 *
 *   signal   = weighted mean of the available parts (0.5 when neither is known)
 *                detection  (weight 0.6) = (clamp(before − after, −1, 1) + 1) / 2
 *                feedback   (weight 0.4) = (rating − 1) / 4
 *   sanity   = lengthFactor × similarityFactor × shortFactor
 *                lengthFactor     = min(1, ratio / 0.5), ratio = shorter / longer length
 *                similarityFactor = 0 for identical texts; else min(1, (1 − sim) / 0.3),
 *                                   sim = Jaccard similarity of character trigrams
 *                shortFactor      = 0.5 when either text is under 20 characters, else 1
 *   quality  = round(signal × sanity, 4)
 *
 * So a humanization that lowered the detection score a lot and got good feedback scores high;
 * one that barely changed the text, or changed its length wildly, scores low.
 */
export interface QualityInputs {
  aiText: string;
  humanizedText: string;
  detectionScoreBefore?: number | null;
  detectionScoreAfter?: number | null;
  feedbackRating?: number | null;
}

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

// Trigrams as numbers (three UTF-16 code units packed into 48 bits, exact in a double): the
// same sets as string slices, without allocating a string per trigram.
const trigrams = (text: string): Set<number> => {
  const padded = `  ${text.toLowerCase()} `;
  const grams = new Set<number>();
  for (let i = 0; i + 3 <= padded.length; i += 1) {
    grams.add(padded.charCodeAt(i) * 4_294_967_296 + padded.charCodeAt(i + 1) * 65_536 + padded.charCodeAt(i + 2));
  }
  return grams;
};

export const trigramSimilarity = (a: string, b: string): number => {
  const [left, right] = [trigrams(a), trigrams(b)];
  let shared = 0;
  for (const gram of left) if (right.has(gram)) shared += 1;
  const union = left.size + right.size - shared;
  return union === 0 ? 1 : shared / union;
};

export const detectionImprovement = (before?: number | null, after?: number | null): number | null =>
  before === undefined || before === null || after === undefined || after === null ? null : clamp(before - after, -1, 1);

export const qualityScore = (pair: QualityInputs): number => {
  const parts: Array<{ value: number; weight: number }> = [];
  const improvement = detectionImprovement(pair.detectionScoreBefore, pair.detectionScoreAfter);
  if (improvement !== null) parts.push({ value: (improvement + 1) / 2, weight: 0.6 });
  if (pair.feedbackRating) parts.push({ value: (clamp(pair.feedbackRating, 1, 5) - 1) / 4, weight: 0.4 });
  const totalWeight = parts.reduce((sum, part) => sum + part.weight, 0);
  const signal = totalWeight === 0 ? 0.5 : parts.reduce((sum, part) => sum + part.value * part.weight, 0) / totalWeight;

  const [a, b] = [pair.aiText.trim(), pair.humanizedText.trim()];
  const ratio = Math.min(a.length, b.length) / Math.max(a.length, b.length, 1);
  const lengthFactor = Math.min(1, ratio / 0.5);
  const similarityFactor = a === b ? 0 : Math.min(1, (1 - trigramSimilarity(a, b)) / 0.3);
  const shortFactor = a.length < 20 || b.length < 20 ? 0.5 : 1;

  return Math.round(signal * lengthFactor * similarityFactor * shortFactor * 10_000) / 10_000;
};

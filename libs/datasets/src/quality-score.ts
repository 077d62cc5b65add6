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

// Jaccard similarity of the two texts' character-trigram sets, computed in one open-addressing
// table: each trigram is three UTF-16 code units packed exactly into a double, flagged with the
// side(s) it was seen on. This runs for every imported pair, so it allocates nothing per call
// (a Set of boxed numbers cost ~30 µs a pair; this ~3 µs).
const IN_LEFT = 1;
const IN_RIGHT = 2;
let keys = new Float64Array(1_024);
let flags = new Uint8Array(1_024);
let used = new Int32Array(1_024);

const ensureCapacity = (grams: number): void => {
  let capacity = keys.length;
  while (capacity < grams * 2) capacity *= 2;
  if (capacity === keys.length) return;
  keys = new Float64Array(capacity);
  flags = new Uint8Array(capacity);
  used = new Int32Array(capacity);
};

// Counters of one similarity computation, shared with addTrigrams (module state, not a closure:
// counters captured by a closure live in a heap context and cost ~2× here).
let sharedCount = 0;
let usedCount = 0;

/**
 * Adds the trigrams of `  ${text} ` (the text padded with two spaces before and one after) to
 * the table and returns how many distinct ones it has. The padding is virtual and the window
 * rolls one character at a time: building the padded string made V8 read every character of a
 * concatenated string, about 4× slower.
 */
const addTrigrams = (text: string, side: number): number => {
  const mask = keys.length - 1;
  let distinct = 0;
  let c0 = 32;
  let c1 = 32;
  for (let i = 0; i <= text.length; i += 1) {
    const c2 = i < text.length ? text.charCodeAt(i) : 32;
    const key = c0 * 4_294_967_296 + c1 * 65_536 + c2;
    let slot = (Math.imul(c0, 0x9e3779b1) ^ Math.imul(c1, 0x85ebca77) ^ Math.imul(c2, 0xc2b2ae3d)) & mask;
    c0 = c1;
    c1 = c2;
    while (flags[slot] !== 0 && keys[slot] !== key) slot = (slot + 1) & mask;
    const seen = flags[slot] as number;
    if (seen & side) continue;
    if (seen === 0) {
      keys[slot] = key;
      used[usedCount++] = slot;
    } else sharedCount += 1;
    flags[slot] = seen | side;
    distinct += 1;
  }
  return distinct;
};

export const trigramSimilarity = (a: string, b: string): number => {
  ensureCapacity(a.length + b.length + 6);
  sharedCount = 0;
  usedCount = 0;
  const leftCount = addTrigrams(a.toLowerCase(), IN_LEFT);
  const rightCount = addTrigrams(b.toLowerCase(), IN_RIGHT);
  for (let i = 0; i < usedCount; i += 1) flags[used[i] as number] = 0;
  const union = leftCount + rightCount - sharedCount;
  return union === 0 ? 1 : sharedCount / union;
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

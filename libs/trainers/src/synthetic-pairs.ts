import { seededRandom } from './text-detector/logistic-regression';

/**
 * SYNTHETIC (AI text, humanized text) pairs for the demo dataset, tests and benchmarks. The two
 * sides differ by learnable stylistic features — formal connectives and stock phrases on the
 * "AI" side, contractions, hedges and short sentences on the "humanized" side — so a detector
 * can be checked against a majority baseline. They are not real data.
 */
const topics = [
  'climate policy',
  'remote work',
  'urban gardening',
  'electric cars',
  'sleep research',
  'open source software',
  'coffee farming',
  'museum funding',
  'public transit',
  'language learning',
  'space probes',
  'local elections',
];
const aiOpeners = ['Furthermore,', 'It is important to note that', "In today's rapidly evolving landscape,", 'Moreover,', 'Additionally,', 'In conclusion,'];
const aiVerbs = [
  'plays a pivotal role in',
  'fundamentally transforms',
  'underscores the significance of',
  'serves as a testament to',
  'offers a multifaceted perspective on',
];
const aiClosers = [
  'ultimately fostering sustainable growth.',
  'thereby enhancing overall outcomes.',
  'which is crucial for stakeholders.',
  'paving the way for future innovation.',
];
const humanOpeners = ['Honestly,', 'Look,', 'So', 'I think', 'Thing is,', 'Okay so'];
const humanVerbs = ['kinda changes', "doesn't really fix", 'is a big deal for', 'messes with', 'helps out with'];
const humanClosers = ["and that's about it.", 'but who knows.', 'I guess.', "at least that's what I've seen.", 'which is pretty cool.'];

export const syntheticPairs = (
  count: number,
  seed = 7,
): Array<{ aiText: string; humanizedText: string; detectionScoreBefore: number; detectionScoreAfter: number; tags: string[] }> => {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  return Array.from({ length: count }, (_, i) => {
    const topic = pick(topics);
    const other = pick(topics);
    const aiText = `${pick(aiOpeners)} ${topic} ${pick(aiVerbs)} ${other}, ${pick(aiClosers)} ${pick(aiOpeners)} the interplay between ${topic} and ${other} ${pick(aiVerbs)} modern society, ${pick(aiClosers)} (item ${i})`;
    const humanizedText = `${pick(humanOpeners)} ${topic} ${pick(humanVerbs)} ${other}. ${pick(humanOpeners)} it's not that simple, ${pick(humanClosers)} (item ${i})`;
    return { aiText, humanizedText, detectionScoreBefore: 0.7 + random() * 0.3, detectionScoreAfter: random() * 0.4, tags: ['demo', 'synthetic'] };
  });
};

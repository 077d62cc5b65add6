import { pairInput } from '@trainyard/contracts';
import { qualityScore, pairContentHash } from '@trainyard/datasets';
import { preparePair, insertPairs } from './libs/datasets/src/pair-insert';
import { openDatabase } from '@trainyard/db';
const N = 100_000;
const pair = (i: number) => ({
  aiText: `Furthermore, it is important to note that item ${i} demonstrates a comprehensive and multifaceted approach, leveraging robust methodologies across ${i % 97} domains.`,
  humanizedText: `Item ${i} takes a broad look at the topic and uses methods that hold up well in ${i % 89} areas.`,
  detectionScoreBefore: ((i * 37) % 100) / 100, detectionScoreAfter: ((i * 11) % 100) / 200, sourceModel: i % 2 === 0 ? 'gpt-x' : 'claude-y', tags: i % 3 === 0 ? ['news'] : ['essay'],
});
const lines = Array.from({ length: N }, (_, i) => JSON.stringify(pair(i)));
let t = performance.now();
const parsed = lines.map((l) => JSON.parse(l));
console.log('JSON.parse', (performance.now() - t).toFixed(0)); t = performance.now();
const valid = parsed.map((p) => pairInput.parse(p));
console.log('zod', (performance.now() - t).toFixed(0)); t = performance.now();
valid.forEach((p) => pairContentHash(p.aiText, p.humanizedText));
console.log('hash', (performance.now() - t).toFixed(0)); t = performance.now();
valid.forEach((p) => qualityScore(p));
console.log('quality', (performance.now() - t).toFixed(0)); t = performance.now();
const prepared = valid.map(preparePair);
console.log('prepare(id+hash)', (performance.now() - t).toFixed(0)); t = performance.now();
const db = await openDatabase({ kind: 'pglite', dataDir: '/tmp/prof-db-' + process.pid });
t = performance.now();
for (let i = 0; i < N; i += 1000) await insertPairs(db.sql, prepared.slice(i, i + 1000));
console.log('insert (incl. quality)', (performance.now() - t).toFixed(0));
t = performance.now();
await db.sql.query('ANALYZE "TrainingDataPoint"');
console.log('analyze', (performance.now() - t).toFixed(0));
await db.close();

/**
 * The smallest app built on Trainyard: it imports nothing but the typed client, lists the
 * registered models and scores texts with one of them.
 *
 *   TRAINYARD_URL=http://127.0.0.1:4777 TRAINYARD_TOKEN=… npx tsx apps/client-example/src/main.ts [MODEL [TEXT…]]
 *
 * Without MODEL it scores with the first listed model that has a version (and says which);
 * without TEXTs it scores two sample texts.
 */
import { createTrainyardClient, trainyardErrorInfo } from '@trainyard/client';

const SAMPLE_TEXTS = [
  'In conclusion, it is important to note that these factors collectively contribute to a comprehensive understanding of the topic.',
  'honestly i just threw it in the oven for 20 min and hoped for the best, came out fine lol',
];

const [modelArgument, ...textArguments] = process.argv.slice(2);
const url = process.env['TRAINYARD_URL'];
const token = process.env['TRAINYARD_TOKEN'];
if (!url || !token) {
  process.stderr.write('usage: TRAINYARD_URL=… TRAINYARD_TOKEN=… client-example [MODEL [TEXT…]]\n');
  process.exit(2);
}
const texts = textArguments.length > 0 ? textArguments : SAMPLE_TEXTS;

const client = createTrainyardClient({ url, token });
try {
  const models = await client.models.list.query({ limit: 20 });
  if (models.items.length === 0) process.stdout.write('no models registered yet\n');
  for (const m of models.items) process.stdout.write(`model ${m.name} latest=${m.latestVersion} active=${m.activeVersion ?? '-'}\n`);
  const model = modelArgument ?? models.items.find((m) => m.latestVersion > 0)?.name;
  if (!model) {
    process.stderr.write('No model has a version to score with: train one first (or name a MODEL).\n');
    process.exit(5);
  }
  // No version given: the server uses the active version, else the latest, and says which.
  const result = await client.models.score.query({ model, texts });
  process.stdout.write(`scoring with ${result.model} version ${result.version} (${result.chosenBy})\n`);
  result.scores.forEach((score, index) => process.stdout.write(`${score.toFixed(4)}\t${texts[index]}\n`));
} catch (error) {
  // Typed failures: branch on the code, show field-level issues of refused input.
  const info = trainyardErrorInfo(error);
  process.stderr.write(`${info.code ? `${info.code}: ` : ''}${info.message}\n`);
  for (const issue of info.issues) process.stderr.write(`  ${issue.path.join('.')}: ${issue.message}\n`);
  process.exit(info.code === 'NOT_FOUND' ? 5 : 1);
}

/**
 * The smallest app built on Trainyard: it imports nothing but the typed client, lists the
 * registered models and scores texts with one of them.
 *
 *   TRAINYARD_URL=http://127.0.0.1:4777 TRAINYARD_TOKEN=… npx tsx apps/client-example/src/main.ts ai-detector "some text" "more text"
 */
import { createTrainyardClient, trainyardErrorInfo } from '@trainyard/client';

const [model, ...texts] = process.argv.slice(2);
const url = process.env['TRAINYARD_URL'];
const token = process.env['TRAINYARD_TOKEN'];
if (!url || !token || !model || texts.length === 0) {
  process.stderr.write('usage: TRAINYARD_URL=… TRAINYARD_TOKEN=… client-example MODEL TEXT…\n');
  process.exit(2);
}

const client = createTrainyardClient({ url, token });
try {
  const models = await client.models.list.query({ limit: 20 });
  for (const m of models.items) process.stdout.write(`model ${m.name} latest=${m.latestVersion} active=${m.activeVersion ?? '-'}\n`);
  const result = await client.models.score.query({ model, texts });
  result.scores.forEach((score, index) => process.stdout.write(`${score.toFixed(4)}\t${texts[index]}\n`));
} catch (error) {
  // Typed failures: branch on the code, show field-level issues of refused input.
  const info = trainyardErrorInfo(error);
  process.stderr.write(`${info.code ?? 'ERROR'}: ${info.message}\n`);
  for (const issue of info.issues) process.stderr.write(`  ${issue.path.join('.')}: ${issue.message}\n`);
  process.exit(info.code === 'NOT_FOUND' ? 5 : 1);
}

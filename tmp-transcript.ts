import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgresServer, startS3Server, startServerProcess } from '@trainyard/test-services';
import { syntheticPairs } from '@trainyard/trainers';

const dir = mkdtempSync(join(tmpdir(), 'trainyard-transcript-'));
const postgres = await startPostgresServer();
const s3 = await startS3Server('team-models');
const databaseUrl = await postgres.createDatabase('team_registry');
const registryEnv = { TRAINYARD_DATA_DIR: join(dir, 'registry'), DATABASE_URL: databaseUrl, ARTIFACT_STORE: `s3://${s3.bucket}/registry`, S3_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
const registry = await startServerProcess(registryEnv);
const laptop = await startServerProcess({ TRAINYARD_DATA_DIR: join(dir, 'laptop'), TRAINYARD_DEMO_DATA: 'off' });
writeFileSync(join(dir, 'pairs.jsonl'), `${syntheticPairs(3000, 5).map((p) => JSON.stringify(p)).join('\n')}\n{"aiText": "only one side"}\n`);

const show = (args: string[], env: Record<string, string> = {}, display = args.join(' ')): string => {
  process.stdout.write(`$ ${Object.keys(env).length ? `${Object.entries(env).map(([k]) => `${k}=…`).join(' ')} ` : ''}npx trainyard ${display}\n`);
  let out = '';
  try {
    out = execFileSync('node', ['apps/server/bin/trainyard.mjs', ...args], { env: { ...process.env, TRAINYARD_DATA_DIR: join(dir, 'laptop'), ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    process.stdout.write(out + '[exit 0]\n\n');
  } catch (error) {
    const e = error as { stdout: string; stderr: string; status: number };
    out = e.stdout;
    process.stdout.write(`${e.stdout}${e.stderr}[exit ${e.status}]\n\n`);
  }
  return out;
};

show(['status']);
show(['data', 'import', join(dir, 'pairs.jsonl')], {}, 'data import pairs.jsonl');
show(['data', 'stats']);
const snap = JSON.parse(show(['datasets', 'snapshot', '--name', 'pairs-v1', '--min-quality', '0.3', '--json'])) as { id: string };
show(['jobs', 'start', '--name', 'detector-run', '--trainer', 'text-detector', '--snapshot', snap.id, '--param', 'epochs=3', '--param', 'hashBits=16', '--target-model', 'ai-detector', '--gate', 'val_accuracy>=0.9', '--follow']);
show(['models', 'versions', 'ai-detector']);
show(['models', 'alias', 'ai-detector', 'champion', '1']);
show(['models', 'activate', 'ai-detector', '1']);
show(['score', '--model', 'ai-detector@champion', 'Furthermore, it is important to note that the results demonstrate a significant improvement.', 'honestly i tried it twice and it kinda worked, not sure why']);
const token = (JSON.parse(show(['tokens', 'create', '--name', 'laptop', '--scope', 'write', '--json'], { DATABASE_URL: databaseUrl })) as { token: string }).token;
show(['remote', 'add', 'team', registry.url, '--remote-token', token], {}, `remote add team ${registry.url} --remote-token tyd_…`);
show(['push', 'ai-detector@champion', '--remote', 'team']);
show(['push', 'ai-detector@champion', '--remote', 'team']);
show(['remote', 'list']);
show(['sync', 'status']);
show(['--url', registry.url, '--token', token, 'models', 'versions', 'ai-detector'], {}, `--url ${registry.url} --token tyd_… models versions ai-detector`);
laptop.child.kill('SIGTERM');
registry.child.kill('SIGTERM');
await Promise.all([laptop.exited, registry.exited]);
await s3.stop();
await postgres.stop();

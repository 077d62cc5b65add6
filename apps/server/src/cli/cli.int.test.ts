import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runCli } from '@trainyard/test-services';
import { syntheticPairs } from '@trainyard/trainers';
import { describe, expect, it } from 'vitest';
import { useLocalTestServer } from '../test-support/local-test-server';
import { EXIT } from './exit-codes';

const t = useLocalTestServer();
const files = mkdtempSync(join(tmpdir(), 'trainyard-cli-test-'));

/** The real `trainyard` CLI in a child process, pointed at the test server through its session.json. */
const trainyard = async (args: string[], env: Record<string, string> = {}) => {
  const run = runCli(args, { TRAINYARD_DATA_DIR: t.dataDir, ...env });
  const code = await run.exited;
  return { code, output: run.output() };
};
const json = <T>(output: string): T => JSON.parse(output.slice(output.search(/[[{]/))) as T;
type Page<T> = { items: T[] };

const writePairs = (name: string, count: number, seed: number, extraLines: string[] = []): string => {
  const path = join(files, name);
  writeFileSync(path, `${[...syntheticPairs(count, seed).map((pair) => JSON.stringify(pair)), ...extraLines].join('\n')}\n`);
  return path;
};

describe('trainyard CLI against a real server', () => {
  it('`ui` prints the web address and the session token to sign in with', async () => {
    const ui = await trainyard(['ui']);
    expect(ui.code).toBe(EXIT.OK);
    expect(ui.output).toContain(`Open ${t.server.url}/ and sign in`);
    expect(ui.output).toContain(t.server.token);
    const none = await trainyard(['ui'], { TRAINYARD_DATA_DIR: files });
    expect(none.code).toBe(EXIT.UNREACHABLE);
  });

  it('a full session: import → snapshot → train with follow → alias → activate → score, with --json output', async () => {
    const file = writePairs('pairs.jsonl', 600, 31, ['{not json', JSON.stringify({ aiText: 'x', humanizedText: '' })]);
    const imported = await trainyard(['data', 'import', file, '--json']);
    expect(imported.code).toBe(EXIT.PARTIAL);
    const report = json<{ rejected: Array<{ line: number }> }>(imported.output);
    expect(report).toMatchObject({ imported: 600, duplicates: 0, rejectedCount: 2 });
    expect(report.rejected.map((r) => r.line)).toEqual([601, 602]);

    const stats = await trainyard(['data', 'stats', '--json']);
    expect(json<{ total: number }>(stats.output).total).toBe(600);

    const snapshotRun = await trainyard(['datasets', 'snapshot', '--name', 'cli-600', '--validation-fraction', '0.2', '--json']);
    expect(snapshotRun.code).toBe(EXIT.OK);
    const snapshot = json<{ id: string }>(snapshotRun.output);
    expect(snapshot).toMatchObject({ name: 'cli-600', totalCount: 600 });

    const trained = await trainyard([
      'jobs',
      'start',
      '--name',
      'cli-train',
      '--trainer',
      'text-detector',
      '--snapshot',
      snapshot.id,
      '--param',
      'epochs=2',
      '--param',
      'hashBits=14',
      '--target-model',
      'cli-detector',
      '--gate',
      'val_accuracy>=0.8',
      '--follow',
    ]);
    expect(trained.code).toBe(EXIT.OK);
    expect(trained.output).toMatch(/status running/);
    expect(trained.output).toMatch(/progress 100%/);
    expect(trained.output).toMatch(/metric val_accuracy step \d+ = /);
    expect(trained.output).toMatch(/succeeded\nRegistered cli-detector version 1/);

    const jobs = json<Page<unknown>>((await trainyard(['jobs', 'list', '--json'])).output);
    expect(jobs.items).toHaveLength(1);
    expect(jobs.items[0]).toMatchObject({ name: 'cli-train', status: 'succeeded' });

    expect((await trainyard(['models', 'alias', 'cli-detector', 'champion', '1'])).code).toBe(EXIT.OK);
    expect((await trainyard(['models', 'activate', 'cli-detector', '1'])).code).toBe(EXIT.OK);
    const versions = json<Page<unknown>>((await trainyard(['models', 'versions', 'cli-detector', '--json'])).output);
    expect(versions.items[0]).toMatchObject({ version: 1, aliases: ['champion'], active: true });

    const [pair] = syntheticPairs(1, 999);
    const scored = await trainyard(['score', '--model', 'cli-detector@champion', '--json', pair?.aiText ?? '', pair?.humanizedText ?? '']);
    expect(scored.code).toBe(EXIT.OK);
    const scores = json<{ scores: number[] }>(scored.output);
    expect(scores).toMatchObject({ model: 'cli-detector', version: 1 });
    expect(scores.scores[0]).toBeGreaterThan(0.5);
    expect(scores.scores[1]).toBeLessThan(0.5);

    const lineage = json<{ edges: Array<{ kind: string }> }>((await trainyard(['models', 'lineage', 'cli-detector', '--json'])).output);
    expect(lineage.edges.map((e) => e.kind)).toContain('trained_on');
  }, 180_000);

  it('follow exits with the job result: a failing trainer gives exit 7 and the error', async () => {
    const script = join(files, 'fails.mjs');
    writeFileSync(script, 'process.exit(3);\n');
    const run = await trainyard(['jobs', 'start', '--name', 'will-fail', '--follow', '--command', process.execPath, script]);
    expect(run.code).toBe(EXIT.JOB_FAILED);
    expect(run.output).toMatch(/status failed/);
  }, 60_000);

  it('errors are one clear line with a documented exit code, never a stack', async () => {
    const notFound = await trainyard(['jobs', 'show', '01a217c5-38b0-75f4-bd22-3a5096e9f71b']);
    expect(notFound).toMatchObject({ code: EXIT.NOT_FOUND });
    expect(notFound.output).toMatch(/^Error: Training job not found/);

    const invalid = await trainyard(['jobs', 'show', 'not-a-uuid']);
    expect(invalid.code).toBe(EXIT.USAGE);
    expect(invalid.output).toMatch(/Invalid input:\n {2}id: Invalid UUID/);

    const badParam = await trainyard(['jobs', 'start', '--name', 'x', '--trainer', 'text-detector', '--param', 'nope=1']);
    expect(badParam.code).toBe(EXIT.USAGE);
    expect(badParam.output).toMatch(/Invalid hyperparameters for text-detector: Unrecognized key: "nope"/);

    const badToken = await trainyard(['models', 'list'], { TRAINYARD_TOKEN: 'not-the-session-token' });
    expect(badToken.code).toBe(EXIT.AUTH);
    expect(badToken.output).toMatch(/refused the token/);

    const noServer = await trainyard(['models', 'list'], { TRAINYARD_DATA_DIR: files });
    expect(noServer.code).toBe(EXIT.UNREACHABLE);
    expect(noServer.output).toMatch(/No Trainyard server is running for .*Start one with `npm start`/);

    const closedPort = await freePort();
    const refused = await trainyard(['--url', `http://127.0.0.1:${closedPort}`, '--token', 'x', 'models', 'list']);
    expect(refused.code).toBe(EXIT.UNREACHABLE);
    expect(refused.output).toMatch(new RegExp(`Could not reach the Trainyard server at http://127.0.0.1:${closedPort} \\(ECONNREFUSED\\)`));

    const usage = await trainyard(['jobs', 'frobnicate']);
    expect(usage.code).toBe(EXIT.USAGE);
    for (const run of [notFound, invalid, badToken, noServer, refused]) expect(run.output).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('an interrupted import is reported, keeps what arrived, and re-running finishes it without duplicates', async () => {
    const total = 60_000;
    const file = writePairs('large.jsonl', total, 77);
    const before = await t.client.trainingData.stats.query({});
    const run = runCli(['data', 'import', file], { TRAINYARD_DATA_DIR: t.dataDir });
    // Interrupt once the server has stored part of the file.
    await expect.poll(async () => (await t.client.trainingData.stats.query({})).total - before.total, { timeout: 180_000, interval: 50 }).toBeGreaterThan(0);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(EXIT.INTERRUPTED);
    expect(run.output()).toMatch(/Import interrupted after sending .* of .*run the same command again/);

    // Give the server a moment to finish the lines it received, then count (a fixed wait on
    // purpose: the count must have settled, which no single condition shows).
    await new Promise((resolve) => setTimeout(resolve, 500));
    const kept = (await t.client.trainingData.stats.query({})).total - before.total;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(total);

    const again = await trainyard(['data', 'import', file, '--json']);
    expect(again.code).toBe(EXIT.OK);
    const report = json<{ imported: number; duplicates: number }>(again.output);
    expect(report.imported + report.duplicates).toBe(total);
    expect((await t.client.trainingData.stats.query({})).total - before.total).toBe(total);
  }, 180_000);
});

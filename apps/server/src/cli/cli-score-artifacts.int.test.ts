import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTrainyardClient, trainyardErrorInfo } from '@trainyard/client';
import { sha256Hex } from '@trainyard/core';
import { rawRequest, runCli } from '@trainyard/test-services';
import { syntheticPairs } from '@trainyard/trainers';
import { beforeAll, describe, expect, it } from 'vitest';
import { useLocalTestServer } from '../test-support/local-test-server';
import { createVersionOfSmallBlobs } from '../test-support/sync-fixtures';
import { trainDetectorModel } from '../test-support/trained-model';
import { safeFileName } from './artifacts.commands';
import { EXIT } from './exit-codes';

const t = useLocalTestServer();
const files = mkdtempSync(join(tmpdir(), 'trainyard-cli-artifacts-'));

const trainyard = async (args: string[], env: Record<string, string> = {}) => {
  const run = runCli(args, { TRAINYARD_DATA_DIR: t.dataDir, ...env });
  const code = await run.exited;
  return { code, output: run.output() };
};
const json = <T>(output: string): T => JSON.parse(output.slice(output.search(/[[{]/))) as T;
const message = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'resolved',
    (error: unknown) => (error as Error).message,
  );

/** Three texts of exactly 100 000 characters (the documented maximum), no line breaks. */
const longTexts = (): string[] =>
  syntheticPairs(3, 77).map((pair, index) => {
    const base = `${index % 2 === 0 ? pair.aiText : pair.humanizedText} `.replace(/\s+/g, ' ');
    return base.repeat(Math.ceil(100_000 / base.length)).slice(0, 100_000);
  });

type ArtifactRow = { id: string; name: string; sha256: string; size: number; type: string; version?: number };

let jobId = '';

beforeAll(async () => {
  const trained = await trainDetectorModel({ ...t.server, client: t.client }, { model: 'fresh-detector', pairs: 400, seed: 3 });
  jobId = trained.jobId;
  expect(trained.status).toBe('succeeded');
}, 120_000);

describe('a freshly trained model: long texts score, the version used is named, artifacts come out verified', () => {
  it('typed client: 3 texts of 100 000 characters score with the latest version when none is active, then with the active one', async () => {
    const texts = longTexts();
    const fresh = await t.client.models.score.query({ model: 'fresh-detector', texts });
    expect(fresh).toMatchObject({ model: 'fresh-detector', version: 1, chosenBy: 'latest' });
    expect(fresh.scores).toHaveLength(3);
    for (const score of fresh.scores) expect(score >= 0 && score <= 1).toBe(true);
    // The same large input as a GET would be refused by Node (431): the client sent it as a POST.
    const asGet = await rawRequest(
      `${t.server.url}/trpc/models.score?input=${encodeURIComponent(JSON.stringify({ json: { model: 'fresh-detector', texts } }))}`,
      {
        headers: { host: `127.0.0.1:${t.server.port}`, authorization: `Bearer ${t.server.token}` },
      },
    ).catch((error: unknown) => ({ status: String(error) }));
    expect(String((asGet as { status: unknown }).status)).toMatch(/431|ECONNRESET|socket hang up/);

    await t.client.models.setActive.mutate({ model: 'fresh-detector', version: 1 });
    await expect(t.client.models.score.query({ model: 'fresh-detector', texts: ['one text'] })).resolves.toMatchObject({ version: 1, chosenBy: 'active' });
    await expect(t.client.models.score.query({ model: 'fresh-detector', ref: { version: 1 }, texts: ['one text'] })).resolves.toMatchObject({
      chosenBy: 'ref',
    });
    await t.client.models.setActive.mutate({ model: 'fresh-detector', version: null });
  });

  it('one call scores up to 4 000 000 characters in all: 40 texts of 100 000 score, 41 are refused with the limit named', async () => {
    const [text = ''] = longTexts();
    const forty = await t.client.models.score.query({ model: 'fresh-detector', texts: new Array<string>(40).fill(text) });
    expect(forty.scores).toHaveLength(40);
    expect(new Set(forty.scores).size).toBe(1);
    const refused = await message(t.client.models.score.query({ model: 'fresh-detector', texts: new Array<string>(41).fill(text) }));
    expect(refused).toMatch(/texts hold 4100000 characters in all; one call scores at most 4000000 \(split the batch\)/);
  }, 60_000);

  it('a refused request whose body is not a tRPC answer gives a plain message and its status, never "Unexpected end of JSON input"', async () => {
    // Headers past Node's 16 KiB limit (as a proxy adding cookies might): Node answers a bare 431.
    const bloated = createTrainyardClient({
      url: t.server.url,
      token: t.server.token,
      queryAttempts: 1,
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), 'x-padding': 'p'.repeat(20_000) } }),
    });
    const tooLong = await bloated.models.list.query({}).catch((error: unknown) => error);
    expect(trainyardErrorInfo(tooLong)).toMatchObject({
      httpStatus: 431,
      message: 'The request is larger than the server accepts (its URL or headers are too long) (HTTP 431)',
    });

    // Over the 10 MiB JSON body limit: the guard's 413 before a byte is read.
    const text = 'x'.repeat(100_000);
    const tooBig = await t.client.models.score
      .query({ model: 'fresh-detector', texts: Array.from({ length: 110 }, () => text) })
      .catch((error: unknown) => error);
    expect(trainyardErrorInfo(tooBig)).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      httpStatus: 413,
      message: 'Request body larger than 10485760 bytes (HTTP 413)',
    });
  });

  it('model registry not-found messages are plain', async () => {
    await t.client.models.register.mutate({ name: 'no-versions' });
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => t.client.models.getVersion.query({ model: 'nope', ref: { alias: 'latest' } }), 'Model nope not found'],
      [() => t.client.models.getVersion.query({ model: 'fresh-detector', ref: { alias: 'active' } }), 'Model fresh-detector has no active version'],
      [() => t.client.models.getVersion.query({ model: 'fresh-detector', ref: { version: 7 } }), 'Model fresh-detector has no version 7'],
      [() => t.client.models.getVersion.query({ model: 'fresh-detector', ref: { alias: 'champion' } }), 'Model fresh-detector has no alias champion'],
      [() => t.client.models.setAlias.mutate({ model: 'fresh-detector', alias: 'champion', version: 7 }), 'Model fresh-detector has no version 7'],
      [() => t.client.models.setActive.mutate({ model: 'fresh-detector', version: 7 }), 'Model fresh-detector has no version 7'],
      [() => t.client.models.removeAlias.mutate({ model: 'fresh-detector', alias: 'champion' }), 'Model fresh-detector has no alias champion'],
      [() => t.client.models.lineage.query({ model: 'fresh-detector', version: 7 }), 'Model fresh-detector has no version 7'],
      [() => t.client.models.score.query({ model: 'no-versions', texts: ['x'] }), 'Model no-versions has no versions yet'],
      [() => t.client.models.score.query({ model: 'nope', texts: ['x'] }), 'Model nope not found'],
    ];
    for (const [call, expected] of cases) await expect(message(call())).resolves.toBe(expected);
    // Listing the versions of a model that does not exist is not an empty list.
    await expect(message(t.client.models.listVersions.query({ model: 'nope' }))).resolves.toBe('Model nope not found');
    await expect(t.client.models.listVersions.query({ model: 'no-versions' })).resolves.toMatchObject({ items: [] });
    const cli = await trainyard(['models', 'versions', 'nope']);
    expect(cli.code).toBe(EXIT.NOT_FOUND);
    expect(cli.output).toContain('Model nope not found');
  });

  it('CLI: scores 3 texts of 100 000 characters from a file and says which version it used', async () => {
    const file = join(files, 'long.txt');
    writeFileSync(file, `${longTexts().join('\n')}\n`);
    const scored = await trainyard(['score', '--model', 'fresh-detector', '--file', file]);
    expect(scored.code, scored.output).toBe(EXIT.OK);
    expect(scored.output).toMatch(/^Scored with fresh-detector v1 \(latest; no active version\)$/m);
    expect(scored.output.match(/^│ [01]\.\d{4}/gm)).toHaveLength(3);
    const asJson = json<{ version: number; chosenBy: string; scores: number[] }>(
      (await trainyard(['score', '--model', 'fresh-detector@1', '--file', file, '--json'])).output,
    );
    expect(asJson).toMatchObject({ version: 1, chosenBy: 'ref' });
    expect(asJson.scores).toHaveLength(3);
    const byRef = await trainyard(['score', '--model', 'fresh-detector@1', 'some text']);
    expect(byRef.output).toMatch(/^Scored with fresh-detector v1 \(@1\)$/m);
    const missing = await trainyard(['score', '--model', 'fresh-detector@champion', 'x']);
    expect(missing).toMatchObject({ code: EXIT.NOT_FOUND });
    expect(missing.output).toMatch(/^Error: Model fresh-detector has no alias champion$/m);
  }, 60_000);

  it('CLI: a file with more texts than one call takes is scored in several calls, all by one version, in order', async () => {
    const [text = ''] = longTexts();
    // 12 000 short lines (over the 10 000 texts of one call) and 45 long ones (over its 4 000 000 characters).
    const lines = [
      ...Array.from({ length: 12_000 }, (_, i) => `line ${i} ${i % 2 === 0 ? 'It is important to note that' : 'honestly lol'}`),
      ...new Array<string>(45).fill(text),
    ];
    const file = join(files, 'many.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const scored = await trainyard(['score', '--model', 'fresh-detector@1', '--file', file, '--json']);
    expect(scored.code, scored.output.slice(0, 500)).toBe(EXIT.OK);
    const result = json<{ version: number; scores: number[]; texts: string[] }>(scored.output);
    expect(result.scores).toHaveLength(lines.length);
    const direct = await t.client.models.score.query({ model: 'fresh-detector', ref: { version: 1 }, texts: lines.slice(9_990, 10_010) });
    expect(result.scores.slice(9_990, 10_010)).toEqual(direct.scores);
  }, 120_000);

  it('CLI: artifacts list by model, version and job; get writes a verified file, refuses to overwrite, and leaves nothing when the blob is tampered with', async () => {
    const listed = await trainyard(['artifacts', 'list', '--model', 'fresh-detector']);
    expect(listed.code, listed.output).toBe(EXIT.OK);
    const byModel = json<{ items: ArtifactRow[] }>((await trainyard(['artifacts', 'list', '--model', 'fresh-detector', '--json'])).output).items;
    // Named as the trainer wrote them; the default file name keeps only the last segment.
    expect(byModel.map((a) => a.name).sort()).toEqual(['output/model/config.json', 'output/model/model.bin']);
    for (const artifact of byModel) {
      expect(artifact.version).toBe(1);
      expect(listed.output).toContain(artifact.sha256);
      expect(listed.output).toContain(artifact.id);
    }
    expect(listed.output).toMatch(/version.*id.*name.*type.*size.*sha256/);
    const byVersion = json<{ items: ArtifactRow[] }>((await trainyard(['artifacts', 'list', '--model', 'fresh-detector@1', '--json'])).output).items;
    expect(byVersion.map((a) => a.id).sort()).toEqual(byModel.map((a) => a.id).sort());
    const byJob = json<{ items: ArtifactRow[] }>((await trainyard(['artifacts', 'list', '--job', jobId, '--json'])).output).items;
    expect(byJob.map((a) => a.id)).toEqual(expect.arrayContaining(byModel.map((a) => a.id)));

    const weights = byModel.find((a) => a.name.endsWith('/model.bin'));
    const config = byModel.find((a) => a.name.endsWith('/config.json'));
    if (!weights || !config) throw new Error('artifacts missing');
    const out = join(files, 'download');
    mkdirSync(out);
    const got = await trainyard(['artifacts', 'get', weights.id, '-o', out]);
    expect(got.code, got.output).toBe(EXIT.OK);
    expect(got.output).toContain(`Saved output/model/model.bin to ${join(out, 'model.bin')} (`);
    expect(sha256Hex(readFileSync(join(out, 'model.bin')))).toBe(weights.sha256);
    expect(statSync(join(out, 'model.bin')).size).toBe(weights.size);

    const again = await trainyard(['artifacts', 'get', weights.id, '-o', out]);
    expect(again).toMatchObject({ code: EXIT.CONFLICT });
    expect(again.output).toMatch(/already exists; pass --force to replace it/);
    expect((await trainyard(['artifacts', 'get', weights.id, '-o', out, '--force'])).code).toBe(EXIT.OK);
    const bySha = await trainyard(['artifacts', 'get', config.sha256, '-o', join(out, 'cfg.json')]);
    expect(bySha.code, bySha.output).toBe(EXIT.OK);
    expect(sha256Hex(readFileSync(join(out, 'cfg.json')))).toBe(config.sha256);

    // Tampered on the server's disk (same length): the download fails and no file is left.
    const blob = join(t.dataDir, 'blobs', 'sha256', config.sha256.slice(0, 2), config.sha256);
    const bytes = readFileSync(blob);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
    chmodSync(blob, 0o644);
    writeFileSync(blob, bytes);
    const tampered = join(files, 'tampered');
    mkdirSync(tampered);
    const bad = await trainyard(['artifacts', 'get', config.id, '-o', tampered]);
    expect(bad.code, bad.output).not.toBe(EXIT.OK);
    expect(bad.output).toMatch(/^Error: The download of [0-9a-f]{64} broke off after .*Nothing was written\.$|^Error: The downloaded bytes do not match/m);
    expect(readdirSync(tampered)).toEqual([]);

    const usage = await trainyard(['artifacts', 'get', 'not-an-id']);
    expect(usage.code).toBe(EXIT.USAGE);
    const unknown = await trainyard(['artifacts', 'get', '01a217c5-38b0-75f4-bd22-3a5096e9f71b']);
    expect(unknown.code).toBe(EXIT.NOT_FOUND);
    expect(existsSync(join(files, '01a217c5-38b0-75f4-bd22-3a5096e9f71b'))).toBe(false);
  }, 90_000);

  it('CLI: artifacts list follows the pages of 200 up to --limit, and models show counts them', async () => {
    const { version } = await createVersionOfSmallBlobs(t.server, t.client, 'many-files', { count: 450, size: 10, sample: [] });
    const all = json<{ items: ArtifactRow[] }>(
      (await trainyard(['artifacts', 'list', '--model', `many-files@${version}`, '--limit', '1000', '--json'])).output,
    ).items;
    expect(new Set(all.map((item) => item.id)).size).toBe(450);
    const some = json<{ items: ArtifactRow[] }>((await trainyard(['artifacts', 'list', '--model', 'many-files', '--limit', '250', '--json'])).output).items;
    expect(some).toHaveLength(250);
    expect((await trainyard(['models', 'show', `many-files@${version}`])).output).toContain('Artifacts: 450 (trainyard artifacts list --model many-files@1)');
    expect(await trainyard(['artifacts', 'list', '--limit', '0'])).toMatchObject({
      code: EXIT.USAGE,
      output: expect.stringContaining('--limit takes a whole number'),
    });
  }, 90_000);

  it('the default output name is the artifact name cut to a safe file name', () => {
    expect(safeFileName('model.bin', 'h')).toBe('model.bin');
    expect(safeFileName('../../etc/passwd', 'h')).toBe('passwd');
    expect(safeFileName('checkpoints\\..\\evil name;rm.bin', 'h')).toBe('evil_name_rm.bin');
    expect(safeFileName('..', 'h')).toBe('h');
    expect(safeFileName('.bashrc', 'h')).toBe('bashrc');
    expect(safeFileName('/', 'h')).toBe('h');
  });
});

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawRequest, runCli } from '@trainyard/test-services';
import { describe, expect, it } from 'vitest';
import { useLocalTestServer } from '../test-support/local-test-server';
import { EXIT } from './exit-codes';

const t = useLocalTestServer();
const files = mkdtempSync(join(tmpdir(), 'trainyard-cli-import-'));
const trainyard = async (args: string[]) => {
  const run = runCli(args, { TRAINYARD_DATA_DIR: t.dataDir });
  return { code: await run.exited, output: run.output() };
};
const pair = (i: number) => ({
  aiText: `It is worth noting that item ${i} exemplifies a framework.`,
  humanizedText: `Item ${i}, more or less, in plain words.`,
});
const jsonl = Array.from({ length: 30 }, (_, i) => JSON.stringify(pair(i))).join('\n');
const csv = `aiText,humanizedText\n${Array.from({ length: 30 }, (_, i) => `"${pair(100 + i).aiText}","${pair(100 + i).humanizedText}"`).join('\n')}\n`;
const post = (type: string, body: string) =>
  rawRequest(`${t.server.url}/import/training-data`, {
    method: 'POST',
    headers: { host: `127.0.0.1:${t.server.port}`, authorization: `Bearer ${t.server.token}`, 'content-type': type },
    body,
  });

describe('importing a file in the wrong format', () => {
  it('a JSONL file sent as CSV, or a CSV file sent as JSONL, is refused as a whole with the reason, nothing imported', async () => {
    const asCsv = JSON.parse((await post('text/csv', jsonl)).body) as Record<string, unknown>;
    expect(asCsv).toMatchObject({
      imported: 0,
      rejectedCount: 1,
      aborted: true,
      rejected: [{ line: 1, message: expect.stringContaining('this looks like JSONL') }],
    });
    const asJsonl = JSON.parse((await post('application/x-ndjson', csv)).body) as Record<string, unknown>;
    expect(asJsonl).toMatchObject({
      imported: 0,
      rejectedCount: 1,
      aborted: true,
      rejected: [{ line: 1, message: expect.stringContaining('this looks like CSV') }],
    });
  });

  it('the CLI reads the format from what the file starts with, whatever its name, and says when given a directory', async () => {
    writeFileSync(join(files, 'pairs.csv'), jsonl); // JSONL under a .csv name
    writeFileSync(join(files, 'pairs.txt'), csv); // CSV under a .txt name
    const first = await trainyard(['data', 'import', join(files, 'pairs.csv'), '--json']);
    expect(first.code).toBe(EXIT.OK);
    expect(first.output).toContain('"imported": 30');
    const second = await trainyard(['data', 'import', join(files, 'pairs.txt'), '--json']);
    expect(second.code).toBe(EXIT.OK);
    expect(second.output).toContain('"imported": 30');
    // An explicit --format that contradicts the content gets the server's reason.
    const forced = await trainyard(['data', 'import', join(files, 'pairs.txt'), '--format', 'jsonl']);
    expect(forced.code).toBe(EXIT.PARTIAL);
    expect(forced.output).toContain('this looks like CSV');
    mkdirSync(join(files, 'a-directory'));
    const directory = await trainyard(['data', 'import', join(files, 'a-directory')]);
    expect(directory.code).toBe(EXIT.USAGE);
    expect(directory.output).toContain('is a directory; give the JSONL or CSV file to import');
    expect(directory.output).not.toContain('connection');
  });
});

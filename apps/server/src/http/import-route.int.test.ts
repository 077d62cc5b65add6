import { request } from 'node:http';
import { rawRequest } from '@trainyard/test-services';
import { TRPCClientError } from '@trpc/client';
import { describe, expect, it } from 'vitest';
import { useLocalTestServer } from '../test-support/local-test-server';

const t = useLocalTestServer();

const pairLine = (i: number): string =>
  JSON.stringify({
    aiText: `It is worth noting that entry ${i} exemplifies a systematic framework.`,
    humanizedText: `Entry ${i} is a pretty orderly way to go about it.`,
  });
const headers = (type: string) => ({ host: `127.0.0.1:${t.server.port}`, authorization: `Bearer ${t.server.token}`, 'content-type': type });

describe('POST /import/training-data', () => {
  it('imports JSONL and CSV streams and answers with the report', async () => {
    const jsonl = await rawRequest(`${t.server.url}/import/training-data`, {
      method: 'POST',
      headers: headers('application/x-ndjson'),
      body: `${pairLine(1)}\n${pairLine(2)}\n{oops\n${pairLine(1)}\n`,
    });
    expect(jsonl.status).toBe(200);
    expect(JSON.parse(jsonl.body)).toMatchObject({ imported: 2, duplicates: 1, rejected: [{ line: 3 }], aborted: false });
    const csv = await rawRequest(`${t.server.url}/import/training-data`, {
      method: 'POST',
      headers: headers('text/csv; charset=utf-8'),
      body: 'aiText,humanizedText\n"A formal machine sentence, quoted.","A casual human sentence, quoted."\n',
    });
    expect(JSON.parse(csv.body)).toMatchObject({ imported: 1, rejected: [] });
    expect((await rawRequest(`${t.server.url}/import/training-data`, { method: 'POST', headers: headers('text/plain'), body: pairLine(3) })).status).toBe(415);
  });

  it('rejects an over-long CSV record by its line and imports every valid row after it', async () => {
    const row = (i: number): string => `"It is worth noting that CSV entry ${i} exemplifies a framework.","CSV entry ${i}, more or less."`;
    const big = 'x'.repeat(1024 * 1024 + 10);
    // Lines: 1 header, 2 row, 3–4 an over-long quoted field spanning two lines, 5 row,
    // 6–7 a row with a quoted newline, 8 an over-long unquoted field, 9 the last row (no newline).
    const body = [
      'aiText,humanizedText',
      row(1),
      `"${big}\n${big}",short`,
      row(2),
      `"CSV entry 3 starts\nand ends here, formally.",CSV entry 3 casual`,
      `${big},x`,
      row(4),
    ].join('\n');
    const report = await rawRequest(`${t.server.url}/import/training-data`, { method: 'POST', headers: headers('text/csv'), body });
    expect(report.status).toBe(200);
    expect(JSON.parse(report.body)).toEqual({
      imported: 4,
      duplicates: 0,
      rejected: [
        { line: 3, message: 'record is longer than 1048576 bytes' },
        { line: 8, message: 'record is longer than 1048576 bytes' },
      ],
      rejectedCount: 2,
      aborted: false,
    });
    const { items } = await t.client.trainingData.list.query({ filter: { textContains: 'CSV entry 4 exemplifies' }, limit: 5 });
    expect(items).toHaveLength(1);
  });

  it('keeps every complete line received before the client disconnects, and never half a pair', async () => {
    const before = (await t.client.trainingData.stats.query({ filter: {} })).total;
    const body = Buffer.from(Array.from({ length: 5_000 }, (_, i) => pairLine(10_000 + i)).join('\n'));
    await new Promise<void>((resolve) => {
      const req = request(`${t.server.url}/import/training-data`, {
        method: 'POST',
        headers: { ...headers('application/x-ndjson'), 'content-length': body.length * 2 },
      });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write(body, () => setTimeout(() => req.destroy(), 300));
    });
    // The server finishes what it received after the client is gone; wait for it to settle.
    await expect
      .poll(async () => (await t.client.trainingData.stats.query({ filter: {} })).total - before, { timeout: 10_000, interval: 50 })
      .toBeGreaterThanOrEqual(4_999);
    // A fixed wait on purpose: it gives the incomplete last line the chance to be (wrongly) imported.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = (await t.client.trainingData.stats.query({ filter: {} })).total;
    // All 4 999 newline-terminated lines arrived; the last line never got its newline, so it is
    // incomplete and must not be imported. Re-sending the file later only adds duplicates.
    expect(after - before).toBe(4_999);
    expect((await t.client.trainingData.list.query({ filter: { textContains: 'entry 14999 ' }, limit: 5 })).items).toEqual([]);
    const { items } = await t.client.trainingData.list.query({ filter: { textContains: 'entry 14998 ' }, limit: 5 });
    expect(items.map((p) => [p.aiText, p.humanizedText])).toEqual([
      [expect.stringContaining('entry 14998 '), 'Entry 14998 is a pretty orderly way to go about it.'],
    ]);
  });

  it('rejects a collectBatch over 1 000 pairs as a whole, with the reason', async () => {
    const items = Array.from({ length: 1_001 }, (_, i) => JSON.parse(pairLine(i)) as unknown);
    const error = await t.client.trainingData.collectBatch.mutate({ items }).catch((e: unknown) => e as TRPCClientError<never>);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('snapshots through the API', async () => {
    const snapshot = await t.client.datasets.createSnapshot.mutate({ name: 'everything', validationFraction: 0.2 });
    expect(snapshot.totalCount).toBe((await t.client.trainingData.stats.query({ filter: {} })).total);
    expect((await t.client.datasets.list.query({})).items.map((s) => s.id)).toContain(snapshot.id);
    const blob = await rawRequest(`${t.server.url}/blobs/sha256/${snapshot.blobSha256}`, { method: 'HEAD', headers: headers('application/json') });
    expect(blob.status).toBe(200);
  });
});

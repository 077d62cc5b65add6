import { trainyardErrorInfo } from '@trainyard/client';
import { runCli } from '@trainyard/test-services';
import { syntheticPairs } from '@trainyard/trainers';
import { describe, expect, it, vi } from 'vitest';
import { EXIT } from './cli/exit-codes';
import { useLocalTestServer } from './test-support/local-test-server';

// A real server with the demo data on: 2 000 pairs tagged demo, and its snapshot.
const t = useLocalTestServer({ TRAINYARD_DEMO_DATA: 'on' });

const trainyard = async (args: string[]) => {
  const run = runCli(args, { TRAINYARD_DATA_DIR: t.dataDir });
  const code = await run.exited;
  return { code, output: run.output() };
};
const json = <T>(output: string): T => JSON.parse(output.slice(output.search(/[[{]/))) as T;

const waitForDemo = () =>
  vi.waitFor(
    async () => {
      if ((await t.client.datasets.list.query({ limit: 5 })).items.length === 0) throw new Error('the demo dataset was never seeded');
    },
    { timeout: 60_000, interval: 100 },
  );

describe('training data over the API: separating the demo data, bulk exclusion, snapshot names, histograms', () => {
  it('leaves the demo data out with excludeTags, and a snapshot of a filter freezes what list and count show', async () => {
    await waitForDemo();
    const own = syntheticPairs(120, 77).map((pair) => ({ ...pair, tags: ['mine'] }));
    const collected = await t.client.trainingData.collectBatch.mutate({ items: own });
    expect(collected.results.every((result) => result.status === 'created')).toBe(true);
    expect((await t.client.trainingData.count.query({ filter: {} })).count).toBe(2_120);
    const filter = { excludeTags: ['demo'], textContains: 'e', createdFrom: new Date(Date.now() - 3_600_000) };
    const { count } = await t.client.trainingData.count.query({ filter });
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThanOrEqual(120);
    let listed = 0;
    let cursor: string | undefined;
    do {
      const page = await t.client.trainingData.list.query({ filter, limit: 200, ...(cursor ? { cursor } : {}) });
      expect(page.items.every((point) => !point.tags.includes('demo'))).toBe(true);
      listed += page.items.length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(listed).toBe(count);
    const snapshot = await t.client.datasets.createSnapshot.mutate({ name: 'mine, filtered', filter });
    expect(snapshot.totalCount).toBe(count);
    // The schema refuses a malformed tag in excludeTags like in tags.
    await expect(t.client.trainingData.count.query({ filter: { excludeTags: ['no spaces'] } })).rejects.toThrow(/tags use letters/);
  });

  it('excludes and includes by filter, answering how many changed', async () => {
    expect(await t.client.trainingData.setExcludedMatching.mutate({ filter: { tags: ['demo'] }, excluded: true })).toEqual({ changed: 2_000 });
    expect(await t.client.trainingData.setExcludedMatching.mutate({ filter: { tags: ['demo'] }, excluded: true })).toEqual({ changed: 0 });
    expect((await t.client.trainingData.count.query({ filter: {} })).count).toBe(120);
    expect(await t.client.trainingData.setExcludedMatching.mutate({ filter: { tags: ['demo'] }, excluded: false })).toEqual({ changed: 2_000 });
  });

  it('refuses a duplicate snapshot name with CONFLICT (HTTP 409) and a message that says why', async () => {
    const error = await t.client.datasets.createSnapshot.mutate({ name: 'mine, filtered', filter: {} }).catch((failure: unknown) => failure);
    const info = trainyardErrorInfo(error);
    expect(info).toMatchObject({ code: 'CONFLICT', httpStatus: 409 });
    expect(info.message).toMatch(/^A dataset snapshot named "mine, filtered" already exists \(.+\); snapshots are immutable, so choose another name$/);
  });

  it('reports pairs without detection scores as missing, not in the 0.9–1.0 bucket', async () => {
    const bare = syntheticPairs(10, 5).map(({ detectionScoreBefore: _before, detectionScoreAfter: _after, ...pair }) => ({ ...pair, tags: ['bare'] }));
    await t.client.trainingData.collectBatch.mutate({ items: bare });
    const stats = await t.client.trainingData.stats.query({ filter: { tags: ['bare'] } });
    expect(stats.total).toBe(10);
    expect(stats.detectionScoreBefore).toEqual({ buckets: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], missing: 10 });
    expect(stats.detectionScoreAfter).toEqual({ buckets: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], missing: 10 });
    expect(stats.qualityScore.missing).toBe(0);
  });

  it('CLI: `data exclude --tag demo`, `data include`, `data stats --exclude-tag`, `datasets snapshot --exclude-tag`', async () => {
    const bare = await trainyard(['data', 'exclude']);
    expect(bare.code).toBe(EXIT.USAGE);
    expect(bare.output).toContain('Give a filter (--tag, --exclude-tag, --text, …) or --all');
    const dry = await trainyard(['data', 'exclude', '--tag', 'demo', '--dry-run']);
    expect(dry.output).toContain('Would mark 2000 pairs excluded (dry run; nothing changed)');
    const excluded = await trainyard(['data', 'exclude', '--tag', 'demo']);
    expect(excluded.code).toBe(EXIT.OK);
    expect(excluded.output).toContain('2000 pairs excluded');
    const stats = await trainyard(['data', 'stats', '--exclude-tag', 'demo', '--json']);
    expect(json<{ total: number; excluded: number }>(stats.output)).toMatchObject({ total: 130, excluded: 0 });
    const included = await trainyard(['data', 'include', '--tag', 'demo', '--json']);
    expect(json<{ changed: number }>(included.output).changed).toBe(2_000);
    const snapshot = await trainyard(['datasets', 'snapshot', '--name', 'cli, no demo', '--exclude-tag', 'demo', '--json']);
    expect(json<{ totalCount: number }>(snapshot.output).totalCount).toBe(130);
    const again = await trainyard(['datasets', 'snapshot', '--name', 'cli, no demo', '--exclude-tag', 'demo']);
    expect(again.code).toBe(EXIT.CONFLICT);
    expect(again.output).toContain('already exists');
  }, 120_000);
});

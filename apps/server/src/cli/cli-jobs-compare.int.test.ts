import { join } from 'node:path';
import { newId } from '@trainyard/core';
import { runCli, seedComparedJobs, seededValue } from '@trainyard/test-services';
import { createMetricsStore } from '@trainyard/training';
import { describe, expect, it } from 'vitest';
import { useLocalTestServer } from '../test-support/local-test-server';
import { EXIT } from './exit-codes';

const t = useLocalTestServer({ TRAINYARD_ORCHESTRATOR: 'off' });
const POINTS = 40;

const trainyard = async (args: string[]) => {
  const run = runCli(args, { TRAINYARD_DATA_DIR: t.dataDir });
  const code = await run.exited;
  return { code, output: run.output() };
};

/** The table's cells, row by row (cli-table3's box drawing stripped). */
const cells = (output: string): string[][] =>
  output
    .split('\n')
    .filter((line) => line.startsWith('│'))
    .map((line) =>
      line
        .split('│')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );

describe('trainyard jobs compare (the real CLI process, a real server, seeded jobs)', () => {
  it('prints the differing parameters and each metric’s chosen value; --json prints the API’s answer', async () => {
    // Trials 0, 1 and 5: lr and layers differ; optimizer, seed and batch_size are the same.
    const ids = await seedComparedJobs({ client: t.client, metrics: createMetricsStore(join(t.dataDir, 'metrics')), count: 6, points: POINTS });
    const chosen = [ids[0], ids[1], ids[5]] as string[];
    const best = await trainyard(['jobs', 'compare', ...chosen, '--metric', 'val_loss', 'accuracy']);
    expect(best.code).toBe(EXIT.OK);
    const [head, ...rows] = cells(best.output);
    expect(head).toEqual(['id', 'name', 'status', 'layers', 'lr', 'accuracy (best, max)', 'val_loss (best, min)']);
    const valLoss = (index: number) => Math.min(...Array.from({ length: POINTS }, (_, i) => seededValue('val_loss', index, i + 1, POINTS)));
    const accuracy = (index: number) => seededValue('accuracy', index, POINTS, POINTS);
    expect(rows).toEqual(
      [0, 1, 5].map((index, row) => [
        chosen[row],
        `trial-000${index}`,
        'queued',
        index === 5 ? '4' : '2',
        index === 1 ? '0.003' : '0.001',
        accuracy(index).toPrecision(6),
        valLoss(index).toPrecision(6),
      ]),
    );
    expect(best.output).toContain('Same on every job: batch_size=32, optimizer="adam", seed=0');

    const last = await trainyard(['jobs', 'compare', ...chosen, '--metric', 'val_loss', '--value', 'last']);
    expect(cells(last.output)[0]?.at(-1)).toBe('val_loss (last)');
    expect(cells(last.output)[1]?.at(-1)).toBe(seededValue('val_loss', 0, POINTS, POINTS).toPrecision(6));

    const json = await trainyard(['jobs', 'compare', ...chosen, '--json']);
    expect(json.code).toBe(EXIT.OK);
    expect(JSON.parse(json.output)).toEqual(JSON.parse(JSON.stringify(await t.client.jobs.compare.query({ jobIds: chosen }))));
  }, 60_000);

  it('says which ids are unknown, and refuses a --value it does not know', async () => {
    const [known] = (await t.client.jobs.list.query({ limit: 1 })).items;
    const unknown = newId();
    const missing = await trainyard(['jobs', 'compare', known?.id as string, unknown]);
    expect(missing.code).toBe(EXIT.NOT_FOUND);
    expect(missing.output).toContain(`Training job not found: ${unknown}`);
    const bad = await trainyard(['jobs', 'compare', known?.id as string, '--value', 'median']);
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.output).toContain('--value must be best, last, min, max, got "median"');
  }, 30_000);
});

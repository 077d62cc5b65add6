import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TrainerExecutor } from '../executor.port';
import type { ExecutionRequest } from '../local-executor';
import type { TrainerEvent } from '../trainer-events';

/** A trainer as a Node one-liner: events go to fd 3, one JSON object per line. */
const node = (source: string): string[] => [
  process.execPath,
  '--input-type=module',
  '-e',
  `import { writeSync } from 'node:fs'; const emit = (e) => writeSync(3, JSON.stringify(e) + '\\n');\n${source}`,
];

/**
 * What every executor must do, whatever runs the trainer: a scheduler executor (Slurm,
 * Kubernetes) runs these same tests against its own peer. `make` builds the executor under test.
 */
export const describeExecutorContract = (name: string, make: () => TrainerExecutor): void => {
  describe(`executor contract: ${name}`, () => {
    const root = mkdtempSync(join(tmpdir(), 'trainyard-executor-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    let runs = 0;
    const run = (command: string[], extra: Partial<ExecutionRequest> = {}) => {
      const events: TrainerEvent[] = [];
      const bad: string[] = [];
      runs += 1;
      const execution = make().start({
        jobDir: join(root, `job-${runs}`),
        command,
        env: { PATH: process.env['PATH'] },
        graceMs: 500,
        onEvent: (event) => events.push(event),
        onBadEvent: (line) => bad.push(line),
        ...extra,
      });
      return { execution, events, bad };
    };

    it('runs a trainer to its end and delivers its events in order, with malformed lines counted', async () => {
      const { execution, events, bad } = run(
        node(
          `emit({ type: 'progress', fraction: 0.5 }); writeSync(3, 'not json\\n'); emit({ type: 'metric', name: 'loss', step: 1, value: 0.25 }); emit({ type: 'log', level: 'info', message: 'done' });`,
        ),
      );
      await expect(execution.done).resolves.toEqual({ kind: 'exited', exitCode: 0, signal: null });
      expect(events.map((event) => event.type)).toEqual(['progress', 'metric', 'log']);
      expect(bad).toHaveLength(1);
      expect(execution.badEvents().count).toBe(1);
    });

    it('reports a trainer that fails with its exit code', async () => {
      await expect(run(node('process.exit(3);')).execution.done).resolves.toEqual({ kind: 'exited', exitCode: 3, signal: null });
    });

    it('cancel stops the trainer: SIGTERM first, then SIGKILL after the grace period for one that ignores it', async () => {
      const polite = run(node(`emit({ type: 'log', level: 'info', message: 'up' }); setInterval(() => {}, 1000);`));
      await expect.poll(() => polite.events.length).toBe(1);
      polite.execution.cancel();
      await expect(polite.execution.done).resolves.toMatchObject({ kind: 'killed', reason: 'cancelled', signal: 'SIGTERM' });
      const stubborn = run(node(`process.on('SIGTERM', () => {}); emit({ type: 'log', level: 'info', message: 'up' }); setInterval(() => {}, 1000);`));
      await expect.poll(() => stubborn.events.length).toBe(1);
      const cancelledAt = Date.now();
      stubborn.execution.cancel();
      await expect(stubborn.execution.done).resolves.toMatchObject({ kind: 'killed', reason: 'cancelled', signal: 'SIGKILL' });
      expect(Date.now() - cancelledAt).toBeGreaterThanOrEqual(450);
    });

    it('stops a trainer that outlives its time limit', async () => {
      const { execution } = run(node('setInterval(() => {}, 1000);'), { timeoutMs: 300 });
      await expect(execution.done).resolves.toMatchObject({ kind: 'killed', reason: 'timeout' });
    });

    it('says so when the trainer cannot be started at all', async () => {
      await expect(run(['/nonexistent/trainer-program']).execution.done).resolves.toMatchObject({
        kind: 'spawn_failed',
        message: expect.stringContaining('/nonexistent/trainer-program'),
      });
    });
  });
};

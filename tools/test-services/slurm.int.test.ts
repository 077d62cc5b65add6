import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isProcessAlive as alive } from './process-checks';
import { slurmUnavailableReason, startSlurm } from './slurm';

const skip = slurmUnavailableReason();

describe.skipIf(skip)(`the Slurm test cluster${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('starts an idle node reached only through SLURM_CONF, and stop() leaves no daemon behind; a second cluster after it starts cleanly', async () => {
    const pids: number[] = [];
    for (const round of [1, 2]) {
      const cluster = await startSlurm();
      try {
        expect(cluster.env).toEqual({ SLURM_CONF: cluster.confPath });
        const conf = readFileSync(cluster.confPath, 'utf8');
        expect(conf).toMatch(/^SlurmctldPort=\d+$/m);
        expect(conf).toContain(`JobCompLoc=${cluster.jobCompLog}`);
        expect(conf).toContain(`MinJobAge=${cluster.minJobAgeSeconds}`);
        const sinfo = execFileSync('sinfo', ['-h', '-o', '%P %T %c'], { env: { ...process.env, ...cluster.env }, encoding: 'utf8' });
        expect(sinfo.trim(), `round ${round}`).toBe('debug* idle 2');
        for (const file of ['slurmctld.pid', 'slurmd.pid']) pids.push(Number(readFileSync(join(cluster.dir, file), 'utf8')));
      } finally {
        await cluster.stop();
      }
      expect(existsSync(cluster.dir)).toBe(false);
      expect(pids.filter(alive)).toEqual([]);
    }
  });
});

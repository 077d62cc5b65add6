import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderBatchScript, slurmFiles } from './batch-script';

const root = mkdtempSync(join(tmpdir(), 'trainyard-batch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const jobId = '0b7e4b1e-3f5c-4f7e-9a59-5d2c1f7f3a10';
let runs = 0;

const render = (overrides: Partial<Parameters<typeof renderBatchScript>[0]> = {}) =>
  renderBatchScript({ jobId, attempt: 2, jobDir: join(root, `job-${(runs += 1)}`), command: ['true'], env: {}, resources: {}, ...overrides });

const directives = (script: string): string[] =>
  script
    .split('\n')
    .filter((line) => line.startsWith('#SBATCH '))
    .map((line) => line.slice('#SBATCH '.length));

/** Runs the script with bash as Slurm would (its job id in the environment); returns the child. */
const runScript = (script: string, jobDir: string) => {
  const path = join(root, `script-${(runs += 1)}.sh`);
  writeFileSync(path, script);
  spawnSync('mkdir', ['-p', jobDir]);
  return spawn('bash', [path], { env: { PATH: process.env['PATH'], SLURM_JOB_ID: '4242' }, stdio: 'ignore' });
};
const exited = (child: ReturnType<typeof spawn>): Promise<number | null> => new Promise((resolve) => child.once('exit', (code) => resolve(code)));

describe('the Slurm batch script', () => {
  it('asks for the job’s resources: whole CPUs, memory, GPUs, the time limit in whole minutes rounded up, partition and account', () => {
    const script = render({ resources: { cpus: 1.5, memoryMb: 2048, gpus: 2, timeoutSeconds: 121 }, partition: 'debug', account: 'nlp-lab' });
    expect(directives(script)).toEqual(
      expect.arrayContaining([
        `--job-name=trainyard-${jobId}-2`,
        `--comment=trainyard:${jobId}:attempt-2`,
        '--cpus-per-task=2',
        '--mem=2048M',
        '--gres=gpu:2',
        '--time=3',
        '--partition=debug',
        '--account=nlp-lab',
        '--requeue',
        '--open-mode=append',
        '--export=NONE',
        '--signal=B:USR2@90',
      ]),
    );
  });

  it('asks for nothing the job did not ask for; a job’s own partition wins over the server’s default', () => {
    const plain = directives(render({ partition: 'debug' }));
    expect(plain.some((d) => /^--(gres|time|mem|cpus-per-task|account)=/.test(d))).toBe(false);
    expect(directives(render({ partition: 'debug', resources: { partition: 'gpu-long' } }))).toContain('--partition=gpu-long');
  });

  it('gives the trainer exactly its environment, every value intact however it is quoted', () => {
    const tricky = `it's $HOME and \`date\` and "quotes" and \\! and !bang\nsecond line`;
    const jobDir = join(root, 'env-job');
    const script = render({ jobDir, env: { TRICKY: tricky, PATH: process.env['PATH'] }, command: ['node', '-e', 'process.stdout.write(process.env.TRICKY)'] });
    const result = spawnSync('bash', ['-c', script], { env: { SLURM_JOB_ID: '7' }, encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(readFileSync(join(jobDir, 'logs', 'stdout.log'), 'utf8')).toBe(tricky);
  }, 30_000);

  it('runs the trainer with fd 3 on the events file, keeps its exit code beside the script and exits with it', async () => {
    const jobDir = join(root, 'exit-job');
    const child = runScript(
      render({
        jobDir,
        env: { PATH: process.env['PATH'] },
        command: [
          'node',
          '-e',
          `require('fs').writeSync(3, JSON.stringify({ type: 'progress', fraction: 1 }) + '\\n'); console.error('boom'); process.exit(3)`,
        ],
      }),
      jobDir,
    );
    expect(await exited(child)).toBe(3);
    const files = slurmFiles(jobDir, 2);
    expect(readFileSync(files.events, 'utf8')).toBe('{"type":"progress","fraction":1}\n');
    expect(readFileSync(files.exitCode('4242'), 'utf8').trim()).toBe('3');
    expect(readFileSync(join(jobDir, 'logs', 'stderr.log'), 'utf8')).toContain('boom');
  }, 30_000);

  it('hands SIGUSR2 (the early warning) and SIGTERM (cancel, the time limit) to the trainer and waits for it to finish', async () => {
    const jobDir = join(root, 'signal-job');
    const trainer = `
      const fs = require('fs');
      const note = (what) => fs.writeSync(3, JSON.stringify({ type: 'log', level: 'info', message: what }) + '\\n');
      process.on('SIGUSR2', () => note('checkpoint now'));
      process.on('SIGTERM', () => { note('checkpoint and exit'); setTimeout(() => process.exit(0), 200); });
      note('up');
      setInterval(() => {}, 1000);`;
    const child = runScript(render({ jobDir, env: { PATH: process.env['PATH'] }, command: ['node', '-e', trainer] }), jobDir);
    const events = slurmFiles(jobDir, 2).events;
    const lines = (): string[] => {
      try {
        // An events file created but not yet written is no line: SIGUSR2 must wait for the trainer's "up".
        return readFileSync(events, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    };
    await expect.poll(lines, { timeout: 20_000 }).toHaveLength(1);
    child.kill('SIGUSR2');
    await expect.poll(lines, { timeout: 20_000 }).toHaveLength(2);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(lines().map((line) => (JSON.parse(line) as { message: string }).message)).toEqual(['up', 'checkpoint now', 'checkpoint and exit']);
  }, 60_000);
});

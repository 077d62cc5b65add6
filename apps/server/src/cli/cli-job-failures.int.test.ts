import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@trainyard/test-services';
import { describe, expect, it, vi } from 'vitest';
import { useLocalTestServer } from '../test-support/local-test-server';
import { EXIT } from './exit-codes';

const t = useLocalTestServer();
const files = mkdtempSync(join(tmpdir(), 'trainyard-cli-failures-'));

/** The real `trainyard` CLI in a child process, pointed at the test server through its session.json. */
const trainyard = async (args: string[]) => {
  const run = runCli(args, { TRAINYARD_DATA_DIR: t.dataDir });
  const code = await run.exited;
  return { code, output: run.output() };
};
const jobIdIn = (output: string): string => /(?:Queued|Existing) job ([0-9a-f-]{36})/.exec(output)?.[1] ?? '';

const hasPython = (() => {
  try {
    execFileSync('python3', ['-c', 'pass']);
    return true;
  } catch {
    return false;
  }
})();

/** A trainer that fails the way Python ones do: 60 lines of noise, a traceback on stderr, exit 1. */
const failing = join(files, 'fails-with-traceback.mjs');
writeFileSync(
  failing,
  `process.stdout.write('epoch 1\\n');
for (let i = 0; i < 60; i++) process.stderr.write('noise ' + i + '\\n');
process.stderr.write([
  'Traceback (most recent call last):',
  '  File "train.py", line 12, in <module>',
  '    main()',
  '  File "train.py", line 9, in main',
  '    raise ValueError("learning rate must be positive, got -0.1")',
  'ValueError: learning rate must be positive, got -0.1',
  '',
].join('\\n'));
process.exit(1);
`,
);
/** Writes what it was started with (node: flags and arguments) to the file named after --out. */
const recordsArgv = join(files, 'records-argv.mjs');
writeFileSync(
  recordsArgv,
  `import { writeFileSync } from 'node:fs';
const args = process.argv.slice(2);
writeFileSync(args[args.indexOf('--out') + 1], JSON.stringify({ execArgv: process.execArgv, args }));
`,
);
const recordsArgvPy = join(files, 'records_argv.py');
writeFileSync(
  recordsArgvPy,
  `import json, sys
cmdline = open('/proc/self/cmdline', 'rb').read().decode().split('\\0')[:-1]
out = sys.argv[sys.argv.index('--out') + 1]
json.dump({'cmdline': cmdline[1:], 'unbuffered': not sys.stdout.buffer is sys.stdout}, open(out, 'w'))
`,
);

describe('why a job failed, in the CLI (real server, real trainers, the real CLI process)', () => {
  let failedId = '';

  it('`jobs start --follow -- …` ends with the reason and the end of stderr; exit 7', async () => {
    const run = await trainyard(['jobs', 'start', '--name', 'broken', '--follow', '--', process.execPath, failing]);
    expect(run.code).toBe(EXIT.JOB_FAILED);
    failedId = jobIdIn(run.output);
    expect(run.output).toContain('status failed: trainer exited with code 1: ValueError: learning rate must be positive, got -0.1');
    expect(run.output).toMatch(new RegExp(`stderr, last 40 lines of .* \\(all of it: trainyard jobs logs ${failedId} --stream stderr\\):`));
    expect(run.output).toContain('\n  Traceback (most recent call last):\n    File "train.py", line 12, in <module>\n');
    expect(run.output).toContain('noise 59');
    expect(run.output).not.toContain('noise 25\n'); // bounded: the last 40 lines only
  }, 60_000);

  it('`jobs show` prints the error and the stderr tail', async () => {
    const show = await trainyard(['jobs', 'show', failedId]);
    expect(show.code).toBe(EXIT.OK);
    expect(show.output).toMatch(/error\s*│?\s*trainer exited with code 1: ValueError: learning rate must be positive, got -0.1/);
    expect(show.output).toContain('  ValueError: learning rate must be positive, got -0.1\n');
    expect(show.output).toContain('  Traceback (most recent call last):\n');
    // The reason is on the job for every client (and on the status event).
    expect((await t.client.jobs.get.query({ id: failedId })).error).toBe('trainer exited with code 1: ValueError: learning rate must be positive, got -0.1');
  }, 30_000);

  it('`jobs logs` prints a whole stream, a tail, or says clearly what is wrong', async () => {
    const stderr = await trainyard(['jobs', 'logs', failedId, '--stream', 'stderr']);
    expect(stderr.code).toBe(EXIT.OK);
    expect(stderr.output).toContain('noise 0\nnoise 1\n');
    expect(stderr.output).toContain('Traceback (most recent call last):\n');
    expect(stderr.output.trimEnd().endsWith('ValueError: learning rate must be positive, got -0.1')).toBe(true);

    const tail = await trainyard(['jobs', 'logs', failedId, '--stream', 'stderr', '--tail', '2']);
    expect(tail).toEqual({
      code: EXIT.OK,
      output: '    raise ValueError("learning rate must be positive, got -0.1")\nValueError: learning rate must be positive, got -0.1\n',
    });
    expect(await trainyard(['jobs', 'logs', failedId])).toEqual({ code: EXIT.OK, output: 'epoch 1\n' });

    const unknown = await trainyard(['jobs', 'logs', '01a217c5-38b0-75f4-bd22-3a5096e9f71b']);
    expect(unknown.code).toBe(EXIT.NOT_FOUND);
    expect(unknown.output).toMatch(/^Error: Training job not found/);
    const badStream = await trainyard(['jobs', 'logs', failedId, '--stream', 'stdin']);
    expect(badStream.code).toBe(EXIT.USAGE);
    expect(badStream.output).toContain('--stream must be stdout, stderr or events, got "stdin"');
  }, 60_000);

  it('`jobs logs --follow` prints lines as the trainer writes them and exits 0 when the job ends', async () => {
    // Writes 4 lines, then waits until the test lets it write the other 4 and exit.
    const release = join(files, 'release');
    const slow = join(files, 'slow.mjs');
    writeFileSync(
      slow,
      `import { existsSync } from 'node:fs';
for (let i = 0; i < 8; i++) {
  if (i === 4) while (!existsSync(${JSON.stringify(release)})) await new Promise((r) => setTimeout(r, 50));
  console.log('step ' + i);
}
`,
    );
    const job = await t.client.jobs.create.mutate({ name: 'slow', trainer: { kind: 'command', command: [process.execPath, slow] } });
    const run = runCli(['jobs', 'logs', job.id, '--follow'], { TRAINYARD_DATA_DIR: t.dataDir });
    await vi.waitFor(() => expect(run.output()).toContain('step 3\n'), { timeout: 20_000, interval: 50 });
    expect(run.output()).toBe('step 0\nstep 1\nstep 2\nstep 3\n');
    expect((await t.client.jobs.get.query({ id: job.id })).status).toBe('running');
    writeFileSync(release, '');
    expect(await run.exited).toBe(EXIT.OK);
    expect(run.output()).toBe(Array.from({ length: 8 }, (_, i) => `step ${i}\n`).join(''));
    expect((await t.client.jobs.get.query({ id: job.id })).status).toBe('succeeded');
  }, 60_000);

  it('a job that cannot run is refused at start with the reason, and nothing is queued', async () => {
    const before = (await t.client.jobs.list.query({ limit: 100 })).items.length;
    const noSnapshot = await trainyard(['jobs', 'start', '--name', 'x', '--trainer', 'text-detector']);
    expect(noSnapshot.code).toBe(EXIT.USAGE);
    expect(noSnapshot.output).toContain('Error: Trainer text-detector needs a dataset snapshot with training pairs: give datasetSnapshotId');
    const missing = await trainyard(['jobs', 'start', '--name', 'x', '--trainer', 'text-detector', '--snapshot', '01a217c5-38b0-75f4-bd22-3a5096e9f71b']);
    expect(missing.code).toBe(EXIT.NOT_FOUND);
    expect(missing.output).toContain('Error: Dataset snapshot not found');
    const unknownTrainer = await trainyard(['jobs', 'start', '--name', 'x', '--trainer', 'no-such-trainer']);
    expect(unknownTrainer.code).toBe(EXIT.USAGE);
    expect(unknownTrainer.output).toContain('Error: Unknown trainer no-such-trainer; available: example, text-detector, pytorch-text-classifier');
    expect((await t.client.jobs.list.query({ limit: 100 })).items.length).toBe(before);
  }, 60_000);
});

describe('`jobs start -- COMMAND…`: everything after -- is the trainer command, verbatim', () => {
  it('passes node flags, options that look like ours, and arguments with spaces as they are', async () => {
    const out = join(files, 'argv-node.json');
    const run = await trainyard([
      'jobs',
      'start',
      '--name',
      'argv-node',
      '--follow',
      '--',
      process.execPath,
      '--no-warnings',
      recordsArgv,
      '--out',
      out,
      '--name',
      'inner',
      '--follow',
      '-u',
      '--lr',
      '0.1',
      '--',
      'two words',
    ]);
    expect(run.code).toBe(EXIT.OK);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({
      execArgv: ['--no-warnings'],
      args: ['--out', out, '--name', 'inner', '--follow', '-u', '--lr', '0.1', '--', 'two words'],
    });
    const job = await t.client.jobs.get.query({ id: jobIdIn(run.output) });
    expect(job.name).toBe('argv-node');
    expect(job.trainer).toEqual({
      kind: 'command',
      command: [process.execPath, '--no-warnings', recordsArgv, '--out', out, '--name', 'inner', '--follow', '-u', '--lr', '0.1', '--', 'two words'],
      cwd: expect.any(String),
    });
  }, 60_000);

  it.skipIf(!hasPython)(
    '`-- python3 -u script.py --lr 0.1 --flag` runs exactly that',
    async () => {
      const out = join(files, 'argv-python.json');
      const run = await trainyard([
        'jobs',
        'start',
        '--name',
        'argv-python',
        '--follow',
        '--',
        'python3',
        '-u',
        recordsArgvPy,
        '--out',
        out,
        '--lr',
        '0.1',
        '--flag',
      ]);
      expect(run.code).toBe(EXIT.OK);
      expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({ cmdline: ['-u', recordsArgvPy, '--out', out, '--lr', '0.1', '--flag'], unbuffered: true });
    },
    60_000,
  );

  it('the older --command form works for plain commands and points to -- when the command has options', async () => {
    const out = join(files, 'argv-command.json');
    const oldForm = join(files, 'old-form.mjs');
    writeFileSync(oldForm, `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(out)}, JSON.stringify(process.argv.slice(2)));\n`);
    const old = await trainyard(['jobs', 'start', '--name', 'old-form', '--follow', '--command', process.execPath, oldForm, 'a', 'b c']);
    expect(old.code).toBe(EXIT.OK);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(['a', 'b c']);
    const withOptions = await trainyard(['jobs', 'start', '--name', 'x', '--command', 'python3', '-u', 'train.py']);
    expect(withOptions.code).toBe(EXIT.USAGE);
    expect(withOptions.output).toContain("unknown option '-u'");
    expect(withOptions.output).toContain(
      'Your own trainer: put its command after --, verbatim, e.g. trainyard jobs start --name N -- python3 -u train.py --lr 0.1',
    );
    const both = await trainyard(['jobs', 'start', '--name', 'x', '--command', 'a', '--', 'b']);
    expect(both.code).toBe(EXIT.USAGE);
    expect(both.output).toContain('Give the command once');
    const neither = await trainyard(['jobs', 'start', '--name', 'x']);
    expect(neither.code).toBe(EXIT.USAGE);
    expect(neither.output).toContain('Give exactly one of --trainer NAME or -- COMMAND [ARG…]');
  }, 60_000);
});

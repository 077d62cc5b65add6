import { readFile, stat } from 'node:fs/promises';
import type { SweepOutput } from '@trainyard/contracts';
import type { Command } from 'commander';
import { load } from 'js-yaml';
import { CliError } from './cli-error';
import type { GlobalOptions } from './connection';
import { EXIT } from './exit-codes';
import { type CompareOptions, printComparison } from './jobs-compare';
import { formatTime, printJson, printLine, printTable } from './output';
import { withConnection } from './run-action';

/** A sweep file is small; anything bigger is a mistake (a dataset passed by accident). */
const MAX_SWEEP_FILE_BYTES = 1024 * 1024;

/** A sweep specification from a YAML or JSON file (JSON is YAML too); the server checks it. */
export const readSweepFile = async (path: string): Promise<unknown> => {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new CliError(`${path} is not a file`, EXIT.USAGE);
  if (info.size > MAX_SWEEP_FILE_BYTES) throw new CliError(`${path} is ${info.size} bytes; a sweep file is at most ${MAX_SWEEP_FILE_BYTES}`, EXIT.USAGE);
  try {
    return load(await readFile(path, 'utf8'), { filename: path });
  } catch (error) {
    throw new CliError(`${path} is not valid YAML or JSON: ${error instanceof Error ? error.message : String(error)}`, EXIT.USAGE);
  }
};

const countsText = (sweep: SweepOutput): string =>
  Object.entries(sweep.counts)
    .filter(([, count]) => count > 0)
    .map(([outcome, count]) => `${count} ${outcome}`)
    .join(', ');

const showSweep = (sweep: SweepOutput): void => {
  printLine(`Sweep ${sweep.name} (${sweep.id}): ${sweep.status}, ${sweep.method}, ${sweep.trials.length} trials — ${countsText(sweep)}`);
  printLine(`Trainer time: ${sweep.trainerSeconds.toFixed(1)} s`);
  printTable(
    ['#', 'outcome', 'job', 'parameters', 'pruned at'],
    sweep.trials.map((trial) => [
      String(trial.index),
      trial.outcome,
      trial.jobId ?? '',
      JSON.stringify(trial.overrides),
      trial.prunedAtRung === null ? '' : `step ${trial.prunedAtRung}: ${trial.prunedValue}`,
    ]),
  );
};

export const registerSweepCommands = (program: Command): void => {
  const sweeps = program.command('sweeps').description('hyperparameter sweeps: trials are jobs, early stopping with ASHA (docs/sweeps.md)');
  sweeps
    .command('start')
    .argument('<file>', 'the sweep as YAML or JSON: name, base (a job), parameters, method, maxTrials, concurrency, seed, earlyStopping')
    .option('--json', 'print JSON')
    .description('create a sweep, or resume the one of that name with the same specification')
    .action((file: string, _options, command: Command) =>
      withConnection(command, async ({ client }, options) => {
        const sweep = await client.sweeps.create.mutate((await readSweepFile(file)) as Parameters<typeof client.sweeps.create.mutate>[0]);
        if (options.json) return printJson(sweep);
        printLine(`${sweep.resumed ? 'Resumed' : 'Started'} sweep ${sweep.name} (${sweep.id}): ${sweep.trials.length} trials, ${countsText(sweep)}`);
      }),
    );
  sweeps
    .command('status')
    .argument('<sweep>', 'name or id')
    .option('--json', 'print JSON')
    .description('a sweep, its trials and what became of each')
    .action((ref: string, _options, command: Command) =>
      withConnection(command, async ({ client }, options) => {
        const sweep = await client.sweeps.get.query({ sweep: ref });
        if (options.json) return printJson(sweep);
        showSweep(sweep);
      }),
    );
  sweeps
    .command('list')
    .option('--limit <n>', 'how many', Number, 50)
    .option('--json', 'print JSON')
    .description('sweeps, newest first')
    .action((_options, command: Command) =>
      withConnection<GlobalOptions & { limit: number }>(command, async ({ client }, options) => {
        const page = await client.sweeps.list.query({ limit: options.limit });
        if (options.json) return printJson(page);
        printTable(
          ['id', 'name', 'status', 'trials', 'created'],
          page.items.map((s) => [s.id, s.name, s.status, String(s.trials), formatTime(s.createdAt)]),
        );
      }),
    );
  sweeps
    .command('compare')
    .argument('<sweep>', 'name or id')
    .option('--metric <name...>', 'only these metrics (default: every metric the trials reported)')
    .option('--value <which>', 'which value of each metric: best, last, min or max (as jobs compare)', 'best')
    .option('--json', 'print JSON (as jobs compare)')
    .description('the trials that ran, side by side: what jobs compare prints for the sweep’s jobs')
    .action((ref: string, _options, command: Command) =>
      withConnection<CompareOptions>(command, async ({ client }, options) => {
        const sweep = await client.sweeps.get.query({ sweep: ref });
        const ids = sweep.trials.flatMap((trial) => (trial.jobId ? [trial.jobId] : []));
        if (ids.length === 0) throw new CliError(`Sweep ${sweep.name} has started no trial yet`, EXIT.NOT_FOUND);
        await printComparison(client, ids, options);
      }),
    );
  sweeps
    .command('cancel')
    .argument('<sweep>', 'name or id')
    .option('--json', 'print JSON')
    .description('start no more trials and cancel the running ones (start it again to resume)')
    .action((ref: string, _options, command: Command) =>
      withConnection(command, async ({ client }, options) => {
        const sweep = await client.sweeps.cancel.mutate({ sweep: ref });
        if (options.json) return printJson(sweep);
        printLine(`Cancelled sweep ${sweep.name}: ${countsText(sweep)}`);
      }),
    );
  sweeps
    .command('retry-failed')
    .argument('<sweep>', 'name or id')
    .option('--json', 'print JSON')
    .description('run the failed trials again (pruned and cancelled ones are not failures)')
    .action((ref: string, _options, command: Command) =>
      withConnection(command, async ({ client }, options) => {
        const result = await client.sweeps.retryFailed.mutate({ sweep: ref });
        if (options.json) return printJson(result);
        printLine(
          result.retried.length === 0
            ? `Sweep ${result.sweep.name} has no failed trials`
            : `Retrying ${result.retried.length} failed trial(s) of ${result.sweep.name}: #${result.retried.join(', #')}`,
        );
      }),
    );
};

import type { CreateJobInput } from '@trainyard/contracts';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { CliError } from './cli-error';
import type { Connection, GlobalOptions } from './connection';
import { EXIT } from './exit-codes';
import { formatNumber, formatTime, printJson, printLine, printTable } from './output';
import { withConnection } from './run-action';

const toNumber = (value: string): number => Number(value);
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `--param epochs=5` → { epochs: 5 }: values are JSON when they parse as JSON, else strings. */
export const parseParams = (pairs: string[]): Record<string, unknown> => {
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const match = /^([A-Za-z_][\w.-]*)=(.*)$/s.exec(pair);
    if (!match?.[1]) throw new CliError(`--param must look like name=value, got "${pair}"`, EXIT.USAGE);
    const raw = match[2] ?? '';
    try {
      params[match[1]] = JSON.parse(raw);
    } catch {
      params[match[1]] = raw;
    }
  }
  return params;
};

/** `--gate "val_accuracy>=0.9"` → { metric, op, value }. */
export const parseGate = (rule: string): { metric: string; op: '>=' | '<=' | '>' | '<'; value: number } => {
  const match = /^\s*([\w./-]+)\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/i.exec(rule);
  if (!match?.[1] || !match[2] || !match[3]) throw new CliError(`--gate must look like metric>=number, got "${rule}"`, EXIT.USAGE);
  return { metric: match[1], op: match[2] as '>=' | '<=' | '>' | '<', value: Number(match[3]) };
};

interface StartOptions extends GlobalOptions {
  name: string;
  trainer?: string;
  command?: string[];
  snapshot?: string;
  param: string[];
  targetModel?: string;
  gate: string[];
  maxAttempts?: number;
  priority?: number;
  timeout?: number;
  idempotencyKey?: string;
  follow?: boolean;
}

const jobInput = (options: StartOptions): CreateJobInput => {
  if (Boolean(options.trainer) === Boolean(options.command)) throw new CliError('Give exactly one of --trainer NAME or --command ARGV…', EXIT.USAGE);
  return {
    name: options.name,
    trainer: options.trainer ? { kind: 'builtin', name: options.trainer } : { kind: 'command', command: options.command ?? [], cwd: process.cwd() },
    executor: 'local',
    hyperparameters: parseParams(options.param),
    resources: options.timeout ? { timeoutSeconds: options.timeout } : {},
    validation: options.gate.map(parseGate),
    priority: options.priority ?? 0,
    maxAttempts: options.maxAttempts ?? 1,
    ...(options.snapshot ? { datasetSnapshotId: options.snapshot } : {}),
    ...(options.targetModel ? { targetModel: options.targetModel } : {}),
    ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
  };
};

const TERMINAL_EXIT: Record<string, number> = { succeeded: EXIT.OK, failed: EXIT.JOB_FAILED, cancelled: EXIT.JOB_CANCELLED };

/**
 * Streams a job's status, progress, metrics and log lines until it ends; the exit code is the
 * job's result. Ctrl+C stops following, not the job.
 */
export const followJob = async ({ client }: Connection, id: string, options: GlobalOptions): Promise<number> => {
  const interactive = Boolean(process.stderr.isTTY) && !options.json;
  const bar = interactive ? new SingleBar({ format: 'Training [{bar}] {percentage}% {message}', stream: process.stderr, hideCursor: true }) : undefined;
  bar?.start(100, 0, { message: '' });
  let lastPrintedDecile = -1;
  const say = (text: string): void => {
    if (bar) bar.stop();
    printLine(text);
    if (bar) bar.start(100, bar.getProgress() * 100, {});
  };
  const ended = await new Promise<{ error?: unknown; interrupted?: boolean }>((resolve) => {
    const onInterrupt = (): void => {
      subscription.unsubscribe();
      resolve({ interrupted: true });
    };
    const subscription = client.jobs.events.subscribe(
      { id },
      {
        onData(event) {
          if (options.json) return printLine(JSON.stringify(event));
          if (event.type === 'progress') {
            const percent = Math.round(event.fraction * 100);
            if (bar) bar.update(percent, { message: event.message ?? '' });
            else if (Math.floor(percent / 10) > lastPrintedDecile) {
              lastPrintedDecile = Math.floor(percent / 10);
              printLine(`progress ${percent}%${event.message ? ` ${event.message}` : ''}`);
            }
          } else if (event.type === 'metric') say(`metric ${event.name} step ${event.step} = ${formatNumber(event.value, 6)}`);
          else if (event.type === 'metrics') for (const [name, step, value] of event.points) say(`metric ${name} step ${step} = ${formatNumber(value, 6)}`);
          else if (event.type === 'log') say(`[${event.stream}] ${event.line}`);
          else say(`status ${event.status}${event.error ? `: ${event.error}` : ''}`);
        },
        onError(error) {
          process.off('SIGINT', onInterrupt);
          resolve({ error });
        },
        onComplete() {
          process.off('SIGINT', onInterrupt);
          resolve({});
        },
      },
    );
    process.once('SIGINT', onInterrupt);
  });
  bar?.stop();
  if (ended.interrupted) {
    process.stderr.write(`Stopped following; job ${id} keeps running. Follow it again with: trainyard jobs follow ${id}\n`);
    return EXIT.INTERRUPTED;
  }
  if (ended.error) throw ended.error;
  const job = await client.jobs.get.query({ id });
  if (!options.json) {
    printLine(`Job ${job.id} ${job.status}${job.error ? `: ${job.error}` : ''}`);
    if (job.status === 'succeeded' && job.targetModelName) {
      const versions = await client.models.listVersions.query({ model: job.targetModelName, limit: 20 });
      const version = versions.items.find((candidate) => candidate.trainingJobId === job.id);
      if (version) printLine(`Registered ${job.targetModelName} version ${version.version}`);
    }
  }
  return TERMINAL_EXIT[job.status] ?? EXIT.FAILURE;
};

const showJob = (job: Record<string, unknown>): void => {
  const fields = ['id', 'name', 'status', 'progress', 'progressMessage', 'attempt', 'maxAttempts', 'targetModelName', 'datasetSnapshotId', 'error', 'createdAt', 'startedAt', 'finishedAt'];
  printTable(
    ['field', 'value'],
    fields.map((field) => [field, job[field] instanceof Date ? formatTime(job[field] as Date) : (job[field] as string | number | null)]),
  );
  if (job['finalMetrics']) printLine(`Final metrics: ${JSON.stringify(job['finalMetrics'])}`);
  if (job['validationReport']) printLine(`Validation: ${JSON.stringify(job['validationReport'])}`);
};

export const registerJobCommands = (program: Command): void => {
  const jobs = program.command('jobs').description('training jobs: start, watch, cancel, retry');
  jobs
    .command('start')
    .description('queue a training job')
    .requiredOption('--name <name>', 'job name')
    .option('--trainer <name>', 'built-in trainer, e.g. text-detector')
    .option('--command <argv...>', 'or: a trainer command to run (local mode)')
    .option('--snapshot <id>', 'dataset snapshot to train on')
    .option('--param <name=value>', 'hyperparameter (repeatable; JSON values)', collect, [])
    .option('--target-model <model>', 'register the result as a version of this model')
    .option('--gate <rule>', 'validation rule such as "val_accuracy>=0.9" (repeatable)', collect, [])
    .option('--max-attempts <n>', 'attempts before the job fails', toNumber)
    .option('--priority <n>', '-100..100, higher runs first', toNumber)
    .option('--timeout <seconds>', 'fail the job after this long', toNumber)
    .option('--idempotency-key <key>', 'starting twice with the same key returns the first job')
    .option('--follow', 'then follow it until it ends (exit code = job result)')
    .option('--json', 'print JSON')
    .action((_options, command: Command) =>
      withConnection<StartOptions>(command, async (connection, options) => {
        const job = await connection.client.jobs.create.mutate(jobInput(options));
        if (options.json && !options.follow) return printJson(job);
        printLine(`${job.existing ? 'Existing' : 'Queued'} job ${job.id} (${job.name})`);
        return options.follow ? followJob(connection, job.id, options) : EXIT.OK;
      }),
    );
  jobs
    .command('list')
    .description('list jobs, newest first')
    .option('--status <status>', 'queued, running, validating, succeeded, failed or cancelled')
    .option('--limit <n>', 'how many', toNumber, 50)
    .option('--json', 'print JSON')
    .action((_options, command: Command) =>
      withConnection<GlobalOptions & { status?: 'queued'; limit: number }>(command, async ({ client }, options) => {
        const page = await client.jobs.list.query({ limit: options.limit, ...(options.status ? { status: options.status } : {}) });
        if (options.json) return printJson(page);
        printTable(
          ['id', 'name', 'status', 'progress', 'attempt', 'created'],
          page.items.map((job) => [job.id, job.name, job.status, `${Math.round(job.progress * 100)}%`, `${job.attempt}/${job.maxAttempts}`, formatTime(job.createdAt)]),
        );
      }),
    );
  jobs
    .command('show')
    .argument('<id>', 'job id')
    .option('--json', 'print JSON')
    .description('one job with its final metrics and validation report')
    .action((id: string, _options, command: Command) =>
      withConnection(command, async ({ client }, options) => {
        const job = await client.jobs.get.query({ id });
        if (options.json) return printJson(job);
        showJob(job);
      }),
    );
  jobs
    .command('follow')
    .argument('<id>', 'job id')
    .option('--json', 'print events as JSON lines')
    .description('stream progress, metrics and logs until the job ends; exit code = job result')
    .action((id: string, _options, command: Command) => withConnection(command, (connection, options) => followJob(connection, id, options)));
  for (const [name, description] of [
    ['cancel', 'cancel a queued or running job'],
    ['retry', 'queue a failed or cancelled job again'],
  ] as const) {
    jobs
      .command(name)
      .argument('<id>', 'job id')
      .option('--json', 'print JSON')
      .description(description)
      .action((id: string, _options, command: Command) =>
        withConnection(command, async ({ client }, options) => {
          const job = await client.jobs[name].mutate({ id });
          if (options.json) return printJson(job);
          printLine(`Job ${job.id} is ${job.status}`);
        }),
      );
  }
};

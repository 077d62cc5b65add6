import { type CreateJobInput, FAILURE_LOG_TAIL, isFinishedJobStatus, JOB_STATUSES, type JobStatus } from '@trainyard/contracts';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { CliError } from './cli-error';
import type { Connection, GlobalOptions } from './connection';
import { EXIT } from './exit-codes';
import { type CompareOptions, printComparison } from './jobs-compare';
import { formatBytes, formatNumber, formatTime, printJson, printLine, printTable } from './output';
import { withConnection } from './run-action';

const toNumber = (value: string): number => Number(value);
/** `jobs logs`: bytes per request, and how often `--follow` asks for more. */
const LOG_PAGE_BYTES = 1024 * 1024;
const LOG_POLL_MS = 500;
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

/** `--keep-best val_loss:min` → { metric, mode }. */
export const parseKeepBest = (value: string): { metric: string; mode: 'min' | 'max' } => {
  const match = /^(.+):(min|max)$/.exec(value.trim());
  if (!match?.[1] || !match[2]) throw new CliError(`--keep-best must look like metric:min or metric:max, got "${value}"`, EXIT.USAGE);
  return { metric: match[1], mode: match[2] as 'min' | 'max' };
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
  keepCheckpoints?: number;
  keepBest?: string;
  executor?: CreateJobInput['executor'];
  image?: string;
  namespace?: string;
  serviceAccount?: string;
  instanceType?: string;
  instanceCount?: number;
  cpus?: number;
  memoryMb?: number;
  gpus?: number;
  partition?: string;
  follow?: boolean;
}

const COMMAND_HINT = 'Your own trainer: put its command after --, verbatim, e.g. trainyard jobs start --name N -- python3 -u train.py --lr 0.1';

/** `argv` is everything after `--` (the trainer's command, verbatim); `--command A B` is the older form for commands without options. */
export const jobStartInput = (options: StartOptions, argv: string[]): CreateJobInput => {
  if (options.command?.length && argv.length > 0)
    throw new CliError(`Give the command once: after -- (not with --command as well). ${COMMAND_HINT}`, EXIT.USAGE);
  const command = argv.length > 0 ? argv : options.command;
  if (Boolean(options.trainer) === Boolean(command?.length))
    throw new CliError(`Give exactly one of --trainer NAME or -- COMMAND [ARG…]. ${COMMAND_HINT}`, EXIT.USAGE);
  const executor = options.executor ?? 'local';
  // A Kubernetes or SageMaker job's command runs in its job directory inside the image: this directory means nothing there.
  const inContainer = executor === 'kubernetes' || executor === 'sagemaker';
  return {
    name: options.name,
    trainer: options.trainer
      ? { kind: 'builtin', name: options.trainer }
      : { kind: 'command', command: command ?? [], ...(inContainer ? {} : { cwd: process.cwd() }) },
    executor,
    hyperparameters: parseParams(options.param),
    resources: {
      ...(options.timeout ? { timeoutSeconds: options.timeout } : {}),
      ...(options.cpus ? { cpus: options.cpus } : {}),
      ...(options.memoryMb ? { memoryMb: options.memoryMb } : {}),
      ...(options.gpus !== undefined ? { gpus: options.gpus } : {}),
      ...(options.partition ? { partition: options.partition } : {}),
      ...(options.image ? { image: options.image } : {}),
      ...(options.namespace ? { namespace: options.namespace } : {}),
      ...(options.serviceAccount ? { serviceAccount: options.serviceAccount } : {}),
      ...(options.instanceType ? { instanceType: options.instanceType } : {}),
      ...(options.instanceCount ? { instanceCount: options.instanceCount } : {}),
    },
    checkpoints: { keepLast: options.keepCheckpoints ?? 3, ...(options.keepBest ? { keepBest: parseKeepBest(options.keepBest) } : {}) },
    validation: options.gate.map(parseGate),
    priority: options.priority ?? 0,
    maxAttempts: options.maxAttempts ?? 1,
    ...(options.snapshot ? { datasetSnapshotId: options.snapshot } : {}),
    ...(options.targetModel ? { targetModel: options.targetModel } : {}),
    ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
  };
};

/** Where a scheduler has the job: `slurm 4242 PENDING (Resources)`; empty for a local job. */
export const schedulerText = (scheduler: { kind: string; jobId: string; state: string; reason: string | null } | null): string =>
  scheduler ? `${scheduler.kind} ${scheduler.jobId} ${scheduler.state}${scheduler.reason ? ` (${scheduler.reason})` : ''}` : '';

const TERMINAL_EXIT: Record<string, number> = { succeeded: EXIT.OK, failed: EXIT.JOB_FAILED, cancelled: EXIT.JOB_CANCELLED };
const LOG_STREAMS = ['stdout', 'stderr', 'events'] as const;
type LogStream = (typeof LOG_STREAMS)[number];

/**
 * A trainer's output made safe for a terminal: colours (SGR) and tab/newline/carriage return are
 * kept; every other control character and escape sequence (titles, clipboard, cursor moves) is
 * dropped — a log may come from anyone's trainer.
 */
export const printable = (text: string): string =>
  // eslint-disable-next-line no-control-regex
  text.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[^[\]]?|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/g, (match) =>
    // eslint-disable-next-line no-control-regex
    /^\x1b\[[0-9;]*m$/.test(match) ? match : '',
  );

/**
 * For a failed job (or one waiting to retry after a failure): the last lines of its stderr, under
 * its error — a traceback says why where "exited with code 1" does not.
 */
const printStderrTail = async ({ client }: Connection, job: { id: string; status: string; error: string | null }): Promise<void> => {
  if (job.status !== 'failed' && !(job.status === 'queued' && job.error)) return;
  const tail = await client.jobs.logs
    .query({ id: job.id, stream: 'stderr', tail: FAILURE_LOG_TAIL.lines, length: FAILURE_LOG_TAIL.bytes })
    .catch(() => undefined);
  if (!tail || tail.text.trim() === '') {
    printLine('The trainer wrote nothing to stderr.');
    return;
  }
  const lines = tail.text.replace(/\n$/, '').split('\n');
  const whole = tail.offset === 0;
  printLine(`stderr${whole ? '' : `, last ${lines.length} lines of ${formatBytes(tail.size)} (all of it: trainyard jobs logs ${job.id} --stream stderr)`}:`);
  for (const line of lines) printLine(`  ${printable(line)}`);
};

/**
 * Streams a job's status, progress, metrics and log lines until it ends; the exit code is the
 * job's result. Ctrl+C stops following, not the job.
 */
export const followJob = async ({ client }: Connection, id: string, options: GlobalOptions): Promise<number> => {
  const interactive = Boolean(process.stderr.isTTY) && !options.json;
  const bar = interactive ? new SingleBar({ format: 'Training [{bar}] {percentage}% {message}', stream: process.stderr, hideCursor: true }) : undefined;
  // The payload is the bar's whole state: a restart without it prints a literal `{message}`.
  const payload = { message: '' };
  bar?.start(100, 0, payload);
  let lastPrintedDecile = -1;
  const say = (text: string): void => {
    if (bar) bar.stop();
    printLine(text);
    if (bar) bar.start(100, bar.getProgress() * 100, payload);
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
            payload.message = event.message ?? '';
            if (bar) bar.update(percent, payload);
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
    if (job.status === 'failed') await printStderrTail({ client } as Connection, job);
    if (job.status === 'succeeded' && job.targetModelName) {
      const versions = await client.models.listVersions.query({ model: job.targetModelName, limit: 20 });
      const version = versions.items.find((candidate) => candidate.trainingJobId === job.id);
      if (version) printLine(`Registered ${job.targetModelName} version ${version.version}`);
    }
  }
  return TERMINAL_EXIT[job.status] ?? EXIT.FAILURE;
};

const showJob = (job: Record<string, unknown>): void => {
  const fields = [
    'id',
    'name',
    'status',
    'progress',
    'progressMessage',
    'attempt',
    'maxAttempts',
    'targetModelName',
    'datasetSnapshotId',
    'error',
    'createdAt',
    'startedAt',
    'finishedAt',
  ];
  printTable(
    ['field', 'value'],
    [
      ...fields.map((field): [string, string | number | null] => [
        field,
        job[field] instanceof Date ? formatTime(job[field] as Date) : (job[field] as string | number | null),
      ]),
      ['executor', job['executor'] as string],
      ...(job['scheduler'] ? [['scheduler', schedulerText(job['scheduler'] as Parameters<typeof schedulerText>[0])] as [string, string]] : []),
    ],
  );
  if (job['finalMetrics']) printLine(`Final metrics: ${JSON.stringify(job['finalMetrics'])}`);
  if (job['validationReport']) printLine(`Validation: ${JSON.stringify(job['validationReport'])}`);
};

export const registerJobCommands = (program: Command): void => {
  const jobs = program.command('jobs').description('training jobs: start, watch, cancel, retry');
  jobs
    .command('start')
    .description('queue a training job: a built-in trainer (--trainer NAME), or your own command after --, verbatim')
    .usage('--name N (--trainer NAME | -- COMMAND [ARG…]) [options]')
    .argument('[command...]', 'your own trainer after --, passed as is: -- python3 -u train.py --lr 0.1 (runs in this directory)')
    .requiredOption('--name <name>', 'job name')
    .option('--trainer <name>', 'built-in trainer, e.g. text-detector')
    .option('--command <argv...>', 'older form of -- COMMAND for commands without options of their own')
    .option('--snapshot <id>', 'dataset snapshot to train on')
    .option('--param <name=value>', 'hyperparameter (repeatable; JSON values)', collect, [])
    .option('--target-model <model>', 'register the result as a version of this model')
    .option('--gate <rule>', 'validation rule such as "val_accuracy>=0.9" (repeatable)', collect, [])
    .option('--max-attempts <n>', 'attempts before the job fails', toNumber)
    .option('--priority <n>', '-100..100, higher runs first', toNumber)
    .option('--timeout <seconds>', 'fail the job after this long (on Slurm: --time, rounded up to whole minutes)', toNumber)
    .option(
      '--executor <where>',
      'local (this machine, the default), slurm (the cluster; the server needs TRAINYARD_SLURM=on), runner-local (the remote runner, run here; TRAINYARD_RUNNER_LOCAL=on), kubernetes or sagemaker (the command runs inside --image)',
    )
    .option('--image <ref>', 'kubernetes, sagemaker: the container image (one of the server’s TRAINYARD_RUNNER_IMAGES; default its first)')
    .option('--namespace <name>', 'kubernetes: the namespace (one the server allows)')
    .option('--service-account <name>', 'kubernetes: the service account (one the server allows)')
    .option('--instance-type <type>', 'sagemaker: the instance type, e.g. ml.g5.xlarge')
    .option('--instance-count <n>', 'sagemaker: the number of instances', toNumber)
    .option('--cpus <n>', 'CPUs for the trainer (Slurm: --cpus-per-task)', toNumber)
    .option('--memory-mb <n>', 'memory for the trainer in MB (Slurm: --mem)', toNumber)
    .option('--gpus <n>', 'GPUs (Slurm: --gres=gpu:N)', toNumber)
    .option('--partition <name>', 'Slurm partition (default: the server’s TRAINYARD_SLURM_PARTITION)')
    .option('--idempotency-key <key>', 'starting twice with the same key returns the first job')
    .option('--keep-checkpoints <n>', 'keep the last N reported checkpoints (default 3); older ones are deleted', toNumber)
    .option('--keep-best <metric:min|max>', 'also keep the checkpoint with the best value of this metric')
    .option('--follow', 'then follow it until it ends (exit code = job result)')
    .option('--json', 'print JSON')
    .showHelpAfterError(`(${COMMAND_HINT})`)
    .action((argv: string[], _options, command: Command) =>
      withConnection<StartOptions>(command, async (connection, options) => {
        const job = await connection.client.jobs.create.mutate(jobStartInput(options, argv));
        if (options.json && !options.follow) return printJson(job);
        printLine(`${job.existing ? 'Existing' : 'Queued'} job ${job.id} (${job.name})`);
        return options.follow ? followJob(connection, job.id, options) : EXIT.OK;
      }),
    );
  jobs
    .command('list')
    .description('list jobs, newest first')
    .option('--status <status>', `${JOB_STATUSES.slice(0, -1).join(', ')} or ${JOB_STATUSES.at(-1)}`)
    .option('--limit <n>', 'how many', toNumber, 50)
    .option('--json', 'print JSON')
    .action((_options, command: Command) =>
      withConnection<GlobalOptions & { status?: JobStatus; limit: number }>(command, async ({ client }, options) => {
        const page = await client.jobs.list.query({ limit: options.limit, ...(options.status ? { status: options.status } : {}) });
        if (options.json) return printJson(page);
        printTable(
          ['id', 'name', 'status', 'progress', 'attempt', 'created'],
          page.items.map((job) => [
            job.id,
            job.name,
            job.scheduler && job.status === 'running' ? `${job.status}: ${schedulerText(job.scheduler)}` : job.status,
            `${Math.round(job.progress * 100)}%`,
            `${job.attempt}/${job.maxAttempts}`,
            formatTime(job.createdAt),
          ]),
        );
      }),
    );
  jobs
    .command('show')
    .argument('<id>', 'job id')
    .option('--json', 'print JSON')
    .description('one job with its final metrics and validation report; a failed one with the end of its stderr')
    .action((id: string, _options, command: Command) =>
      withConnection(command, async (connection, options) => {
        const job = await connection.client.jobs.get.query({ id });
        if (options.json) return printJson(job);
        showJob(job);
        await printStderrTail(connection, job);
      }),
    );
  jobs
    .command('logs')
    .argument('<id>', 'job id')
    .option('--stream <stream>', "stdout, stderr or events (Trainyard's log of the trainer's events)", 'stdout')
    .option('--tail <lines>', 'only the last N lines (≤ 10000)', toNumber)
    .option('--follow', 'keep printing what is written until the job ends')
    .option('--json', 'print JSON lines { text, size, offset, nextOffset }')
    .description("a job's trainer output: stdout, stderr or the events log")
    .action((id: string, _options, command: Command) =>
      withConnection<GlobalOptions & { stream: string; tail?: number; follow?: boolean }>(command, async ({ client }, options) => {
        if (!(LOG_STREAMS as readonly string[]).includes(options.stream))
          throw new CliError(`--stream must be stdout, stderr or events, got "${options.stream}"`, EXIT.USAGE);
        const stream = options.stream as LogStream;
        const terminal = Boolean(process.stdout.isTTY);
        const write = (slice: { text: string; size: number; offset: number; nextOffset: number }): void => {
          if (options.json) printLine(JSON.stringify(slice));
          else if (slice.text) process.stdout.write(terminal ? printable(slice.text) : slice.text);
        };
        /** Prints from `offset` to the end of the log, a page at a time; returns where it stopped. */
        const drain = async (from: number): Promise<number> => {
          for (let offset = from; ;) {
            const slice = await client.jobs.logs.query({ id, stream, offset, length: LOG_PAGE_BYTES });
            if (slice.nextOffset === offset) return offset;
            write(slice);
            offset = slice.nextOffset;
            if (offset >= slice.size) return offset;
          }
        };
        let offset: number;
        if (options.tail !== undefined) {
          const slice = await client.jobs.logs.query({ id, stream, tail: options.tail, length: LOG_PAGE_BYTES });
          write(slice);
          offset = slice.nextOffset;
        } else {
          await client.jobs.get.query({ id }); // an unknown job says so, even with no log yet
          offset = await drain(0);
        }
        while (options.follow) {
          // The status first: once it is final, the trainer has exited and the log is complete.
          const { status } = await client.jobs.get.query({ id });
          offset = await drain(offset);
          if (isFinishedJobStatus(status)) break;
          await new Promise((resolve) => setTimeout(resolve, LOG_POLL_MS));
        }
        return EXIT.OK;
      }),
    );
  jobs
    .command('compare')
    .argument('<id...>', 'job ids (up to 1000; a sweep’s trials, or any jobs)')
    .option('--metric <name...>', 'only these metrics (default: every metric the jobs reported)')
    .option('--value <which>', 'which value of each metric: best (lowest for names with loss, error or perplexity, else highest), last, min or max', 'best')
    .option('--json', 'print JSON: every job with its hyperparameters and each metric’s last, min and max with their steps')
    .description('jobs side by side: the hyperparameters that differ between them and each metric’s best, last, min or max')
    .action((ids: string[], _options, command: Command) =>
      withConnection<CompareOptions>(command, ({ client }, options) => printComparison(client, ids, options)),
    );
  jobs
    .command('follow')
    .argument('<id>', 'job id')
    .option('--json', 'print events as JSON lines')
    .description('stream progress, metrics and logs until the job ends; exit code = job result')
    .action((id: string, _options, command: Command) => withConnection(command, (connection, options) => followJob(connection, id, options)));
  jobs
    .command('delete')
    .argument('<id>', 'job id')
    .option('--json', 'print JSON')
    .description(
      'delete a finished job: its record, metrics, job directory and the artifacts no model version holds (refused for a job that produced a version)',
    )
    .action((id: string, _options, command: Command) =>
      withConnection(command, async ({ client }, options) => {
        const result = await client.jobs.delete.mutate({ id });
        if (options.json) return printJson(result);
        printLine(
          `Deleted job ${result.id} and ${result.artifactsDeleted} artifact record${result.artifactsDeleted === 1 ? '' : 's'}; blobs nothing else uses go at the next garbage collection`,
        );
      }),
    );
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

import { executorKind, type ReproduceOutput, type ReproductionOutput } from '@trainyard/contracts';
import type { Command } from 'commander';
import { CliError } from './cli-error';
import type { Connection, GlobalOptions } from './connection';
import { EXIT } from './exit-codes';
import { parseModelRef } from './model-ref';
import { formatNumber, printJson, printLine, printTable } from './output';
import { withConnection } from './run-action';
import { pullAndWait } from './sync.commands';

interface ReproduceOptions extends GlobalOptions {
  remote?: string;
  executor?: string;
  allowDifferent?: boolean;
  allowCommand?: boolean;
}

/** Resolves when the job's event stream ends (it ends with the job). */
const untilJobEnds = ({ client }: Connection, id: string): Promise<void> =>
  new Promise((resolve, reject) => {
    client.jobs.events.subscribe({ id }, { onError: reject, onComplete: () => resolve() });
  });

const printDifferences = (differences: ReproduceOutput['differences']): void => {
  for (const difference of differences) printLine(`  - ${difference.field}: ${difference.message}`);
};

const printReport = (report: ReproductionOutput): void => {
  if (report.artifacts) {
    printTable(
      ['artifact', 'byte-identical', 'sha256 (published)', 'sha256 (reproduced)'],
      report.artifacts.map((row) => [row.name, row.identical ? 'yes' : 'no', row.original?.slice(0, 16) ?? '—', row.reproduced?.slice(0, 16) ?? '—']),
    );
  }
  if (report.metrics && !report.identical) {
    printLine(`Final metrics (tolerance: |a − b| ≤ ${report.tolerance.absolute} + ${report.tolerance.relative} × |published|):`);
    printTable(
      ['metric', 'published', 'reproduced', 'within tolerance'],
      report.metrics.map((row) => [row.name, formatNumber(row.original, 6), formatNumber(row.reproduced, 6), row.withinTolerance ? 'yes' : 'no']),
    );
  }
  if (report.differences.length > 0) {
    printLine('The trainer differed from the published one:');
    printDifferences(report.differences);
  }
  printLine(`${report.reproducedFrom.model}@${report.reproducedFrom.version} reproduced by job ${report.jobId}: ${report.verdict}`);
};

export const registerReproduceCommand = (program: Command): void => {
  program
    .command('reproduce')
    .argument('<ref>', 'MODEL@VERSION or MODEL@ALIAS (of the remote with --remote, else local; default: latest)')
    .option('--remote <name>', 'pull the version from this remote first (a no-op when it is here already)')
    .option('--executor <where>', 'where the reproduction runs: local (default), slurm, runner-local, kubernetes or sagemaker')
    .option('--allow-different', 'run even when the trainer here differs from the recorded one (the differences are reported)')
    .option('--allow-command', "run a command trainer recorded elsewhere (a pulled version's): its command runs on this machine")
    .option('--json', 'print JSON: { reproduce, report }')
    .description(
      'retrain a published version with the same trainer, hyperparameters, seed and snapshot, and report whether its outputs are byte-identical (exit 0 when byte-identical or its final metrics are within tolerance, 6 when refused, 1 when they differ, 7 when the job failed)',
    )
    .action((text: string, _options, command: Command) =>
      withConnection<ReproduceOptions>(command, async (connection, options) => {
        const { client } = connection;
        const { model, ref } = parseModelRef(text, { alias: 'latest' });
        const version = options.remote
          ? await pullAndWait(connection, { remote: options.remote, model, ref }, options)
          : (await client.models.getVersion.query({ model, ref })).version;
        const executor = executorKind.safeParse(options.executor ?? 'local');
        if (!executor.success) throw new CliError(`--executor: one of ${executorKind.options.join(', ')}`, EXIT.USAGE);
        const started = await client.jobs.reproduce.mutate({
          model,
          version,
          executor: executor.data,
          allowDifferent: options.allowDifferent ?? false,
          allowCommand: options.allowCommand ?? false,
        });
        if (started.refused || !started.jobId) {
          if (options.json) printJson({ reproduce: started, report: null });
          else {
            printLine(`Refused: ${started.reason ?? ''}`);
            printDifferences(started.differences);
          }
          return EXIT.CONFLICT;
        }
        if (!options.json) {
          printLine(`Reproducing ${model}@${version} (local) as job ${started.jobId}${started.differences.length > 0 ? ', with differences' : ''}…`);
        }
        await untilJobEnds(connection, started.jobId);
        const report = await client.jobs.reproduction.query({ jobId: started.jobId });
        if (options.json) printJson({ reproduce: started, report });
        else printReport(report);
        if (report.status === 'failed') return EXIT.JOB_FAILED;
        if (report.status === 'cancelled') return EXIT.JOB_CANCELLED;
        if (report.identical || report.metricsWithinTolerance) return EXIT.OK;
        if (report.verdict === 'differs') return EXIT.FAILURE;
        throw new CliError(`Reproduction ended: ${report.verdict}`, EXIT.FAILURE);
      }),
    );
};

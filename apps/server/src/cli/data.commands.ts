import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { ImportReport } from '@trainyard/contracts';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { CliError, httpError } from './cli-error';
import type { Connection, GlobalOptions } from './connection';
import { EXIT } from './exit-codes';
import { formatBytes, printJson, printLine, printTable } from './output';
import { withConnection } from './run-action';

const CONTENT_TYPES = { jsonl: 'application/x-ndjson', csv: 'text/csv' } as const;
type Format = keyof typeof CONTENT_TYPES;

const formatOf = (file: string, explicit: string | undefined): Format => {
  const format = explicit ?? (extname(file).toLowerCase() === '.csv' ? 'csv' : 'jsonl');
  if (format !== 'jsonl' && format !== 'csv') throw new CliError(`--format must be jsonl or csv, got ${format}`, EXIT.USAGE);
  return format;
};

const SHOWN_REJECTIONS = 20;

const printReport = (report: ImportReport & { rejectedCount?: number }): void => {
  const rejected = report.rejectedCount ?? report.rejected.length;
  printLine(`Imported ${report.imported}, duplicates ${report.duplicates}, rejected ${rejected}${report.aborted ? ' (the rest of the file was unreadable)' : ''}`);
  for (const item of report.rejected.slice(0, SHOWN_REJECTIONS)) printLine(`  line ${item.line}: ${item.message}`);
  if (rejected > SHOWN_REJECTIONS) printLine(`  … and ${rejected - SHOWN_REJECTIONS} more (use --json for all)`);
};

/**
 * Streams the file to POST /import/training-data (never loaded whole). Ctrl+C stops sending;
 * the server keeps every complete line it received, and because identical pairs are
 * duplicates, running the same command again finishes the import without double-counting.
 */
const importFile = async (connection: Connection, file: string, options: GlobalOptions & { format?: string }): Promise<number> => {
  const format = formatOf(file, options.format);
  const size = await stat(file).then(
    (info) => info.size,
    () => {
      throw new CliError(`Cannot read ${file}: no such file`, EXIT.USAGE);
    },
  );
  const bar = new SingleBar({ format: 'Importing [{bar}] {percentage}% | {sent} of {total_size}', stream: process.stderr, hideCursor: true });
  bar.start(size, 0, { sent: formatBytes(0), total_size: formatBytes(size) });
  let sent = 0;
  const source = createReadStream(file, { highWaterMark: 256 * 1024 });
  source.on('data', (chunk) => {
    sent += chunk.length;
    bar.update(sent, { sent: formatBytes(sent) });
  });
  const controller = new AbortController();
  let interrupted = false;
  const onInterrupt = (): void => {
    interrupted = true;
    controller.abort();
  };
  process.once('SIGINT', onInterrupt);
  try {
    const response = await connection.fetch('/import/training-data', {
      method: 'POST',
      headers: { 'content-type': CONTENT_TYPES[format] },
      body: source as unknown as RequestInit["body"],
      duplex: 'half',
      signal: controller.signal,
    } as RequestInit);
    if (!response.ok) throw await httpError(response, connection.url);
    const report = (await response.json()) as ImportReport & { rejectedCount?: number };
    bar.stop();
    if (options.json) printJson(report);
    else printReport(report);
    return (report.rejectedCount ?? report.rejected.length) > 0 || report.aborted ? EXIT.PARTIAL : EXIT.OK;
  } catch (error) {
    bar.stop();
    const progress = `after sending ${formatBytes(sent)} of ${formatBytes(size)}`;
    const resume = 'Every complete line the server received is imported; run the same command again to finish (pairs already imported count as duplicates, never twice).';
    if (interrupted) throw new CliError(`Import interrupted ${progress}. ${resume}`, EXIT.INTERRUPTED);
    if (error instanceof CliError) throw error;
    throw new CliError(`The connection to ${connection.url} was lost ${progress}. ${resume}`, EXIT.UNREACHABLE);
  } finally {
    process.off('SIGINT', onInterrupt);
    source.destroy();
  }
};

const histogramLine = (label: string, histogram: { buckets: number[]; missing: number }): string[] => [
  label,
  histogram.buckets.join(' '),
  String(histogram.missing),
];

export const registerDataCommands = (program: Command): void => {
  const data = program.command('data').description('training pairs: import files, statistics');
  data
    .command('import')
    .argument('<file>', 'JSONL (one pair per line) or CSV file')
    .option('--format <format>', 'jsonl or csv (default: from the file extension)')
    .option('--json', 'print the import report as JSON')
    .description('import training pairs from a file, with a progress bar and a report of rejected lines')
    .action((file: string, _options, command: Command) => withConnection(command, (connection, options) => importFile(connection, file, options)));
  data
    .command('stats')
    .option('--json', 'print JSON')
    .description('counts and score histograms (10 buckets from 0 to 1)')
    .action((_options, command: Command) =>
      withConnection(command, async ({ client }, options) => {
        const stats = await client.trainingData.stats.query({});
        if (options.json) return printJson(stats);
        printLine(`Pairs: ${stats.total} (excluded ${stats.excluded}, with feedback ${stats.withFeedback})`);
        printTable(
          ['score', 'histogram 0.0 → 1.0', 'missing'],
          [
            histogramLine('detection before', stats.detectionScoreBefore),
            histogramLine('detection after', stats.detectionScoreAfter),
            histogramLine('quality', stats.qualityScore),
          ],
        );
      }),
    );
};

import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { DataFilter, ImportReport } from '@trainyard/contracts';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { CliError, httpError } from './cli-error';
import type { Connection, GlobalOptions } from './connection';
import { EXIT } from './exit-codes';
import { formatBytes, printJson, printLine, printTable } from './output';
import { withConnection } from './run-action';

const CONTENT_TYPES = { jsonl: 'application/x-ndjson', csv: 'text/csv' } as const;
type Format = keyof typeof CONTENT_TYPES;

/** --format, else what the file starts with (a JSON object or a header row), else its extension. */
const formatOf = async (file: string, explicit: string | undefined): Promise<Format> => {
  if (explicit !== undefined) {
    if (explicit !== 'jsonl' && explicit !== 'csv') throw new CliError(`--format must be jsonl or csv, got ${explicit}`, EXIT.USAGE);
    return explicit;
  }
  const handle = await open(file, 'r');
  const head = Buffer.alloc(4096);
  const { bytesRead } = await handle.read(head, 0, head.length, 0).finally(() => handle.close());
  const start = head
    .subarray(0, bytesRead)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (start.startsWith('{')) return 'jsonl';
  const header = (start.split('\n')[0] ?? '').split(',').map((name) => name.trim().replace(/^"|"$/g, ''));
  if (header.includes('aiText') && header.includes('humanizedText')) return 'csv';
  return extname(file).toLowerCase() === '.csv' ? 'csv' : 'jsonl';
};

const SHOWN_REJECTIONS = 20;

const printReport = (report: ImportReport & { rejectedCount?: number }): void => {
  const rejected = report.rejectedCount ?? report.rejected.length;
  printLine(
    `Imported ${report.imported}, duplicates ${report.duplicates}, rejected ${rejected}${report.aborted ? ' (the rest of the file was unreadable)' : ''}`,
  );
  for (const item of report.rejected.slice(0, SHOWN_REJECTIONS)) printLine(`  line ${item.line}: ${item.message}`);
  if (rejected > SHOWN_REJECTIONS) printLine(`  … and ${rejected - SHOWN_REJECTIONS} more (use --json for all)`);
};

/**
 * Streams the file to POST /import/training-data (never loaded whole). Ctrl+C stops sending;
 * the server keeps every complete line it received, and because identical pairs are
 * duplicates, running the same command again finishes the import without double-counting.
 */
const importFile = async (connection: Connection, file: string, options: GlobalOptions & { format?: string }): Promise<number> => {
  const info = await stat(file).catch(() => {
    throw new CliError(`Cannot read ${file}: no such file`, EXIT.USAGE);
  });
  if (!info.isFile())
    throw new CliError(`${file} is ${info.isDirectory() ? 'a directory' : 'not a regular file'}; give the JSONL or CSV file to import`, EXIT.USAGE);
  const size = info.size;
  const format = await formatOf(file, options.format);
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
      body: source as unknown as RequestInit['body'],
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
    const resume =
      'Every complete line the server received is imported; run the same command again to finish (pairs already imported count as duplicates, never twice).';
    if (interrupted) throw new CliError(`Import interrupted ${progress}. ${resume}`, EXIT.INTERRUPTED);
    if (error instanceof CliError) throw error;
    throw new CliError(`The connection to ${connection.url} was lost ${progress}. ${resume}`, EXIT.UNREACHABLE);
  } finally {
    process.off('SIGINT', onInterrupt);
    source.destroy();
  }
};

/** Filter options shared by `data stats`, `data exclude`/`include` and `datasets snapshot`. */
export interface FilterOptions {
  tag?: string[];
  excludeTag?: string[];
  text?: string;
  minQuality?: number;
  minImprovement?: number;
  sourceModel?: string;
  language?: string;
}

export const addFilterOptions = (
  command: Command,
  only: Array<keyof FilterOptions> = ['tag', 'excludeTag', 'text', 'minQuality', 'minImprovement', 'sourceModel', 'language'],
): Command => {
  const options: Record<keyof FilterOptions, [string, string, ((value: string) => number)?]> = {
    tag: ['--tag <tag...>', 'only pairs with all of these tags'],
    excludeTag: ['--exclude-tag <tag...>', 'leave out pairs with any of these tags (e.g. demo)'],
    text: ['--text <text>', 'only pairs whose AI or humanized text contains this (any case)'],
    minQuality: ['--min-quality <score>', 'only pairs with quality score ≥ this (0..1)', Number],
    minImprovement: ['--min-improvement <delta>', 'only pairs whose detection score improved by at least this', Number],
    sourceModel: ['--source-model <model>', 'only pairs from this source model'],
    language: ['--language <tag>', 'only pairs in this language (e.g. en)'],
  };
  for (const key of only) {
    const [flags, description, parse] = options[key];
    if (parse) command.option(flags, description, parse);
    else command.option(flags, description);
  }
  return command;
};

export const filterOf = (options: FilterOptions): DataFilter => ({
  ...(options.tag ? { tags: options.tag } : {}),
  ...(options.excludeTag ? { excludeTags: options.excludeTag } : {}),
  ...(options.text !== undefined ? { textContains: options.text } : {}),
  ...(options.minQuality !== undefined ? { minQuality: options.minQuality } : {}),
  ...(options.minImprovement !== undefined ? { minImprovement: options.minImprovement } : {}),
  ...(options.sourceModel !== undefined ? { sourceModel: options.sourceModel } : {}),
  ...(options.language !== undefined ? { language: options.language } : {}),
});

/**
 * `data exclude` / `data include`: every pair the filter matches, in one call. A filter (or
 * --all) is required, so a bare `data exclude` cannot empty the training set by accident.
 */
const setExcludedMatching = (excluded: boolean) => (_options: unknown, command: Command) =>
  withConnection<GlobalOptions & FilterOptions & { all?: boolean; dryRun?: boolean }>(command, async ({ client }, options) => {
    const filter = filterOf(options);
    if (Object.keys(filter).length === 0 && !options.all) {
      throw new CliError(`Give a filter (--tag, --exclude-tag, --text, …) or --all to ${excluded ? 'exclude' : 'include'} every pair`, EXIT.USAGE);
    }
    const verb = excluded ? 'excluded' : 'included';
    if (options.dryRun) {
      // Pairs whose state would change: the included ones when excluding, and the other way round.
      const { count } = await client.trainingData.count.query({ filter: { ...filter, excluded: !excluded } });
      if (options.json) return printJson({ wouldChange: count, filter });
      return printLine(`Would mark ${count} pairs ${verb} (dry run; nothing changed)`);
    }
    const { changed } = await client.trainingData.setExcludedMatching.mutate({ filter, excluded });
    if (options.json) return printJson({ changed, filter });
    printLine(`${changed} pairs ${verb}`);
  });

const histogramLine = (label: string, histogram: { buckets: number[]; missing: number }): string[] => [
  label,
  histogram.buckets.join(' '),
  String(histogram.missing),
];

export const registerDataCommands = (program: Command): void => {
  const data = program.command('data').description('training pairs: import files, statistics, bulk exclude/include');
  data
    .command('import')
    .argument('<file>', 'JSONL (one pair per line) or CSV file')
    .option('--format <format>', 'jsonl or csv (default: what the file starts with — a JSON object or a CSV header row — else its extension)')
    .option('--json', 'print the import report as JSON')
    .description('import training pairs from a file, with a progress bar and a report of rejected lines')
    .action((file: string, _options, command: Command) => withConnection(command, (connection, options) => importFile(connection, file, options)));
  for (const excluded of [true, false]) {
    addFilterOptions(
      data
        .command(excluded ? 'exclude' : 'include')
        .description(
          excluded
            ? 'exclude every pair the filter matches from training sets (e.g. --tag demo); prints how many changed'
            : 'include again every pair the filter matches; prints how many changed',
        ),
    )
      .option('--all', 'every pair (no filter)')
      .option('--dry-run', 'only say how many pairs would change')
      .option('--json', 'print JSON')
      .action(setExcludedMatching(excluded));
  }
  addFilterOptions(data.command('stats'))
    .option('--json', 'print JSON')
    .description('counts and score histograms (10 buckets from 0 to 1, plus pairs without the score); filters narrow it')
    .action((_options, command: Command) =>
      withConnection<GlobalOptions & FilterOptions>(command, async ({ client }, options) => {
        const stats = await client.trainingData.stats.query({ filter: filterOf(options) });
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
  data
    .command('delete')
    .argument('<ids...>', 'pair ids (at most 1 000)')
    .option('--json', 'print JSON')
    .description('delete pairs for good (snapshots frozen before keep their copy: delete those too)')
    .action((ids: string[], _options, command: Command) =>
      withConnection(command, async ({ client }, options) => {
        if (ids.length > 1_000) throw new CliError('At most 1 000 ids at a time', EXIT.USAGE);
        const result = await client.trainingData.deletePairs.mutate({ ids });
        if (options.json) return printJson(result);
        printLine(`Deleted ${result.deleted} pair(s)${result.notFound.length > 0 ? `; not found: ${result.notFound.join(', ')}` : ''}`);
      }),
    );
};

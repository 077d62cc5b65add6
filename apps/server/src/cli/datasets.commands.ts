import type { Command } from 'commander';
import { withConnection } from './run-action';
import { formatTime, printJson, printLine, printTable } from './output';

const toNumber = (value: string): number => Number(value);

export const registerDatasetCommands = (program: Command): void => {
  const datasets = program.command('datasets').description('immutable dataset snapshots');
  datasets
    .command('snapshot')
    .description('freeze the matching pairs into an immutable snapshot')
    .requiredOption('--name <name>', 'snapshot name')
    .option('--min-quality <score>', 'only pairs with quality score ≥ this (0..1)', toNumber)
    .option('--min-improvement <delta>', 'only pairs whose detection score improved by at least this', toNumber)
    .option('--tag <tag...>', 'only pairs with all of these tags')
    .option('--exclude-tag <tag...>', 'leave out pairs with any of these tags (e.g. demo)')
    .option('--validation-fraction <fraction>', 'share of pairs for validation (0..0.9)', toNumber, 0.1)
    .option('--seed <seed>', 'seed of the train/validation split', toNumber, 42)
    .option('--json', 'print JSON')
    .action((_options, command: Command) =>
      withConnection<{
        name: string;
        minQuality?: number;
        minImprovement?: number;
        tag?: string[];
        excludeTag?: string[];
        validationFraction: number;
        seed: number;
        json?: boolean;
      }>(command, async ({ client }, options) => {
        const snapshot = await client.datasets.createSnapshot.mutate({
          name: options.name,
          validationFraction: options.validationFraction,
          seed: options.seed,
          filter: {
            ...(options.minQuality !== undefined ? { minQuality: options.minQuality } : {}),
            ...(options.minImprovement !== undefined ? { minImprovement: options.minImprovement } : {}),
            ...(options.tag ? { tags: options.tag } : {}),
            ...(options.excludeTag ? { excludeTags: options.excludeTag } : {}),
          },
        });
        if (options.json) return printJson(snapshot);
        printLine(
          `Snapshot ${snapshot.id} "${snapshot.name}": ${snapshot.totalCount} pairs (${snapshot.trainCount} train, ${snapshot.validationCount} validation)`,
        );
      }),
    );
  datasets
    .command('list')
    .description('list snapshots, newest first')
    .option('--limit <n>', 'how many', toNumber, 50)
    .option('--json', 'print JSON')
    .action((_options, command: Command) =>
      withConnection<{ limit: number; json?: boolean }>(command, async ({ client }, options) => {
        const page = await client.datasets.list.query({ limit: options.limit });
        if (options.json) return printJson(page);
        printTable(
          ['id', 'name', 'pairs', 'train', 'validation', 'created'],
          page.items.map((s) => [s.id, s.name, s.totalCount, s.trainCount, s.validationCount, formatTime(s.createdAt)]),
        );
      }),
    );
};

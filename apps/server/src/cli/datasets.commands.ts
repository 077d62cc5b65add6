import type { TrainyardClient } from '@trainyard/client';
import type { Command } from 'commander';
import { CliError } from './cli-error';
import { EXIT } from './exit-codes';
import { withConnection } from './run-action';
import { formatBytes, formatTime, printJson, printLine, printTable } from './output';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A local snapshot named by id or by name (names are unique). */
const localSnapshotId = async (client: TrainyardClient, text: string): Promise<string> => {
  if (UUID.test(text)) return text;
  let cursor: string | undefined;
  do {
    const page = await client.datasets.list.query({ limit: 200, ...(cursor ? { cursor } : {}) });
    const found = page.items.find((snapshot) => snapshot.name === text);
    if (found) return found.id;
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  throw new CliError(`No dataset snapshot here has the id or name "${text}" (trainyard datasets list)`, EXIT.NOT_FOUND);
};

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
    .description('list snapshots, newest first (here, or those a shared server holds with --remote)')
    .option('--limit <n>', 'how many', toNumber, 50)
    .option('--remote <name>', 'list the snapshots this remote holds')
    .option('--json', 'print JSON')
    .action((_options, command: Command) =>
      withConnection<{ limit: number; remote?: string; json?: boolean }>(command, async ({ client }, options) => {
        const page = options.remote
          ? await client.sync.remoteSnapshots.query({ remote: options.remote, limit: options.limit })
          : await client.datasets.list.query({ limit: options.limit });
        if (options.json) return printJson(page);
        printTable(
          ['id', 'name', 'pairs', 'train', 'validation', 'created'],
          page.items.map((s) => [s.id, s.name, s.totalCount, s.trainCount, s.validationCount, formatTime(s.createdAt)]),
        );
      }),
    );

  datasets
    .command('delete')
    .argument('<snapshot>', 'a local snapshot: its id or name')
    .option('--json', 'print JSON')
    .description('delete a snapshot for good (refused while jobs or versions use it); its data goes at the next garbage collection')
    .action((text: string, _options, command: Command) =>
      withConnection<{ json?: boolean }>(command, async ({ client }, options) => {
        const deleted = await client.datasets.delete.mutate({ id: await localSnapshotId(client, text) });
        if (options.json) return printJson(deleted);
        printLine(`Deleted snapshot ${deleted.id}`);
      }),
    );
  program
    .command('push-dataset')
    .argument('<snapshot>', 'a local snapshot: its id or name')
    .requiredOption('--remote <name>', 'remote name (see `trainyard remote list`)')
    .option('--json', 'print JSON')
    .description('send a dataset snapshot alone to a shared server: its data (unless the server has it) and its manifest, same id and hash')
    .action((text: string, _options, command: Command) =>
      withConnection<{ remote: string; json?: boolean }>(command, async ({ client }, options) => {
        const pushed = await client.sync.pushDataset.mutate({ remote: options.remote, snapshotId: await localSnapshotId(client, text) });
        if (options.json) return printJson(pushed);
        printLine(
          `${pushed.created ? 'Pushed' : 'Already there'}: snapshot ${pushed.snapshotId} → ${options.remote} (${formatBytes(pushed.bytesSent)} sent of ${formatBytes(pushed.blobSize)})`,
        );
      }),
    );
  program
    .command('pull-dataset')
    .argument('<snapshot-id>', "the snapshot's id on the shared server (trainyard datasets list --remote NAME)")
    .requiredOption('--remote <name>', 'remote name (see `trainyard remote list`)')
    .option('--json', 'print JSON')
    .description('download a dataset snapshot alone from a shared server, verified, registered here under the same id and hash')
    .action((id: string, _options, command: Command) =>
      withConnection<{ remote: string; json?: boolean }>(command, async ({ client }, options) => {
        if (!UUID.test(id)) throw new CliError(`A snapshot id is a UUID, got "${id}"`, EXIT.USAGE);
        const pulled = await client.sync.pullDataset.mutate({ remote: options.remote, snapshotId: id });
        if (options.json) return printJson(pulled);
        printLine(
          `${pulled.created ? 'Pulled' : 'Already here'}: snapshot ${pulled.snapshotId} (${formatBytes(pulled.blobSize)}, sha256 ${pulled.blobSha256})`,
        );
      }),
    );
};

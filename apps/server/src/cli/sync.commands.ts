import { readFileSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import type { VersionRef } from '@trainyard/contracts';
import type { Command } from 'commander';
import { CliError } from './cli-error';
import type { Connection, GlobalOptions } from './connection';
import { EXIT } from './exit-codes';
import { parseModelRef } from './model-ref';
import { formatBytes, formatTime, printJson, printLine, printTable } from './output';
import { withConnection } from './run-action';

interface Entry {
  id: string;
  state: string;
  direction: string;
  model: string;
  bytesDone: number;
  bytesTotal: number;
  localVersion: number | null;
  remoteVersion: number | null;
  error: string | null;
  remote: string;
  attempts: number;
}

const describe = (entry: Entry): string =>
  entry.direction === 'push'
    ? `${entry.model} v${entry.localVersion ?? '?'} → ${entry.remote} v${entry.remoteVersion ?? '?'}`
    : `${entry.remote} ${entry.model} v${entry.remoteVersion ?? '?'} → local v${entry.localVersion ?? '?'}`;

/**
 * Shows an outbox entry's progress until it is done or failed. If an attempt fails for a
 * reason a retry can fix (remote unreachable), the entry stays in the outbox and the command
 * says so and exits 10: the server keeps retrying, and running the command again shows it.
 */
const waitForEntry = async (connection: Connection, first: Entry, options: GlobalOptions): Promise<number> => {
  const final = await followEntry(connection, first, options);
  if (options.json) printJson(final);
  if (final.state === 'done') {
    if (!options.json) printLine(`Done: ${describe(final)} (${formatBytes(final.bytesTotal)})`);
    return EXIT.OK;
  }
  if (final.state === 'pending') {
    if (!options.json) printLine(`Not finished: ${final.error}\nIt stays in the outbox and is retried with backoff; progress is kept (trainyard sync status).`);
    return EXIT.QUEUED;
  }
  throw entryFailure(final);
};

const entryFailure = (final: Entry): CliError =>
  new CliError(
    `${final.direction === 'push' ? 'Push' : 'Pull'} ${final.state}: ${final.error ?? ''}`,
    final.error?.includes('token') ? EXIT.AUTH : EXIT.FAILURE,
  );

/**
 * Pulls a version (a no-op when it is here already) and waits for it: the local version number.
 * A pull that cannot finish now (remote unreachable) throws, exit QUEUED; a failed one, its error.
 */
export const pullAndWait = async (
  connection: Connection,
  request: { remote: string; model: string; ref: VersionRef },
  options: GlobalOptions,
): Promise<number> => {
  const entry = await connection.client.sync.pull.mutate(request);
  const final = entry.state === 'done' ? entry : await followEntry(connection, entry, options);
  if (final.state === 'pending')
    throw new CliError(`Pull not finished: ${final.error}; it stays in the outbox and is retried (trainyard sync status)`, EXIT.QUEUED);
  if (final.state !== 'done' || final.localVersion === null) throw entryFailure(final);
  return final.localVersion;
};

/** An outbox entry's progress (a bar on a terminal) until it is done, failed, cancelled, or back to pending after a failed attempt. */
const followEntry = async ({ client }: Connection, first: Entry, options: GlobalOptions): Promise<Entry> => {
  const bar =
    process.stderr.isTTY && !options.json
      ? new SingleBar({ format: 'Transferring [{bar}] {percentage}% | {done} of {total}', stream: process.stderr, hideCursor: true })
      : undefined;
  bar?.start(Math.max(1, first.bytesTotal), first.bytesDone, { done: formatBytes(first.bytesDone), total: formatBytes(first.bytesTotal) });
  const final = await new Promise<Entry | { failure: unknown }>((resolve) => {
    let sawAttempt = first.state === 'running';
    const subscription = client.sync.progress.subscribe(
      { id: first.id },
      {
        onData(entry) {
          bar?.setTotal(Math.max(1, entry.bytesTotal));
          bar?.update(entry.bytesDone, { done: formatBytes(entry.bytesDone), total: formatBytes(entry.bytesTotal) });
          if (entry.state === 'running') sawAttempt = true;
          const retrying = entry.state === 'pending' && sawAttempt && entry.error;
          if (entry.state === 'done' || entry.state === 'failed' || entry.state === 'cancelled' || retrying) {
            subscription.unsubscribe();
            resolve(entry);
          }
        },
        onError: (failure) => resolve({ failure }),
      },
    );
  });
  bar?.stop();
  if ('failure' in final) throw final.failure;
  return final;
};

const readToken = (options: { token?: string; tokenStdin?: boolean }): string => {
  if (options.tokenStdin) return readFileSync(0, 'utf8').trim();
  if (options.token) return options.token;
  throw new CliError("Give the server's API token with --remote-token TOKEN or --token-stdin", EXIT.USAGE);
};

export const registerSyncCommands = (program: Command): void => {
  const remote = program.command('remote').description('shared servers this machine pushes to and pulls from');
  remote
    .command('add')
    .argument('<name>', 'a short name, e.g. team')
    .argument('<url>', 'the shared server URL (http or https)')
    .option('--remote-token <token>', "the shared server's API token (stored in a 0600 file, never in the database)")
    .option('--token-stdin', 'read the token from standard input (keeps it out of shell history)')
    .option('--json', 'print JSON')
    .description('add a remote (a shared server to push to and pull from)')
    .action((name: string, url: string, _options, command: Command) =>
      withConnection<GlobalOptions & { remoteToken?: string; tokenStdin?: boolean }>(command, async ({ client }, options) => {
        const added = await client.sync.addRemote.mutate({
          name,
          url,
          token: readToken({ ...(options.remoteToken ? { token: options.remoteToken } : {}), ...(options.tokenStdin ? { tokenStdin: true } : {}) }),
        });
        if (options.json) return printJson(added);
        printLine(`Added remote ${added.name} (${added.url})`);
      }),
    );
  remote
    .command('list')
    .option('--json', 'print JSON')
    .description('remotes and which local version is which remote version')
    .action((_options, command: Command) =>
      withConnection(command, async ({ client }, options) => {
        const remotes = await client.sync.listRemotes.query();
        if (options.json) return printJson(remotes);
        printTable(
          ['name', 'url', 'versions (local → remote)'],
          remotes.map((r) => [
            r.name,
            r.url,
            r.links.map((l) => `${l.model} v${l.localVersion}${l.direction === 'push' ? '→' : '←'}v${l.remoteVersion}`).join(', '),
          ]),
        );
      }),
    );
  remote
    .command('remove')
    .argument('<name>', 'remote name')
    .description('forget a remote and its stored token')
    .action((name: string, _options, command: Command) =>
      withConnection(command, async ({ client }) => {
        await client.sync.removeRemote.mutate({ name });
        printLine(`Removed remote ${name}`);
      }),
    );

  for (const direction of ['push', 'pull'] as const) {
    const command = program
      .command(direction)
      .argument(
        '<ref>',
        direction === 'push' ? 'local MODEL, MODEL@VERSION or MODEL@ALIAS (default: latest)' : 'remote MODEL, MODEL@VERSION or MODEL@ALIAS (default: latest)',
      )
      .requiredOption('--remote <name>', 'remote name (see `trainyard remote list`)')
      .option('--no-wait', 'queue it and return at once')
      .option('--json', 'print JSON');
    if (direction === 'push')
      command.option('--no-dataset', "send the dataset snapshot's manifest only, not its data (the shared server records it as withheld)");
    command
      .description(
        direction === 'push'
          ? "publish a version to a shared server with its dataset snapshot's data (resumable; repeating it creates nothing new)"
          : 'download a version from a shared server with its dataset snapshot when the server holds it, verified (repeating it is a no-op)',
      )
      .action((text: string, _options, command: Command) =>
        withConnection<GlobalOptions & { remote: string; wait: boolean; dataset?: boolean }>(command, async (connection, options) => {
          const { model, ref } = parseModelRef(text, { alias: 'latest' });
          const entry =
            direction === 'push'
              ? await connection.client.sync.push.mutate({ remote: options.remote, model, ref, includeDataset: options.dataset !== false })
              : await connection.client.sync.pull.mutate({ remote: options.remote, model, ref });
          if (!options.wait || entry.state === 'done') {
            if (options.json) printJson(entry);
            else printLine(entry.state === 'done' ? `Already done: ${describe(entry)}` : `Queued ${direction} ${entry.id}`);
            return EXIT.OK;
          }
          return waitForEntry(connection, entry, options);
        }),
      );
  }

  const sync = program.command('sync').description('the outbox of pushes and pulls');
  sync
    .command('status')
    .option('--json', 'print JSON')
    .description('each push and pull with its state and progress')
    .action((_options, command: Command) =>
      withConnection(command, async ({ client }, options) => {
        const entries = await client.sync.status.query({ limit: 50 });
        if (options.json) return printJson(entries);
        printTable(
          ['id', 'what', 'state', 'progress', 'attempts', 'error', 'updated'],
          entries.map((e) => [
            e.id,
            `${e.direction} ${describe(e)}`,
            e.state,
            `${formatBytes(e.bytesDone)} / ${formatBytes(e.bytesTotal)}`,
            e.attempts,
            e.error ?? '',
            formatTime(e.updatedAt),
          ]),
        );
      }),
    );
  sync
    .command('retry')
    .argument('<id>', 'outbox entry id')
    .description('retry a failed or cancelled entry now')
    .action((id: string, _options, command: Command) =>
      withConnection(command, async ({ client }) => {
        const entry = await client.sync.retry.mutate({ id });
        printLine(`Entry ${entry.id} is ${entry.state}`);
      }),
    );
};

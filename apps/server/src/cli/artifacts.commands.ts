import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { TrainyardOutputs } from '@trainyard/client';
import { LIMITS, type ListArtifactsInput } from '@trainyard/contracts';
import type { Command } from 'commander';
import { CliError, httpError } from './cli-error';
import type { Connection, GlobalOptions } from './connection';
import { EXIT } from './exit-codes';
import { parseModelRef } from './model-ref';
import { formatBytes, formatTime, printJson, printLine, printTable } from './output';
import { withConnection } from './run-action';

type Artifact = TrainyardOutputs['artifacts']['list']['items'][number];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * A file name made from a name the server sent: its last path segment only, every character
 * outside `A-Z a-z 0-9 . _ -` replaced, no leading dot (no hidden files, no `.`/`..`), bounded.
 * It never climbs out of the directory it is joined to.
 */
export const safeFileName = (name: string, fallback: string): string => {
  const last = basename(name.replaceAll('\\', '/'));
  const cleaned = last
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '')
    .slice(0, 200);
  return cleaned && /[A-Za-z0-9]/.test(cleaned) ? cleaned : fallback;
};

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/** The artifact record for an id or a hash (a hash with no record still downloads: name = the hash). */
const findArtifact = async (
  { client }: Connection,
  idOrHash: string,
): Promise<{ sha256: string; name: string; size: number | undefined; id: string | undefined }> => {
  if (UUID.test(idOrHash)) {
    const artifact = await client.artifacts.get.query({ id: idOrHash.toLowerCase() });
    return { sha256: artifact.sha256, name: artifact.name, size: artifact.size, id: artifact.id };
  }
  if (SHA256.test(idOrHash)) {
    const [artifact] = (await client.artifacts.list.query({ sha256: idOrHash, limit: 1 })).items;
    return { sha256: idOrHash, name: artifact?.name ?? idOrHash, size: artifact?.size, id: artifact?.id };
  }
  throw new CliError(`Give an artifact id (a UUID) or a blob's SHA-256 (64 lowercase hex characters); got "${idOrHash}"`, EXIT.USAGE);
};

/**
 * Streams the blob through SHA-256 into a temp file next to `target`, and gives it the target's
 * name only when the bytes hash to `sha256` (and match the expected size). Any failure removes
 * the temp file: nothing is left behind. Without `force` an existing file is never replaced,
 * even one created while the download ran (link(2) refuses to overwrite).
 */
const verifiedDownload = async (
  connection: Connection,
  sha256: string,
  expectedSize: number | undefined,
  target: string,
  force: boolean,
  signal: AbortSignal,
): Promise<number> => {
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.part`);
  let bytes = 0;
  const hash = createHash('sha256');
  try {
    const response = await connection.fetch(`/blobs/sha256/${sha256}`, { signal });
    if (!response.ok || !response.body) throw await httpError(response, connection.url);
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        hash.update(chunk);
        done(null, chunk);
      },
    });
    // 'wx': a fresh file, never one that is there (or a symlink planted under the temp name).
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), counter, createWriteStream(temp, { flags: 'wx', mode: 0o644 }));
    const written = await open(temp, 'r');
    await written.sync().finally(() => written.close());
    const actual = hash.digest('hex');
    if (actual !== sha256 || (expectedSize !== undefined && bytes !== expectedSize)) {
      throw new CliError(
        `The downloaded bytes do not match the artifact (expected sha256 ${sha256}${expectedSize === undefined ? '' : `, ${expectedSize} bytes`}; got ${actual}, ${bytes} bytes). Nothing was written.`,
        EXIT.CONFLICT,
      );
    }
    if (force) await rename(temp, target);
    else {
      await link(temp, target).catch((error: NodeJS.ErrnoException) => {
        throw error.code === 'EEXIST' ? new CliError(`${target} already exists; pass --force to replace it`, EXIT.CONFLICT) : error;
      });
      await unlink(temp);
    }
    return bytes;
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    if (error instanceof CliError) throw error;
    if (signal.aborted) throw new CliError(`Download interrupted after ${formatBytes(bytes)}; nothing was written.`, EXIT.INTERRUPTED);
    // The server cuts a corrupt blob's response short: the stream fails before the hash can be checked.
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(
      `The download of ${sha256} broke off after ${formatBytes(bytes)} (${reason}): the connection was lost, or the server found its stored bytes no longer match the hash. Nothing was written.`,
      EXIT.FAILURE,
    );
  }
};

/** Up to `limit` artifacts matching `filters`, newest first, following the API's pages of 200. */
const artifactsUpTo = async (connection: Connection, filters: Omit<ListArtifactsInput, 'limit' | 'cursor'>, limit: number): Promise<Artifact[]> => {
  const items: Artifact[] = [];
  let cursor: string | undefined;
  do {
    const page = await connection.client.artifacts.list.query({
      ...filters,
      limit: Math.min(LIMITS.pageSize, limit - items.length),
      ...(cursor ? { cursor } : {}),
    });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && items.length < limit);
  return items;
};

const listArtifacts = async (
  connection: Connection,
  options: { model?: string; job?: string; type?: Artifact['type']; limit: number },
): Promise<Array<Artifact & { version?: number }>> => {
  const { client } = connection;
  if (!Number.isInteger(options.limit) || options.limit < 1) throw new CliError(`--limit takes a whole number of 1 or more; got ${options.limit}`, EXIT.USAGE);
  const filters = { ...(options.job ? { trainingJobId: options.job } : {}), ...(options.type ? { type: options.type } : {}) };
  if (!options.model) return artifactsUpTo(connection, filters, options.limit);
  const { model, ref } = parseModelRef(options.model);
  const versions = options.model.includes('@')
    ? [await client.models.getVersion.query({ model, ref })]
    : (await client.models.listVersions.query({ model, limit: 200 })).items;
  const pages = await Promise.all(
    versions.map(async (version) => ({
      version: version.version,
      items: await artifactsUpTo(connection, { ...filters, modelVersionId: version.id }, options.limit),
    })),
  );
  return pages.flatMap((page) => page.items.map((item) => ({ ...item, version: page.version })));
};

export const registerArtifactCommands = (program: Command): void => {
  const artifacts = program.command('artifacts').description('model files and checkpoints: list them, download one (hash-verified)');
  artifacts
    .command('list')
    .option('--model <ref>', 'artifacts of this model: NAME (every version), NAME@VERSION or NAME@ALIAS')
    .option('--job <id>', 'artifacts a training job produced')
    .option('--type <type>', 'model, checkpoint, metadata, tokenizer, config, dataset or logs')
    .option('--limit <n>', 'how many (per version with --model)', (value: string) => Number(value), 100)
    .option('--json', 'print JSON')
    .description('list artifacts (newest first): id, name, type, size, SHA-256')
    .action((_options, command: Command) =>
      withConnection<GlobalOptions & { model?: string; job?: string; type?: Artifact['type']; limit: number }>(command, async (connection, options) => {
        if (options.job && !UUID.test(options.job)) throw new CliError(`--job takes a job id (a UUID); got "${options.job}"`, EXIT.USAGE);
        const items = await listArtifacts(connection, options);
        if (options.json) return printJson({ items });
        if (items.length === 0) return printLine('No artifacts.');
        const withVersion = options.model !== undefined;
        printTable(
          [...(withVersion ? ['version'] : []), 'id', 'name', 'type', 'size', 'sha256', 'created'],
          items.map((item) => [
            ...(withVersion ? [`v${item.version}`] : []),
            item.id,
            item.name,
            item.type,
            formatBytes(item.size),
            item.sha256,
            formatTime(item.createdAt),
          ]),
        );
      }),
    );
  artifacts
    .command('get')
    .argument('<artifact>', "an artifact id, or a blob's SHA-256")
    .option('-o, --output <file>', "where to write it (a directory: the artifact's name inside it; default: the artifact's name here)")
    .option('--force', 'replace the file if it exists')
    .option('--json', 'print JSON')
    .description('download an artifact to a file; the bytes are checked against its SHA-256 before the file appears')
    .action((idOrHash: string, _options, command: Command) =>
      withConnection<GlobalOptions & { output?: string; force?: boolean }>(command, async (connection, options) => {
        const artifact = await findArtifact(connection, idOrHash.trim());
        const defaultName = safeFileName(artifact.name, artifact.sha256);
        const requested = options.output ? resolve(options.output) : resolve(defaultName);
        const target =
          options.output &&
          (await stat(requested).then(
            (s) => s.isDirectory(),
            () => false,
          ))
            ? join(requested, defaultName)
            : requested;
        if (!options.force && (await exists(target))) throw new CliError(`${target} already exists; pass --force to replace it`, EXIT.CONFLICT);
        if (
          !(await stat(dirname(target)).then(
            (s) => s.isDirectory(),
            () => false,
          ))
        )
          throw new CliError(`No such directory: ${dirname(target)}`, EXIT.USAGE);
        const controller = new AbortController();
        const onInterrupt = (): void => controller.abort();
        process.once('SIGINT', onInterrupt);
        try {
          const bytes = await verifiedDownload(connection, artifact.sha256, artifact.size, target, options.force === true, controller.signal);
          if (options.json) return printJson({ id: artifact.id ?? null, name: artifact.name, sha256: artifact.sha256, size: bytes, path: target });
          printLine(`Saved ${artifact.name} to ${target} (${formatBytes(bytes)}, sha256 ${artifact.sha256} verified)`);
        } finally {
          process.off('SIGINT', onInterrupt);
        }
      }),
    );
};

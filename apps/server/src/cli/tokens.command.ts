import { createApiTokenService } from '@trainyard/auth';
import { TOKEN_SCOPES, type TokenScope } from '@trainyard/contracts';
import { openDatabase } from '@trainyard/db';
import type { Command } from 'commander';
import { EXIT } from './exit-codes';
import { formatTime, printJson, printLine, printTable } from './output';
import { ConfigError, loadConfig } from '../config';
import { exitWithError } from './exit-with-error';

/**
 * API tokens are managed on the shared server's own machine, straight in its database
 * (DATABASE_URL): no API can mint tokens, so a leaked token cannot make more.
 */
const withTokenService = async (run: (tokens: ReturnType<typeof createApiTokenService>) => Promise<void>): Promise<void> => {
  try {
    const config = loadConfig();
    if (config.database.kind !== 'postgresql') {
      throw new ConfigError(
        'API tokens belong to a shared server: set DATABASE_URL to its PostgreSQL database. The local server uses its session token instead.',
      );
    }
    const database = await openDatabase(config.database);
    try {
      await database.migrate();
      await run(createApiTokenService(database));
    } finally {
      await database.close();
    }
  } catch (error) {
    exitWithError(error, error instanceof ConfigError ? EXIT.USAGE : EXIT.FAILURE);
  }
};

export const registerTokenCommands = (program: Command): void => {
  const tokens = program.command('tokens').description('API tokens of a shared server (run on the server, with its DATABASE_URL)');
  tokens
    .command('create')
    .requiredOption('--name <name>', 'who or what the token is for')
    .requiredOption('--scope <scope>', 'read (pull), write (push), train (create and control training jobs) or admin')
    .option('--json', 'print JSON')
    .description('create a token; it is shown once and stored only as a hash')
    .action((options: { name: string; scope: string; json?: boolean }) =>
      withTokenService(async (service) => {
        if (!(TOKEN_SCOPES as readonly string[]).includes(options.scope))
          throw new ConfigError(`--scope must be one of ${TOKEN_SCOPES.join(', ')}; got ${options.scope}`);
        const { token, record } = await service.create(options.name, options.scope as TokenScope);
        if (options.json) return printJson({ token, ...record });
        printLine(`Created ${record.scope} token "${record.name}" (${record.id}). It is shown only now:\n${token}`);
      }),
    );
  tokens
    .command('list')
    .option('--json', 'print JSON')
    .description('tokens with scope, last use and revocation')
    .action((options: { json?: boolean }) =>
      withTokenService(async (service) => {
        const rows = await service.list();
        if (options.json) return printJson(rows);
        printTable(
          ['id', 'name', 'scope', 'prefix', 'created', 'last used', 'revoked'],
          rows.map((r) => [r.id, r.name, r.scope, `${r.prefix}…`, formatTime(r.createdAt), formatTime(r.lastUsedAt), formatTime(r.revokedAt)]),
        );
      }),
    );
  tokens
    .command('revoke')
    .argument('<token>', 'id, name or prefix')
    .description('revoke a token; requests with it fail with 401 from now on')
    .action((which: string) =>
      withTokenService(async (service) => {
        const revoked = await service.revoke(which);
        printLine(`Revoked token "${revoked.name}" (${revoked.id})`);
      }),
    );
};

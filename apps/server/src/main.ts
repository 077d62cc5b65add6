#!/usr/bin/env node
import { Command } from 'commander';
import { runMigrateCommand } from './commands/migrate.command';
import { runServeCommand } from './commands/serve.command';
import { runStatusCommand } from './commands/status.command';
import { TRAINYARD_VERSION } from './version';

const program = new Command()
  .name('trainyard')
  .description('Local-first training infrastructure for text models')
  .version(TRAINYARD_VERSION)
  .showHelpAfterError();

program.command('serve').description('start the server (what `npm start` runs)').action(runServeCommand);
program.command('migrate').description('apply pending database migrations and exit').action(runMigrateCommand);
program
  .command('status')
  .description('show whether the local server is running and healthy')
  .option('--json', 'print JSON')
  .action(runStatusCommand);

await program.parseAsync(process.argv);

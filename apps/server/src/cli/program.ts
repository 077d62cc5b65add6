import { Command } from 'commander';
import { runMigrateCommand } from './migrate.command';
import { runServeCommand } from './serve.command';
import { runStatusCommand } from './status.command';
import { runUiCommand } from './ui.command';
import { registerSessionCommands } from './session.command';
import { registerTokenCommands } from './tokens.command';
import { TRAINYARD_VERSION } from '../version';
import { registerArtifactCommands } from './artifacts.commands';
import { registerBackupCommands } from './backup.commands';
import { registerDataCommands } from './data.commands';
import { registerDatasetCommands } from './datasets.commands';
import { EXIT } from './exit-codes';
import { registerJobCommands } from './jobs.commands';
import { registerSweepCommands } from './sweeps.commands';
import { registerModelCommands } from './models.commands';
import { registerScoreCommand } from './score.command';
import { registerSyncCommands } from './sync.commands';
import { registerReproduceCommand } from './reproduce.command';

/** The `trainyard` command line: server commands plus a client for every capability. */
export const createProgram = (): Command => {
  const program = new Command()
    .name('trainyard')
    .description('Local-first training infrastructure for text models')
    .version(TRAINYARD_VERSION)
    .option('--url <url>', 'server to talk to (default: the local server in the data dir; env TRAINYARD_URL)')
    .option('--token <token>', 'bearer token (env TRAINYARD_TOKEN; default: from session.json)')
    .option('--data-dir <dir>', 'local data dir holding session.json (env TRAINYARD_DATA_DIR; default ./.trainyard)')
    .option('--debug', 'show stack traces of unexpected errors')
    .showHelpAfterError()
    .exitOverride((error) => {
      // Usage mistakes exit 2; help and version exit 0.
      process.exit(error.exitCode === 0 ? EXIT.OK : EXIT.USAGE);
    });

  program.command('serve').description('start the server (what `npm start` runs)').action(runServeCommand);
  program.command('migrate').description('apply pending database migrations and exit').action(runMigrateCommand);
  program.command('status').description('show whether the local server is running and healthy').option('--json', 'print JSON').action(runStatusCommand);
  program.command('ui').description("print the web UI's address and the session token to sign in with").action(runUiCommand);
  registerDataCommands(program);
  registerDatasetCommands(program);
  registerJobCommands(program);
  registerSweepCommands(program);
  registerModelCommands(program);
  registerArtifactCommands(program);
  registerScoreCommand(program);
  registerSyncCommands(program);
  registerReproduceCommand(program);
  registerTokenCommands(program);
  registerSessionCommands(program);
  registerBackupCommands(program);
  return program;
};

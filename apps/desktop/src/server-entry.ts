import module from 'node:module';
import { pathToFileURL } from 'node:url';
import { SERVER_MAIN_SWITCH } from './server-launch';

// The server's bootstrap inside its utility process (also runs under plain Node, as in the
// process test): the server is built JavaScript (apps/server/dist, no tsx), so it only switches
// source maps on — before the bundle loads, so stack traces name the TypeScript lines — and runs
// the server's entry point with a Node-shaped argv.

/** [entry, ...arguments] after the marker, whatever Electron puts before it in process.argv. */
export const serverArgv = (argv: readonly string[]): string[] => {
  const at = argv.indexOf(SERVER_MAIN_SWITCH);
  const rest = at === -1 ? [] : argv.slice(at + 1);
  if (rest.length === 0) throw new Error(`server-entry: expected ${SERVER_MAIN_SWITCH} <entry> [args…]`);
  return rest;
};

const run = async (): Promise<void> => {
  const [entry = '', ...args] = serverArgv(process.argv);
  process.argv = [process.execPath, entry, ...args];
  process.setSourceMapsEnabled(true);
  // V8's compiled code of the bundle and its packages kept on disk (Node ≥ 22.1; Electron 45 bundles Node 24): later starts skip compiling them.
  (module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  await import(pathToFileURL(entry).href);
};

if (process.argv.includes(SERVER_MAIN_SWITCH)) {
  run().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

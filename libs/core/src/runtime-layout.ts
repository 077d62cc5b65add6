import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Where this installation's files are, and how its own entry points are started, whether the
 * code runs from its TypeScript sources (tests, `npm run dev`) or from the server's build
 * (apps/server/dist: `npm start`, the CLI, the desktop app). The one place that tells the two
 * apart; everything else asks it rather than resolving paths against its own `import.meta.url`,
 * which in the build is the bundle's.
 */
export interface RuntimeLayout {
  /** Running the server's build (JavaScript in apps/server/dist), not sources through tsx. */
  built: boolean;
  /** The installation's root: the repository, or the desktop app's copy of it (resources/app). */
  root: string;
}

/** One of the server's entry points: a process or thread of its own. */
export interface ServerEntry {
  /** What runs from sources, from the root: TypeScript through tsx's loader, or a .mjs that registers tsx itself. */
  source: string;
  /** The TypeScript module the server build compiles it from (apps/server/vite.config.ts)… */
  module: string;
  /** …into this file of apps/server/dist. */
  built: string;
}

/** The server build's output directory, from the root. */
export const SERVER_BUILD_DIR = join('apps', 'server', 'dist');

/** Every entry point the server build produces. */
export const serverEntries = {
  /** The server and the CLI (`trainyard …`, `npm start` = `serve`). */
  main: { source: 'apps/server/src/main.ts', module: 'apps/server/src/main.ts', built: 'main.js' },
  /** The import worker thread (libs/datasets); from sources its .mjs registers tsx in the thread. */
  importWorker: {
    source: 'libs/datasets/src/pair-preparation.thread.mjs',
    module: 'libs/datasets/src/pair-preparation.thread.ts',
    built: 'import-worker.js',
  },
  /** The built-in text-detector trainer (libs/trainers), a child process of its own. */
  textDetectorTrainer: {
    source: 'libs/trainers/src/text-detector/main.ts',
    module: 'libs/trainers/src/text-detector/main.ts',
    built: 'text-detector-trainer.js',
  },
} as const satisfies Record<string, ServerEntry>;

// This module is either libs/core/src/runtime-layout.ts or bundled into a file directly in
// apps/server/dist (the build puts every chunk there): three levels below the root either way.
const here = fileURLToPath(import.meta.url);

/** This process's layout. */
export const runtimeLayout: RuntimeLayout = { built: !here.endsWith('.ts'), root: join(dirname(here), '..', '..', '..') };

/** The built layout of an installation at `root` (the desktop app starts the built server). */
export const builtLayout = (root: string): RuntimeLayout => ({ built: true, root });

/** A path inside the installation (the same in sources and build: migrations, the web UI's build, package.json…). */
export const installPath = (...segments: string[]): string => join(runtimeLayout.root, ...segments);

/** The file that runs `entry`: its build output, or its source. */
export const entryFile = (entry: ServerEntry, layout: RuntimeLayout = runtimeLayout): string =>
  layout.built ? join(layout.root, SERVER_BUILD_DIR, entry.built) : join(layout.root, entry.source);

// Resolved only from sources: the build needs no tsx (a packaged app may not have it).
const tsxLoader = (root: string): string => pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href;

/**
 * Node arguments that start `entry` as a process of its own: the built file with source maps on
 * (stack traces name the TypeScript lines), or the TypeScript source through tsx's loader — by
 * absolute URL, since such a process may run in another directory (a trainer in its job directory).
 */
export const entryNodeArgs = (entry: ServerEntry, layout: RuntimeLayout = runtimeLayout): string[] => {
  const file = entryFile(entry, layout);
  if (layout.built) return ['--enable-source-maps', file];
  return file.endsWith('.ts') ? ['--import', tsxLoader(layout.root), file] : [file];
};

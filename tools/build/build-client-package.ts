/**
 * Builds `@trainyard/client` as a package another project can install (`npm run build:client`):
 *
 *   libs/client/dist/index.js    ESM, the client's own code only; @trpc/client, superjson and
 *                                eventsource stay imports (the package's dependencies)
 *   libs/client/dist/index.d.ts  one self-contained declaration file: the server's router type
 *                                and every type it names are inlined, so nothing refers to
 *                                `@trainyard/*` or the monorepo's path aliases
 *
 * The declarations are built in two steps: tsc emits declarations for the client and everything
 * its types reach (the API's routers, contracts, …) into a temp dir, then rollup-plugin-dts
 * inlines what the client's exports use into one file. Between the two, the API's request context (`ApiContext`: the
 * server's services, database, blob store) is replaced by an empty interface: it is part of the
 * router's type but no client call uses it, and its types (Prisma, PGlite, S3) are server-side.
 * The result is checked: it may import only the packages the client depends on.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { rollup } from 'rollup';
import { dts } from 'rollup-plugin-dts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const clientDir = join(repoRoot, 'libs/client');
const distDir = join(clientDir, 'dist');
const entry = join(clientDir, 'src/index.ts');

/** What the package may import at run time and in its types: its package.json dependencies. */
const clientPackage = JSON.parse(readFileSync(join(clientDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const allowedImports = new Set(Object.keys(clientPackage.dependencies));

const importedModules = (code: string): string[] =>
  [
    ...code.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\/\/\/\s*<reference\s+types="([^"]+)"/gm),
  ].map((match) => match[1] ?? match[2] ?? match[3] ?? '');

const started = Date.now();
const log = (step: string): void => void process.stdout.write(`${step} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);

const packageOf = (specifier: string): string =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? specifier);

const checkImports = (file: string, allowed: (specifier: string) => boolean): void => {
  const wrong = importedModules(readFileSync(file, 'utf8')).filter((specifier) => !allowed(specifier));
  if (wrong.length > 0) throw new Error(`${relative(repoRoot, file)} imports what the package does not provide: ${[...new Set(wrong)].join(', ')}`);
};

const buildJavaScript = async (): Promise<void> => {
  await build({
    entryPoints: [entry],
    outfile: join(distDir, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    // Only bare package names are external; @trainyard/* imports are types only and vanish, but
    // for the wire transformer (`@trainyard/contracts/wire-transformer`), which is bundled in.
    external: [...allowedImports],
    sourcemap: true,
    sourcesContent: true,
    logLevel: 'warning',
  });
  checkImports(join(distDir, 'index.js'), (specifier) => allowedImports.has(packageOf(specifier)));
};

const CONTEXT_STUB = `/** The server's request context. Server-side only: no client call uses it, so the published types leave it empty. */
export interface ApiContext {}
export interface ApiServices {}
export interface Logger {}
export interface Principal {}
`;

const buildDeclarations = async (): Promise<void> => {
  // Inside the repo (tmp/ is ignored) so the emitted files resolve packages from its node_modules.
  mkdirSync(join(repoRoot, 'tmp'), { recursive: true });
  const work = mkdtempSync(join(repoRoot, 'tmp', 'client-dts-'));
  try {
    const outDir = join(work, 'out');
    const base = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.base.json'), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } };
    const emitConfig = join(work, 'tsconfig.emit.json');
    writeFileSync(
      emitConfig,
      JSON.stringify({
        extends: join(repoRoot, 'tsconfig.base.json'),
        compilerOptions: {
          baseUrl: repoRoot,
          noEmit: false,
          declaration: true,
          emitDeclarationOnly: true,
          outDir,
          rootDir: repoRoot,
        },
        files: [entry],
      }),
    );
    execFileSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', emitConfig], { cwd: repoRoot, stdio: 'inherit' });
    log('declarations emitted');
    writeFileSync(join(outDir, 'libs/api/src/context.d.ts'), CONTEXT_STUB);

    // `@trainyard/*` resolve to the emitted declarations; the client's dependencies stay imports.
    const paths = Object.fromEntries(
      Object.entries(base.compilerOptions.paths).map(([name, [target]]) => [name, [join(outDir, (target ?? '').replace(/\.ts$/, '.d.ts'))]]),
    );
    const bundle = await rollup({
      input: join(outDir, 'libs/client/src/index.d.ts'),
      // Prisma's JsonValue (a few lines) is what some outputs are typed with: inlined.
      plugins: [dts({ compilerOptions: { baseUrl: outDir, paths }, includeExternal: ['@prisma/client'] })],
      external: (id) => allowedImports.has(packageOf(id)),
      // Server-side modules (node:stream, S3, …) are reached but tree-shaken away; checked below.
      onwarn: () => undefined,
    });
    const { output } = await bundle.generate({ format: 'es' });
    await bundle.close();
    log('declarations bundled');
    const [chunk] = output;
    if (!chunk || chunk.type !== 'chunk') throw new Error('rollup-plugin-dts produced nothing');
    writeFileSync(
      join(distDir, 'index.d.ts'),
      `// @trainyard/client: types generated from the Trainyard server's router (npm run build:client).\n${chunk.code}`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  checkImports(join(distDir, 'index.d.ts'), (specifier) => allowedImports.has(packageOf(specifier)));
};

rmSync(distDir, { recursive: true, force: true });
mkdirSync(distDir, { recursive: true });
await buildJavaScript();
log('index.js built');
await buildDeclarations();
process.stdout.write(`built ${relative(process.cwd(), resolve(distDir))}: index.js, index.d.ts\n`);

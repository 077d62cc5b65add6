import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// electron-builder's own YAML reader (js-yaml, a dependency of app-builder-lib).
const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

interface ExtraResource {
  from: string;
  to: string;
  filter: string[];
}
interface BuilderConfig {
  asar?: boolean;
  files?: string[];
  electronFuses?: Record<string, boolean>;
  extraResources?: ExtraResource[];
  linux?: { extraResources?: ExtraResource[] };
  mac?: { extraResources?: ExtraResource[] };
  win?: { extraResources?: ExtraResource[] };
}
const config = yaml.load(readFileSync('apps/desktop/electron-builder.yml', 'utf8')) as BuilderConfig;

describe('desktop packaging (apps/desktop/electron-builder.yml)', () => {
  it('flips the fuses: no ELECTRON_RUN_AS_NODE, NODE_OPTIONS or --inspect; the app only from an integrity-checked asar; encrypted cookies', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      enableCookieEncryption: true,
      grantFileProtocolExtraPrivileges: false,
    });
    expect(config.asar).toBe(true);
  });

  it('packages the built app only: dist and its package.json, no sources, tests or source maps', () => {
    expect(config.files).toEqual(['!**/*', 'dist/**', 'package.json', '!**/*.map']);
    for (const pattern of config.files ?? []) {
      if (pattern.startsWith('!')) continue;
      expect(pattern).not.toMatch(/(^|\/)src(\/|$)|\.ts$|test|node_modules/);
    }
  });

  it('copies the built server, not its sources: no TypeScript, no tsx', () => {
    const [server] = config.extraResources ?? [];
    const filter = server?.filter ?? [];
    const inclusions = filter.filter((pattern) => !pattern.startsWith('!'));
    expect(inclusions).toContain('apps/server/dist/**');
    expect(inclusions.filter((pattern) => /(^|\/)src(\/|$)|\.ts$|tsconfig/.test(pattern))).toEqual([]);
    // The built server runs without tsx (and its esbuild); its own source maps ship, node_modules' do not.
    for (const exclusion of ['!node_modules/tsx/**', '!node_modules/esbuild/**', '!node_modules/@esbuild/**', '!node_modules/**/*.map']) {
      expect(filter).toContain(exclusion);
    }
    expect(filter).not.toContain('!**/*.map');
  });

  it('copies the server without tests, test support or development-only packages', () => {
    const [server] = config.extraResources ?? [];
    const filter = server?.filter ?? [];
    for (const exclusion of [
      '!**/*.test.ts',
      '!**/test-support/**',
      '!**/test-fixtures/**',
      '!node_modules/electron/**',
      '!node_modules/electron-builder/**',
      '!node_modules/vitest/**',
      '!node_modules/eslint/**',
      '!node_modules/nx/**',
      '!node_modules/playwright-core/**',
      '!node_modules/typescript/**',
    ]) {
      expect(filter).toContain(exclusion);
    }
    // Exclusions come after every inclusion (electron-builder applies the patterns in order).
    const firstExclusion = filter.findIndex((pattern) => pattern.startsWith('!'));
    expect(filter.slice(firstExclusion).every((pattern) => pattern.startsWith('!'))).toBe(true);
    // The Python built-in trainer and the SDK it imports, without their tests (libs/*/python/tests, libs/trainer-sdk-python/tests).
    expect(filter).toEqual(
      expect.arrayContaining([
        'libs/trainers/python/train_text_classifier.py',
        'libs/trainers/python/text_classifier/**',
        'libs/trainer-sdk-python/trainyard/**',
      ]),
    );
    expect(filter.filter((pattern) => !pattern.startsWith('!') && /python/.test(pattern) && /tests/.test(pattern))).toEqual([]);
    // Only what runs: no repository-wide globs, no tools/ or apps other than the server and the built UI.
    expect(filter).not.toContain('**/*');
    expect(filter.filter((pattern) => !pattern.startsWith('!') && /^(tools|apps\/(?!server\/|web\/dist\/))/.test(pattern))).toEqual([]);
  });

  it("ships ONNX Runtime's native binary for the target only: each platform adds its own directory, for the arch it builds", () => {
    const [server] = config.extraResources ?? [];
    expect(server?.filter).toContain('!node_modules/onnxruntime-node/bin/**');
    const platforms = { linux: 'linux', mac: 'darwin', win: 'win32' } as const;
    for (const [target, platform] of Object.entries(platforms)) {
      const added = config[target as keyof typeof platforms]?.extraResources ?? [];
      expect(added, target).toEqual([{ from: '../..', to: 'app', filter: [`node_modules/onnxruntime-node/bin/napi-v6/${platform}/\${arch}/**`] }]);
    }
    // The layout those patterns name is the package's (electron-builder expands ${arch} to x64 or arm64).
    for (const dir of ['linux/x64', 'linux/arm64', 'darwin/arm64', 'win32/x64', 'win32/arm64']) {
      expect(
        readdirSync(`node_modules/onnxruntime-node/bin/napi-v6/${dir}`).some((file) => file.endsWith('.node')),
        dir,
      ).toBe(true);
    }
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Why Electron cannot start, if it cannot: its npm package downloads the binary at install time,
 * which ELECTRON_SKIP_BINARY_DOWNLOAD (or no network) skips. Checked by reading the package's
 * files — requiring `electron` would try to download it right there.
 */
export const electronBinaryProblem = (electronPackageDir: string): string | undefined => {
  const pathFile = join(electronPackageDir, 'path.txt');
  const executable = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : '';
  if (executable && existsSync(join(electronPackageDir, 'dist', executable))) return undefined;
  return [
    'The Electron binary is not installed (npm skips it when ELECTRON_SKIP_BINARY_DOWNLOAD is set, or when the download fails).',
    "Download it with:  node node_modules/electron/install.js   (needs access to Electron's releases), then run `npm run desktop` again.",
    'Or use the same UI in a browser: `npm start` prints its address and session token.',
  ].join('\n');
};

// `npm run desktop` runs this first: a missing Electron binary gets instructions, not a stack trace.
import { fileURLToPath } from 'node:url';
import { electronBinaryProblem } from './electron-binary';

const problem = electronBinaryProblem(fileURLToPath(new URL('../../node_modules/electron', import.meta.url)));
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}

import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { basename, isAbsolute, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PYTHON_SDK_DIR } from './trainer-catalog';

const run = promisify(execFile);

/** Whether a command's program would start here: a path (against `cwd`) that is executable, or a name the shell finds on PATH. */
export const programAvailable = async (program: string, cwd?: string): Promise<boolean> => {
  if (program === '') return false;
  if (program.includes('/')) {
    const path = isAbsolute(program) ? program : resolve(cwd ?? '.', program);
    return access(path, constants.X_OK).then(
      () => true,
      () => false,
    );
  }
  // The program's name is an argument, never part of the script.
  return run('sh', ['-c', 'command -v "$1"', 'sh', program], { timeout: 10_000 }).then(
    () => true,
    () => false,
  );
};

// Asks the interpreter the same question the Python SDK answers at the start of every run.
const PROBE =
  'import json, sys\nsys.path.insert(0, sys.argv[1])\nfrom trainyard._environment import package_versions\nprint(json.dumps(package_versions(sys.argv[2:])))';

/**
 * The versions of these packages (and Python's) under `executable`, if it is a Python
 * interpreter (its name starts with `python`) that answers; null otherwise.
 */
export const pythonPackagesOf = async (executable: string, names: readonly string[]): Promise<Record<string, string> | null> => {
  if (!/^python[0-9.]*$/.test(basename(executable))) return null;
  try {
    const { stdout } = await run(executable, ['-c', PROBE, PYTHON_SDK_DIR, ...names.filter((name) => name !== 'python')], { timeout: 30_000 });
    const parsed: unknown = JSON.parse(stdout);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, string>) : null;
  } catch {
    return null;
  }
};

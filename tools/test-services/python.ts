import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's interpreter, for which `python3-torch` and `python3-onnx` install (`apt-get install python3-torch python3-onnx`). */
const DEBIAN_PYTHON = '/usr/bin/python3';

const imports = (python: string, modules: readonly string[]): boolean =>
  spawnSync(python, ['-c', modules.map((module) => `import ${module}`).join('; ')], { stdio: 'ignore', timeout: 60_000 }).status === 0;

/**
 * The Python interpreter tests train PyTorch models with: TRAINYARD_PYTHON when set, else
 * Debian's /usr/bin/python3 (where python3-torch installs; `python3` on PATH may be another one,
 * such as pyenv's), else `python3`. The first that imports torch and onnx wins.
 */
export const torchPython = (): string | undefined => {
  const candidates = [process.env['TRAINYARD_PYTHON'], existsSync(DEBIAN_PYTHON) ? DEBIAN_PYTHON : undefined, 'python3'].filter(
    (candidate): candidate is string => Boolean(candidate),
  );
  return [...new Set(candidates)].find((python) => imports(python, ['torch', 'onnx']));
};

/**
 * Why PyTorch tests cannot run here, or undefined when they can. With REQUIRE_TORCH=1 (CI) a
 * missing PyTorch is a failure, not a skip.
 */
export const torchUnavailableReason = (): string | undefined => {
  if (torchPython()) return undefined;
  const reason = 'no Python interpreter here imports torch and onnx (apt-get install python3-torch python3-onnx; or set TRAINYARD_PYTHON)';
  if (process.env['REQUIRE_TORCH'] === '1') throw new Error(`${reason} (REQUIRE_TORCH=1)`);
  return reason;
};

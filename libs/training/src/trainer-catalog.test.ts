import { delimiter, join } from 'node:path';
import { installPath } from '@trainyard/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTrainerCatalog, PYTHON_SDK_DIR, type PythonBuiltinTrainer } from './trainer-catalog';

const pythonTrainer: PythonBuiltinTrainer = {
  name: 'py',
  description: 'a Python built-in',
  hyperparameters: z.strictObject({}),
  python: { script: '/install/libs/py/train.py', path: ['/install/libs/py'] },
};

describe('trainer catalog launch', () => {
  it('starts a Node built-in with the Node runtime and its arguments', () => {
    const catalog = createTrainerCatalog([], { runtime: { execPath: '/node', args: ['--host'], env: { RUN_AS_NODE: '1' } } });
    expect(catalog.launch('example')).toEqual({
      command: ['/node', '--host', installPath('libs', 'training', 'examples', 'example-trainer.mjs')],
      env: { RUN_AS_NODE: '1' },
    });
  });

  it('starts a Python built-in with the configured interpreter, the SDK then the trainer then the server’s entries on PYTHONPATH', () => {
    expect(PYTHON_SDK_DIR).toBe(join(installPath('libs'), 'trainer-sdk-python'));
    const catalog = createTrainerCatalog([pythonTrainer], {
      runtime: { execPath: '/node', env: { RUN_AS_NODE: '1' } },
      python: { executable: '/opt/venv/bin/python', path: ['/site'] },
    });
    // The Node runtime's variables are the Node runtime's: a Python trainer does not get them.
    expect(catalog.launch('py')).toEqual({
      command: ['/opt/venv/bin/python', '/install/libs/py/train.py'],
      env: { PYTHONPATH: [PYTHON_SDK_DIR, '/install/libs/py', '/site'].join(delimiter) },
    });
    expect(createTrainerCatalog([pythonTrainer]).launch('py').command[0]).toBe('python3');
  });
});

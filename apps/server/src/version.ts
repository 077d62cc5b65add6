import { readFileSync } from 'node:fs';
import { installPath } from '@trainyard/core';

const manifest = JSON.parse(readFileSync(installPath('package.json'), 'utf8')) as { version: string };

export const TRAINYARD_VERSION = manifest.version;

import { darwinProcessControl } from './darwin-process-control';
import { linuxProcessControl } from './linux-process-control';
import type { ProcessControl } from './process-control.port';
import { createWindowsProcessControl } from './windows-process-control';

/**
 * The process handling for a platform: Linux (tested here), macOS and Windows (written against
 * their documented APIs, not run here). Other systems get the Linux one: process groups, and
 * /proc where it is mounted (without it, no process is found by its environment).
 */
export const processControlFor = (platform: NodeJS.Platform): ProcessControl => {
  if (platform === 'darwin') return darwinProcessControl;
  if (platform === 'win32') return createWindowsProcessControl();
  return linuxProcessControl;
};

/** This machine's: the default of the local executor and the orchestrator. */
export const hostProcessControl: ProcessControl = processControlFor(process.platform);

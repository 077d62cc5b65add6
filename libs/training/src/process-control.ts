import { homedir } from 'node:os';
import { darwinProcessControl } from './darwin-process-control';
import { linuxProcessControl } from './linux-process-control';
import type { ProcessControl } from './process-control.port';
import { createWindowsProcessControl, type WindowsProcessControlOptions, windowsProcessControlDefaults } from './windows-process-control';

export interface ProcessControlOptions {
  /** Windows only: where its start records live and where Windows is (defaults: this user's %LOCALAPPDATA%, %SystemRoot%). */
  windows?: WindowsProcessControlOptions;
}

/**
 * Windows's defaults from this process's environment. This lib reads no configuration, but these
 * two are set by Windows itself, not by whoever runs Trainyard, and the hostProcessControl below
 * needs them before any app config exists; so this one place reads process.env (the lint rule
 * keeps process.env to app config modules). A server that wants another records directory
 * passes `windows` to processControlFor.
 */
const hostWindowsDefaults = (): WindowsProcessControlOptions => {
  // eslint-disable-next-line no-restricted-properties -- OS-set locations, see above
  const env = process.env;
  return windowsProcessControlDefaults({ LOCALAPPDATA: env['LOCALAPPDATA'], SystemRoot: env['SystemRoot'] }, homedir());
};

/**
 * The process handling for a platform: Linux (tested here), macOS and Windows (written against
 * their documented APIs, not run here). Other systems get the Linux one: process groups, and
 * /proc where it is mounted (without it, no process is found by its environment).
 */
export const processControlFor = (platform: NodeJS.Platform, options: ProcessControlOptions = {}): ProcessControl => {
  if (platform === 'darwin') return darwinProcessControl;
  if (platform === 'win32') return createWindowsProcessControl(options.windows ?? hostWindowsDefaults());
  return linuxProcessControl;
};

/** This machine's: the default of the local executor and the orchestrator. */
export const hostProcessControl: ProcessControl = processControlFor(process.platform);

import type { Logger } from '@trainyard/core';

/** One JSON line per event on stderr; stdout stays for what the user asked to see. */
export const createStderrLogger = (): Logger => {
  const write = (level: string, fields: Record<string, unknown>, message: string): void => {
    const err = fields['err'];
    const shown = err instanceof Error ? { ...fields, err: { name: err.name, message: err.message, stack: err.stack } } : fields;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, message, ...shown })}\n`);
  };
  return {
    info: (fields, message) => write('info', fields, message),
    error: (fields, message) => write('error', fields, message),
  };
};

import Table from 'cli-table3';

export const printJson = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

export const printLine = (text = ''): void => {
  process.stdout.write(`${text}\n`);
};

/** A plain table for people; `--json` is the format for scripts. */
export const printTable = (head: string[], rows: Array<Array<string | number | null | undefined>>): void => {
  const table = new Table({ head, style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } });
  for (const row of rows) table.push(row.map((cell) => (cell === null || cell === undefined ? '' : String(cell))));
  process.stdout.write(`${table.toString()}\n`);
};

export const formatTime = (value: Date | string | null | undefined): string =>
  value
    ? new Date(value)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '';

export const formatNumber = (value: number | null | undefined, digits = 4): string =>
  value === null || value === undefined ? '' : Number.isInteger(value) ? String(value) : value.toFixed(digits);

export const formatBytes = (bytes: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
};

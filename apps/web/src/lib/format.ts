const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });

export const formatDate = (value: Date | string | null | undefined): string => (value ? dateTime.format(new Date(value)) : '—');

export const formatNumber = (value: number | null | undefined, digits = 4): string =>
  value === null || value === undefined ? '—' : Number.isInteger(value) ? String(value) : value.toPrecision(digits);

export const formatBytes = (bytes: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
};

export const shortId = (id: string): string => id.slice(0, 8);

import superjson from 'superjson';
import { describe, expect, it, vi } from 'vitest';
import { wireTransformer } from './wire-transformer';

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

const plain = {
  string: 'ünïcødé ✓',
  numbers: [0, 1, -1.5, Number.MAX_SAFE_INTEGER, 1e-300],
  flags: [true, false],
  nothing: null,
  nested: { deeper: { list: [{ a: 1 }, [], {}] } },
  empty: '',
};

const notPlain: Record<string, unknown> = {
  'a Date': { at: new Date('2026-12-01T10:00:00Z') },
  'undefined in an object': { gone: undefined },
  'undefined in an array': [1, undefined],
  NaN: { value: Number.NaN },
  Infinity: [Number.POSITIVE_INFINITY],
  '-0': { zero: -0 },
  'a BigInt': { big: 10n ** 30n },
  'a Map': new Map([['k', 1]]),
  'a Set': [new Set([1, 2])],
  'a RegExp': { pattern: /a+b/gi },
  'undefined itself': undefined,
};

describe('wireTransformer: superjson on the wire, its walk skipped for plain JSON', () => {
  it('sends plain JSON exactly as superjson does', () => {
    for (const value of [plain, [plain, { other: [plain.string] }], 'text', 42, true, null, [], {}]) {
      expect(wireTransformer.serialize(value)).toStrictEqual(superjson.serialize(value));
    }
  });

  it.each(Object.entries(notPlain))('sends %s as superjson does, and it comes back as itself', (_name, value) => {
    const sent = wireTransformer.serialize(value);
    expect(sent).toStrictEqual(superjson.serialize(value));
    expect(sent.meta).toBeDefined();
    expect(wireTransformer.deserialize(JSON.parse(JSON.stringify(sent)))).toStrictEqual(value);
  });

  it('leaves what superjson sends as plain JSON anyway (holes, class instances) to superjson', () => {
    for (const value of [[1, , 3], { point: new Point(1, 2) }]) expect(wireTransformer.serialize(value)).toStrictEqual(superjson.serialize(value)); // eslint-disable-line no-sparse-arrays
  });

  it('finds a value superjson must carry however deep in a large answer', () => {
    const records = Array.from({ length: 1_000 }, (_unused, index) => ({ name: `shard-${index}`, size: index, metadata: {} as Record<string, unknown> }));
    (records[999] as { metadata: Record<string, unknown> }).metadata['at'] = new Date(0);
    const back = wireTransformer.deserialize<typeof records>(JSON.parse(JSON.stringify(wireTransformer.serialize(records))));
    expect(back[999]?.metadata['at']).toBeInstanceOf(Date);
    expect(back[0]).toStrictEqual({ name: 'shard-0', size: 0, metadata: {} });
  });

  it('refuses the keys superjson refuses, as superjson does', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const value = JSON.parse(`{"ok": 1, "nested": {"${key}": {"x": 1}}}`) as unknown;
      expect(() => superjson.serialize(value)).toThrow(/prototype pollution/);
      expect(() => wireTransformer.serialize(value)).toThrow(/prototype pollution/);
    }
  });

  it('sends an object referenced twice as two equal copies (plain JSON has no identity)', () => {
    const shared = { a: 1 };
    const sent = wireTransformer.serialize({ left: shared, right: shared });
    expect(sent).toStrictEqual({ json: { left: { a: 1 }, right: { a: 1 } } });
    expect(wireTransformer.deserialize(JSON.parse(JSON.stringify(sent)))).toStrictEqual({ left: { a: 1 }, right: { a: 1 } });
  });

  it('does not walk a plain answer with superjson at all', () => {
    const walk = vi.spyOn(superjson, 'serialize');
    try {
      wireTransformer.serialize(plain);
      expect(walk).not.toHaveBeenCalled();
      wireTransformer.serialize({ at: new Date(0) });
      expect(walk).toHaveBeenCalledTimes(1);
    } finally {
      walk.mockRestore();
    }
  });

  it('leaves a value that refers to itself to superjson', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    expect(wireTransformer.serialize(cyclic)).toStrictEqual(superjson.serialize(cyclic));
  });

  it('leaves values nested deeper than it looks to superjson', () => {
    let deep: unknown = { leaf: true };
    for (let level = 0; level < 100; level++) deep = { level, child: deep };
    expect(wireTransformer.serialize(deep)).toStrictEqual(superjson.serialize(deep));
  });
});

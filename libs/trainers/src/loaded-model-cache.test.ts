import { describe, expect, it } from 'vitest';
import { createLoadedModelCache, type LoadedModel } from './loaded-model-cache';

/** A model of `bytes` that records its loads and releases. */
const models = () => {
  const loads: string[] = [];
  const released: string[] = [];
  const model = (name: string, bytes: number) => async (): Promise<LoadedModel & { name: string }> => {
    loads.push(name);
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { name, bytes, release: async () => void released.push(name) };
  };
  return { loads, released, model };
};

describe('loaded-model cache', () => {
  it('loads a model once for concurrent requests, then serves it from memory', async () => {
    const cache = createLoadedModelCache<LoadedModel & { name?: string }>(100);
    const { loads, model } = models();
    const names = await Promise.all([1, 2, 3].map(() => cache.with('a', model('a', 10), async (m) => m.name)));
    await cache.with('a', model('a', 10), async (m) => m.name);
    expect(names).toEqual(['a', 'a', 'a']);
    expect(loads).toEqual(['a']);
    expect(cache.stats()).toEqual({ bytes: 10, models: 1 });
  });

  it('stays within its bytes: the least recently used model is released first', async () => {
    const cache = createLoadedModelCache<LoadedModel & { name?: string }>(100);
    const { loads, released, model } = models();
    await cache.with('a', model('a', 40), async () => undefined);
    await cache.with('b', model('b', 40), async () => undefined);
    await cache.with('a', model('a', 40), async () => undefined); // a is now the most recent
    await cache.with('c', model('c', 40), async () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(released).toEqual(['b']);
    expect(cache.stats()).toEqual({ bytes: 80, models: 2 });
    await cache.with('b', model('b', 40), async () => undefined);
    expect(loads).toEqual(['a', 'b', 'c', 'b']);
  });

  it('never releases a model under a running request; a model larger than the bound is released after its request', async () => {
    const cache = createLoadedModelCache<LoadedModel & { name?: string }>(100);
    const { released, model } = models();
    let finish!: () => void;
    const running = cache.with('a', model('a', 60), () => new Promise<void>((resolve) => (finish = resolve)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await cache.with('b', model('b', 60), async () => undefined); // evicts a, which is still in use
    expect(released).toEqual([]);
    finish();
    await running;
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(released).toEqual(['a']);
    await cache.with('huge', model('huge', 500), async (m) => expect(m.name).toBe('huge'));
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(released).toEqual(['a', 'huge']);
    expect(cache.stats()).toEqual({ bytes: 60, models: 1 });
  });

  it('does not keep a failed load: the next request loads again', async () => {
    const cache = createLoadedModelCache<LoadedModel & { name?: string }>(100);
    let attempts = 0;
    const flaky = async (): Promise<LoadedModel> => {
      attempts += 1;
      if (attempts === 1) throw new Error('broken model');
      return { bytes: 1, release: async () => undefined };
    };
    await expect(cache.with('a', flaky, async () => 'scored')).rejects.toThrow('broken model');
    await expect(cache.with('a', flaky, async () => 'scored')).resolves.toBe('scored');
    expect(attempts).toBe(2);
  });
});

import { describe, expect, it } from 'vitest';
import { nullNonFiniteTokens, parseEventLine } from './trainer-events';

describe('trainer event lines', () => {
  it('parses every event type', () => {
    expect(parseEventLine('{"type":"progress","fraction":0.5}')).toMatchObject({ ok: true, event: { type: 'progress', fraction: 0.5 } });
    expect(parseEventLine('{"type":"metric","name":"loss","step":3,"value":0.2}')).toMatchObject({ ok: true });
    expect(parseEventLine('{"type":"metrics","points":[["loss",1,0.5],["acc",1,0.9]]}')).toMatchObject({ ok: true });
    expect(parseEventLine('{"type":"checkpoint","path":"checkpoints/epoch-1.json","step":1}')).toMatchObject({ ok: true });
    expect(parseEventLine('{"type":"log","message":"hello"}')).toMatchObject({ ok: true, event: { level: 'info' } });
  });

  it('reports garbage without throwing', () => {
    expect(parseEventLine('garbage')).toMatchObject({ ok: false, error: expect.stringMatching(/^not JSON/) });
    expect(parseEventLine('{"type":"metric","name":"loss","step":1,"value":"NaN"}')).toMatchObject({ ok: false, error: expect.stringMatching(/value/) });
    expect(parseEventLine('{"type":"explode"}')).toMatchObject({ ok: false });
    expect(parseEventLine('{"type":"progress","fraction":2}')).toMatchObject({ ok: false });
    expect(parseEventLine('{"type":"metrics","points":[["loss",1,0.5],["acc","x",0.9]]}')).toMatchObject({
      ok: false,
      error: 'points.1: must be [name, finite step, finite value]',
    });
    expect(parseEventLine('{"type":"metrics","points":[["",1,0.5]]}')).toMatchObject({ ok: false });
    expect(parseEventLine('{"type":"metrics","points":{}}')).toMatchObject({ ok: false });
  });

  it('reads bare NaN/Infinity (Python json.dumps) as null outside strings: metric points counted and left out', () => {
    expect(nullNonFiniteTokens('{"message":"NaN \\" Infinity","value":NaN,"b":[-Infinity,Infinity]}')).toBe(
      '{"message":"NaN \\" Infinity","value":null,"b":[null,null]}',
    );
    expect(nullNonFiniteTokens('{"type":"log","message":"NaN"}')).toBeUndefined();
    expect(parseEventLine('{"type": "metric", "name": "loss", "step": 1, "value": NaN}')).toEqual({ ok: true, event: null, nonFinite: 1 });
    expect(parseEventLine('{"type":"metric","name":"loss","step":1,"value":null}')).toEqual({ ok: true, event: null, nonFinite: 1 });
    expect(parseEventLine('{"type":"metrics","points":[["a",1,0.5],["a",2,Infinity],["a",3,-Infinity]]}')).toEqual({
      ok: true,
      event: { type: 'metrics', points: [['a', 1, 0.5]] },
      nonFinite: 2,
    });
    expect(parseEventLine('{"type":"metrics","points":[["a",1,NaN]]}')).toEqual({ ok: true, event: null, nonFinite: 1 });
    expect(parseEventLine('{"type":"metric","name":"__proto__","step":1,"value":NaN}')).toMatchObject({ ok: false });
    expect(parseEventLine('{"type":"progress","fraction":NaN}')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^NaN\/Infinity \(not JSON\) read as null; fraction/),
    });
    expect(parseEventLine('{"type":"log","message":"NaN", oops}')).toMatchObject({ ok: false, error: expect.stringMatching(/^not JSON/) });
  });
});

import { describe, expect, it } from 'vitest';
import { parseEventLine } from './trainer-events';

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
    expect(parseEventLine('{"type":"metrics","points":[["loss",1,0.5],["acc","x",0.9]]}')).toMatchObject({ ok: false, error: 'points.1: must be [name, finite step, finite value]' });
    expect(parseEventLine('{"type":"metrics","points":[["",1,0.5]]}')).toMatchObject({ ok: false });
    expect(parseEventLine('{"type":"metrics","points":{}}')).toMatchObject({ ok: false });
  });
});

import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../src/config/settings.js';
import { createLogger } from '../../src/log.js';
import { adaptiveWindows } from '../../src/sync/window-source.js';
import { runEnd } from '../../src/sync/sync.js';

const NOW = DateTime.fromISO('2026-03-11T02:00:00Z', { zone: 'utc' });
const settings = (extra: object = {}) =>
  parseSettings({ api_token: 'test-token', start_date: '2026-01-01', ...extra }, { now: NOW, log: createLogger({ write: () => undefined }) });
const utc = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });

/** Every window of `[from, to)` when each window holds `records`. */
async function plan(from: string, to: string, extra: object = {}, records = 100): Promise<string[]> {
  const source = adaptiveWindows(utc(to), settings(extra));
  const out: string[] = [];
  for (let w = await source.next(utc(from)); w !== undefined; w = await source.next(w.end)) {
    out.push(`${w.start.toUTC().toISO({ suppressMilliseconds: true })} .. ${w.end.toUTC().toISO({ suppressMilliseconds: true })}`);
    source.done(w, records);
  }
  return out;
}

describe('adaptive windows', () => {
  it('take a rest shorter than half a window into it: a nightly run with its lookback is one window', async () => {
    expect(await plan('2026-03-09T21:45:00Z', '2026-03-10T23:45:00Z')).toEqual(['2026-03-09T21:45:00Z .. 2026-03-10T23:45:00Z']);
  });

  it('leave a longer rest to a window of its own, and never pass max_window_size', async () => {
    expect(await plan('2026-03-09T00:00:00Z', '2026-03-10T18:00:00Z')).toEqual([
      '2026-03-09T00:00:00Z .. 2026-03-10T00:00:00Z',
      '2026-03-10T00:00:00Z .. 2026-03-10T18:00:00Z',
    ]);
    expect(await plan('2026-03-09T21:45:00Z', '2026-03-10T23:45:00Z', { max_window_size: 'PT25H' })).toEqual([
      '2026-03-09T21:45:00Z .. 2026-03-10T21:45:00Z',
      '2026-03-10T21:45:00Z .. 2026-03-10T23:45:00Z',
    ]);
  });
});

describe('the run end', () => {
  it('is end_lag (default 15 minutes) before the start of the run, or end_date when earlier', () => {
    expect(runEnd(settings(), NOW).toISO()).toBe('2026-03-11T01:45:00.000Z');
    expect(runEnd(settings({ end_lag: 'PT0S' }), NOW.plus({ milliseconds: 700 })).toISO()).toBe('2026-03-11T02:00:00.000Z');
    expect(runEnd(settings({ end_date: '2026-03-11T01:50:00Z' }), NOW).toISO()).toBe('2026-03-11T01:45:00.000Z');
    expect(runEnd(settings({ end_date: '2026-03-10' }), NOW).toISO()).toBe('2026-03-10T00:00:00.000Z');
  });
});

import { DateTime, Duration, IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import { prng } from '../helpers/prng.js';
import { toApiRange } from '../../src/time/api-time.js';
import type { ApiRange } from '../../src/time/api-time.js';
import {
  isSafeEdge,
  nextWindowEnd,
  planWindows,
  safeEdgeAtOrAfter,
  safeEdgeAtOrBefore,
} from '../../src/time/windows.js';
import type { Window } from '../../src/time/windows.js';

const AMS = 'Europe/Amsterdam';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const ZONES = [
  'UTC',
  'Europe/Amsterdam',
  'America/New_York',
  'Australia/Lord_Howe', // 30-minute daylight-saving shift
  'Asia/Kolkata',
  'Pacific/Chatham', // +12:45 / +13:45
  'America/Santiago', // changes at local midnight
  'Europe/London',
  'Asia/Tehran', // dropped daylight saving in 2022
];

/** [ISO size, its rough length in ms] */
const SIZES: [string, number][] = [
  ['PT15M', 15 * 60_000],
  ['PT30M', 30 * 60_000],
  ['PT45M', 45 * 60_000],
  ['PT1H', HOUR],
  ['PT90M', 90 * 60_000],
  ['PT6H', 6 * HOUR],
  ['PT7H', 7 * HOUR],
  ['P1D', DAY],
  ['P1DT12H', 36 * HOUR],
  ['P1W', 7 * DAY],
  ['P1M', 30 * DAY],
];


const SEED = Number(process.env.TIME_TEST_SEED ?? 20261025);

const utc = (iso: string): DateTime => DateTime.fromISO(iso, { zone: 'utc' });
const local = (iso: string, zone: string): DateTime => DateTime.fromISO(iso, { zone }).toUTC();
const size = (iso: string): Duration => Duration.fromISO(iso);
const z = (dt: DateTime): string => dt.toUTC().toISO({ suppressMilliseconds: true }) ?? 'invalid';
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
/** The local string of an instant, by luxon (toFormat(API_FORMAT), written out: it is much faster). */
const localString = (ms: number, zone: string): string => {
  const d = DateTime.fromMillis(ms, { zone });
  return `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)} ${pad(d.hour)}:${pad(d.minute)}:${pad(d.second)}`;
};

/** The safety rule, computed independently with luxon's getPossibleOffsets. */
function luxonSafe(ms: number, zone: string): boolean {
  const possible = DateTime.fromMillis(ms, { zone }).getPossibleOffsets();
  if (possible.length < 2) return true;
  if (Math.min(...possible.map((p) => p.toMillis())) !== ms) return false;
  return DateTime.fromMillis(ms - 1000, { zone }).getPossibleOffsets().length < 2;
}

const transitionCache = new Map<string, number[]>();

/** Offset changes (epoch ms) of a zone in 2018-2031, found with luxon alone. */
function transitions(zone: string): number[] {
  let out = transitionCache.get(zone);
  if (out === undefined) {
    out = findTransitions(zone, 2018, 2031);
    transitionCache.set(zone, out);
  }
  return out;
}

function findTransitions(zone: string, fromYear: number, toYear: number): number[] {
  const zz = IANAZone.create(zone);
  const out: number[] = [];
  const step = DAY;
  let next = zz.offset(Date.UTC(fromYear, 0, 1));
  for (let t = Date.UTC(fromYear, 0, 1); t < Date.UTC(toYear + 1, 0, 1); t += step) {
    const before = next;
    next = zz.offset(t + step);
    if (before === next) continue;
    let lo = t;
    let hi = t + step;
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (zz.offset(mid) === before) lo = mid;
      else hi = mid;
    }
    out.push(hi);
  }
  return out;
}

function rangesOf(windows: Window[], zone: string): ApiRange[] {
  return windows.map((w) => toApiRange(w, zone));
}

/** The index of the one range holding the local string `s`, or -1 (ranges sorted and disjoint). */
function claimOf(ranges: ApiRange[], s: string): number {
  let lo = 0;
  let hi = ranges.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((ranges[mid]?.start_date ?? '') <= s) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found >= 0 && s <= (ranges[found]?.end_date ?? '') ? found : -1;
}

/**
 * Checks everything planWindows promises for [from, to) (both safe edges).
 * Problems are collected and asserted once (an expect per sample is slow).
 */
function checkPlan(from: DateTime, to: DateTime, sizeIso: string, zone: string, rnd: () => number): Window[] {
  const label = `${zone} ${sizeIso} [${z(from)}, ${z(to)})`;
  const windows = planWindows(from, to, size(sizeIso), zone);
  const f = from.toMillis();
  const e = to.toMillis();
  const problems: string[] = [];
  const check = (ok: boolean, what: () => string): void => {
    if (!ok && problems.length < 20) problems.push(what());
  };

  // tiles [from, to) exactly, no empty windows, strictly increasing, UTC
  check(windows.length > 0, () => 'no windows');
  check(windows[0]?.start.toMillis() === f, () => `first start ${z(windows[0]?.start ?? from)}`);
  check(windows[windows.length - 1]?.end.toMillis() === e, () => 'last end is not to');
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i] as Window;
    check(w.start.toMillis() < w.end.toMillis(), () => `empty window at ${z(w.start)}`);
    check(w.start.zone.name === 'UTC' && w.end.zone.name === 'UTC', () => `not UTC at ${z(w.start)}`);
    const next = windows[i + 1];
    if (next !== undefined) {
      check(next.start.toMillis() === w.end.toMillis(), () => `gap or overlap at ${z(w.end)}`);
      // every edge but `to` is safe, by both implementations
      check(isSafeEdge(w.end, zone), () => `unsafe edge ${z(w.end)}`);
      check(luxonSafe(w.end.toMillis(), zone), () => `unsafe edge (luxon) ${z(w.end)}`);
    }
  }

  // the API ranges neither overlap nor leave a gap
  const ranges = rangesOf(windows, zone);
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i] as ApiRange;
    check(r.start_date <= r.end_date, () => `inverted ${JSON.stringify(r)}`);
    const next = ranges[i + 1];
    if (next !== undefined) check(r.end_date < next.start_date, () => `overlap ${JSON.stringify([r, next])}`);
  }
  const samples = new Set<number>();
  const lo = f - 2 * HOUR;
  const hi = e + 2 * HOUR;
  if ((hi - lo) / 60_000 <= 600) {
    for (let t = lo; t < hi; t += 60_000) samples.add(t);
  } else {
    for (let i = 0; i < 300; i++) samples.add(lo + Math.floor(rnd() * ((hi - lo) / 1000)) * 1000);
    // every 4 minutes within 2 hours of each offset change (whose local strings are the tricky ones)
    for (const t of transitions(zone)) {
      if (t < lo - 2 * HOUR || t > hi + 2 * HOUR) continue;
      for (let u = t - 2 * HOUR; u < t + 2 * HOUR; u += 240_000) samples.add(u);
      for (const d of [-1000, 0, 1000]) samples.add(t + d);
    }
  }
  for (const w of windows.slice(0, 200)) for (const d of [-1000, 0, 1000]) samples.add(w.start.toMillis() + d);
  for (const d of [-1000, 0, 1000]) samples.add(e + d);
  for (const u of samples) {
    const s = localString(u, zone);
    const claimed = claimOf(ranges, s) >= 0;
    check(claimed === (u >= f && u < e), () => `${new Date(u).toISOString()} (${s}) claimed: ${claimed}`);
  }

  // the single-step version keeps its promises
  for (const w of windows.slice(0, 10)) {
    const end = nextWindowEnd(w.start, size(sizeIso), zone, to);
    check(end.toMillis() > w.start.toMillis() && end.toMillis() <= e, () => `nextWindowEnd ${z(end)}`);
    if (end.toMillis() < e) check(isSafeEdge(end, zone), () => `nextWindowEnd unsafe ${z(end)}`);
  }
  expect(problems, label).toEqual([]);
  return windows;
}

describe('planWindows: properties', () => {
  it(`tiles random ranges, with safe edges and exact API ranges (seed ${SEED})`, () => {
    const rnd = prng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const changes = new Map(ZONES.map((zone) => [zone, transitions(zone)]));
    let cases = 0;
    let merged = 0;
    for (let i = 0; i < 100; i++) {
      const zone = pick(ZONES);
      const [sizeIso, approx] = pick(SIZES);
      const near = changes.get(zone) ?? [];
      // mostly around an offset change, sometimes anywhere
      const anchor =
        near.length > 0 && rnd() < 0.8
          ? pick(near) + Math.floor((rnd() - 0.5) * 4 * approx)
          : Date.UTC(2019, 0, 1) + Math.floor(rnd() * 11 * 365) * DAY;
      const unit = pick([1000, 60_000, 15 * 60_000, HOUR]);
      const fromMs = Math.floor(anchor / unit) * unit;
      const span = Math.max(1000, Math.floor((approx * (0.2 + rnd() * 30)) / 1000) * 1000);
      const from = safeEdgeAtOrAfter(DateTime.fromMillis(fromMs, { zone: 'utc' }), zone);
      const to = safeEdgeAtOrBefore(DateTime.fromMillis(fromMs + span, { zone: 'utc' }), zone);
      expect(isSafeEdge(from, zone)).toBe(true);
      expect(isSafeEdge(to, zone)).toBe(true);
      if (from >= to) continue;
      const windows = checkPlan(from, to, sizeIso, zone, rnd);
      cases++;
      if (windows.some((w, k) => k < windows.length - 1 && w.end.toMillis() - w.start.toMillis() > approx * 1.5 && approx < DAY)) {
        merged++;
      }
    }
    expect(cases).toBeGreaterThan(75);
    expect(merged).toBeGreaterThan(0); // some ranges did cross a repeated period
  });

  it(`whole local days, every zone, every size (seed ${SEED + 1})`, () => {
    const rnd = prng(SEED + 1);
    for (const zone of ZONES) {
      for (const [sizeIso, approx] of SIZES) {
        const from = DateTime.fromObject({ year: 2026, month: 1, day: 1 }, { zone }).toUTC();
        const to = from.plus({ milliseconds: Math.min(approx * 12, 200 * DAY) });
        checkPlan(from, safeEdgeAtOrBefore(to, zone), sizeIso, zone, rnd);
      }
    }
  });
});

describe('planWindows: Europe/Amsterdam', () => {
  const strings = (windows: Window[]): string[] =>
    rangesOf(windows, AMS).map((r) => `${r.start_date} .. ${r.end_date}`);

  it('autumn 2026-10-25, PT1H: the repeated 02:00 hour is one merged window', () => {
    const windows = planWindows(local('2026-10-25', AMS), local('2026-10-26', AMS), size('PT1H'), AMS);
    const expected = [
      '2026-10-25 00:00:00 .. 2026-10-25 00:59:59',
      '2026-10-25 01:00:00 .. 2026-10-25 01:59:59',
      '2026-10-25 02:00:00 .. 2026-10-25 02:59:59', // 00:00Z .. 02:00Z, two hours
      '2026-10-25 03:00:00 .. 2026-10-25 03:59:59',
    ];
    for (let h = 4; h < 24; h++) expected.push(`2026-10-25 ${String(h).padStart(2, '0')}:00:00 .. 2026-10-25 ${String(h).padStart(2, '0')}:59:59`);
    expect(strings(windows)).toEqual(expected);
    expect(windows.map((w) => z(w.start)).slice(0, 5)).toEqual([
      '2026-10-24T22:00:00Z',
      '2026-10-24T23:00:00Z',
      '2026-10-25T00:00:00Z',
      '2026-10-25T02:00:00Z',
      '2026-10-25T03:00:00Z',
    ]);
    expect(windows[2]?.end.diff(windows[2].start).as('hours')).toBe(2);
    expect(windows).toHaveLength(24);
  });

  it('autumn 2026-10-25, PT30M: 02:30 cannot be an edge', () => {
    const windows = planWindows(local('2026-10-25T01:00', AMS), local('2026-10-25T04:00', AMS), size('PT30M'), AMS);
    expect(strings(windows)).toEqual([
      '2026-10-25 01:00:00 .. 2026-10-25 01:29:59',
      '2026-10-25 01:30:00 .. 2026-10-25 01:59:59',
      '2026-10-25 02:00:00 .. 2026-10-25 02:59:59',
      '2026-10-25 03:00:00 .. 2026-10-25 03:29:59',
      '2026-10-25 03:30:00 .. 2026-10-25 03:59:59',
    ]);
  });

  it('autumn 2026-10-25, PT45M: a moved edge, then the grid resumes', () => {
    const windows = planWindows(utc('2026-10-24T23:00:00Z'), utc('2026-10-25T03:00:00Z'), size('PT45M'), AMS);
    expect(windows.map((w) => `${z(w.start)} ${z(w.end)}`)).toEqual([
      '2026-10-24T23:00:00Z 2026-10-24T23:45:00Z', // 01:00 .. 01:45 local
      '2026-10-24T23:45:00Z 2026-10-25T02:00:00Z', // 02:30 local is inside the repeated hour: moved to its end
      '2026-10-25T02:00:00Z 2026-10-25T02:15:00Z', // 03:15 local
      '2026-10-25T02:15:00Z 2026-10-25T03:00:00Z',
    ]);
  });

  it('autumn 2026-10-25, P1D: a 25-hour day', () => {
    const windows = planWindows(local('2026-10-24', AMS), local('2026-10-27', AMS), size('P1D'), AMS);
    expect(windows.map((w) => w.end.diff(w.start).as('hours'))).toEqual([24, 25, 24]);
    expect(strings(windows)).toEqual([
      '2026-10-24 00:00:00 .. 2026-10-24 23:59:59',
      '2026-10-25 00:00:00 .. 2026-10-25 23:59:59',
      '2026-10-26 00:00:00 .. 2026-10-26 23:59:59',
    ]);
  });

  it('autumn 2026-10-25, PT6H: edges stay at 00/06/12/18 local', () => {
    const windows = planWindows(local('2026-10-25', AMS), local('2026-10-26', AMS), size('PT6H'), AMS);
    expect(windows.map((w) => z(w.start))).toEqual([
      '2026-10-24T22:00:00Z',
      '2026-10-25T05:00:00Z',
      '2026-10-25T11:00:00Z',
      '2026-10-25T17:00:00Z',
    ]);
    expect(windows.map((w) => w.end.diff(w.start).as('hours'))).toEqual([7, 6, 6, 6]);
    expect(strings(windows)[0]).toBe('2026-10-25 00:00:00 .. 2026-10-25 05:59:59');
  });

  it('spring 2026-03-29, PT1H: 23 windows, no 02:xx string', () => {
    const windows = planWindows(local('2026-03-29', AMS), local('2026-03-30', AMS), size('PT1H'), AMS);
    expect(windows).toHaveLength(23);
    expect(strings(windows).slice(0, 4)).toEqual([
      '2026-03-29 00:00:00 .. 2026-03-29 00:59:59',
      '2026-03-29 01:00:00 .. 2026-03-29 01:59:59',
      '2026-03-29 03:00:00 .. 2026-03-29 03:59:59',
      '2026-03-29 04:00:00 .. 2026-03-29 04:59:59',
    ]);
    expect(windows.every((w) => w.end.diff(w.start).as('hours') === 1)).toBe(true);
  });

  it('spring 2026-03-29, PT6H: a 5-hour first window', () => {
    const windows = planWindows(local('2026-03-29', AMS), local('2026-03-30', AMS), size('PT6H'), AMS);
    expect(windows.map((w) => z(w.start))).toEqual([
      '2026-03-28T23:00:00Z',
      '2026-03-29T04:00:00Z',
      '2026-03-29T10:00:00Z',
      '2026-03-29T16:00:00Z',
    ]);
    expect(windows.map((w) => w.end.diff(w.start).as('hours'))).toEqual([5, 6, 6, 6]);
    expect(strings(windows)).toEqual([
      '2026-03-29 00:00:00 .. 2026-03-29 05:59:59',
      '2026-03-29 06:00:00 .. 2026-03-29 11:59:59',
      '2026-03-29 12:00:00 .. 2026-03-29 17:59:59',
      '2026-03-29 18:00:00 .. 2026-03-29 23:59:59',
    ]);
  });

  it('spring 2026-03-29, P1D: a 23-hour day', () => {
    const windows = planWindows(local('2026-03-28', AMS), local('2026-03-31', AMS), size('P1D'), AMS);
    expect(windows.map((w) => w.end.diff(w.start).as('hours'))).toEqual([24, 23, 24]);
    expect(strings(windows)[1]).toBe('2026-03-29 00:00:00 .. 2026-03-29 23:59:59');
  });

  it('spring: an anchor whose grid falls in the gap (PT90M from 00:30)', () => {
    const windows = planWindows(local('2026-03-29T00:30', AMS), local('2026-03-29T06:00', AMS), size('PT90M'), AMS);
    expect(strings(windows)).toEqual([
      '2026-03-29 00:30:00 .. 2026-03-29 01:59:59', // 02:00 does not exist: the edge is 03:00
      '2026-03-29 03:00:00 .. 2026-03-29 03:29:59', // back on the grid (03:30)
      '2026-03-29 03:30:00 .. 2026-03-29 04:59:59',
      '2026-03-29 05:00:00 .. 2026-03-29 05:59:59',
    ]);
  });

  it('P1M from Jan 31 does not drift', () => {
    const windows = planWindows(local('2026-01-31', AMS), local('2026-06-01', AMS), size('P1M'), AMS);
    expect(windows.map((w) => z(w.start))).toEqual([
      '2026-01-30T23:00:00Z', // Jan 31
      '2026-02-27T23:00:00Z', // Feb 28
      '2026-03-30T22:00:00Z', // Mar 31 (summer time)
      '2026-04-29T22:00:00Z', // Apr 30
      '2026-05-30T22:00:00Z', // May 31
    ]);
    expect(z(windows[windows.length - 1]?.end ?? DateTime.invalid('x'))).toBe('2026-05-31T22:00:00Z');
  });

  it('a short last window, and an unsafe `to` used as given', () => {
    const windows = planWindows(utc('2026-10-24T23:00:00Z'), utc('2026-10-25T01:30:00Z'), size('PT1H'), AMS);
    expect(windows.map((w) => `${z(w.start)} ${z(w.end)}`)).toEqual([
      '2026-10-24T23:00:00Z 2026-10-25T00:00:00Z',
      '2026-10-25T00:00:00Z 2026-10-25T01:30:00Z',
    ]);
    expect(isSafeEdge(utc('2026-10-25T01:30:00Z'), AMS)).toBe(false);
  });
});

describe('planWindows: other zones', () => {
  it('America/New_York autumn 2026-11-01, PT1H: the repeated 01:00 hour is one window', () => {
    const zone = 'America/New_York';
    const windows = planWindows(local('2026-11-01', zone), local('2026-11-01T04:00', zone), size('PT1H'), zone);
    expect(windows.map((w) => `${z(w.start)} ${z(w.end)}`)).toEqual([
      '2026-11-01T04:00:00Z 2026-11-01T05:00:00Z',
      '2026-11-01T05:00:00Z 2026-11-01T07:00:00Z',
      '2026-11-01T07:00:00Z 2026-11-01T08:00:00Z',
      '2026-11-01T08:00:00Z 2026-11-01T09:00:00Z',
    ]);
    expect(toApiRange(windows[1] as Window, zone)).toEqual({
      start_date: '2026-11-01 01:00:00',
      end_date: '2026-11-01 01:59:59',
    });
  });

  it('Australia/Lord_Howe autumn 2026-04-05: a 30-minute repeat', () => {
    const zone = 'Australia/Lord_Howe';
    const hourly = planWindows(local('2026-04-05', zone), local('2026-04-05T04:00', zone), size('PT1H'), zone);
    expect(rangesOf(hourly, zone)).toEqual([
      { start_date: '2026-04-05 00:00:00', end_date: '2026-04-05 00:59:59' },
      { start_date: '2026-04-05 01:00:00', end_date: '2026-04-05 01:59:59' }, // 90 minutes
      { start_date: '2026-04-05 02:00:00', end_date: '2026-04-05 02:59:59' },
      { start_date: '2026-04-05 03:00:00', end_date: '2026-04-05 03:59:59' },
    ]);
    expect(hourly[1]?.end.diff(hourly[1].start).as('minutes')).toBe(90);
    const halfHourly = planWindows(local('2026-04-05T01:00', zone), local('2026-04-05T02:30', zone), size('PT15M'), zone);
    expect(rangesOf(halfHourly, zone)).toEqual([
      { start_date: '2026-04-05 01:00:00', end_date: '2026-04-05 01:14:59' },
      { start_date: '2026-04-05 01:15:00', end_date: '2026-04-05 01:29:59' },
      { start_date: '2026-04-05 01:30:00', end_date: '2026-04-05 01:59:59' }, // 14:30Z .. 15:30Z
      { start_date: '2026-04-05 02:00:00', end_date: '2026-04-05 02:14:59' },
      { start_date: '2026-04-05 02:15:00', end_date: '2026-04-05 02:29:59' },
    ]);
  });

  it('UTC: fixed-length windows', () => {
    const windows = planWindows(utc('2026-01-01T00:00:00Z'), utc('2026-01-01T10:00:00Z'), size('PT90M'), 'UTC');
    expect(windows.map((w) => w.end.diff(w.start).as('minutes'))).toEqual([90, 90, 90, 90, 90, 90, 60]);
  });
});

describe('planWindows: arguments', () => {
  it('returns [] when from >= to', () => {
    expect(planWindows(utc('2026-01-02T00:00:00Z'), utc('2026-01-01T00:00:00Z'), size('P1D'), AMS)).toEqual([]);
    expect(planWindows(utc('2026-01-01T00:00:00Z'), utc('2026-01-01T00:00:00Z'), size('P1D'), AMS)).toEqual([]);
  });

  it.each(['PT0S', '-PT1H', 'P0D', 'PT1H-2H'])('refuses the size %s', (iso) => {
    expect(() => planWindows(utc('2026-01-01T00:00:00Z'), utc('2026-01-02T00:00:00Z'), size(iso), AMS)).toThrow(
      RangeError,
    );
  });

  it('refuses an invalid zone or instant', () => {
    expect(() => planWindows(utc('2026-01-01T00:00:00Z'), utc('2026-01-02T00:00:00Z'), size('P1D'), 'Nowhere/X')).toThrow(
      RangeError,
    );
    expect(() => planWindows(DateTime.invalid('x'), utc('2026-01-02T00:00:00Z'), size('P1D'), AMS)).toThrow(RangeError);
  });

  it('accepts DateTimes in any zone and returns UTC', () => {
    const windows = planWindows(
      DateTime.fromISO('2026-01-01T00:00:00', { zone: AMS }),
      DateTime.fromISO('2026-01-03T00:00:00', { zone: AMS }),
      size('P1D'),
      AMS,
    );
    expect(windows.map((w) => w.start.zone.name)).toEqual(['UTC', 'UTC']);
    expect(z(windows[0]?.start ?? DateTime.invalid('x'))).toBe('2025-12-31T23:00:00Z');
  });

  it('plans 5 years of PT1H windows, one window an hour', () => {
    // a zone no other test in this file uses, so its offsets are not cached yet
    const zone = 'America/Chicago';
    const from = local('2021-01-01', zone);
    const to = local('2026-01-01', zone);
    // How long this takes is for the benchmark, not for a test: a test never times itself.
    const windows = planWindows(from, to, size('PT1H'), zone);
    expect(windows.length).toBeGreaterThan(43_000);
  });
});

describe('isSafeEdge', () => {
  it.each([
    // Europe/Amsterdam 2026-10-25: repeated period [00:00Z, 02:00Z)
    [AMS, '2026-10-24T23:59:59Z', true],
    [AMS, '2026-10-25T00:00:00Z', true],
    [AMS, '2026-10-25T00:00:00.500Z', true], // same API second as 00:00:00
    [AMS, '2026-10-25T00:00:01Z', false],
    [AMS, '2026-10-25T00:30:00Z', false],
    [AMS, '2026-10-25T00:59:59Z', false],
    [AMS, '2026-10-25T01:00:00Z', false],
    [AMS, '2026-10-25T01:59:59Z', false],
    [AMS, '2026-10-25T02:00:00Z', true],
    // spring: everything is safe
    [AMS, '2026-03-29T01:00:00Z', true],
    [AMS, '2026-03-29T00:59:59Z', true],
    // Lord Howe 2026-04-05: repeated period [14:30Z, 15:30Z) (the day before in UTC)
    ['Australia/Lord_Howe', '2026-04-04T14:30:00Z', true],
    ['Australia/Lord_Howe', '2026-04-04T14:30:01Z', false],
    ['Australia/Lord_Howe', '2026-04-04T15:00:00Z', false],
    ['Australia/Lord_Howe', '2026-04-04T15:29:59Z', false],
    ['Australia/Lord_Howe', '2026-04-04T15:30:00Z', true],
    ['UTC', '2026-10-25T01:00:00Z', true],
    ['Asia/Kolkata', '2026-10-25T01:00:00Z', true],
  ])('%s %s: %s', (zone, iso, safe) => {
    expect(isSafeEdge(utc(iso), zone)).toBe(safe);
  });

  it('safeEdgeAtOrBefore / safeEdgeAtOrAfter move to the ends of the repeated period', () => {
    expect(z(safeEdgeAtOrBefore(utc('2026-10-25T01:30:00Z'), AMS))).toBe('2026-10-25T00:00:00Z');
    expect(z(safeEdgeAtOrAfter(utc('2026-10-25T01:30:00Z'), AMS))).toBe('2026-10-25T02:00:00Z');
    expect(z(safeEdgeAtOrBefore(utc('2026-10-25T00:00:01Z'), AMS))).toBe('2026-10-25T00:00:00Z');
    expect(z(safeEdgeAtOrAfter(utc('2026-10-25T00:00:01Z'), AMS))).toBe('2026-10-25T02:00:00Z');
    expect(z(safeEdgeAtOrBefore(utc('2026-10-25T02:00:00Z'), AMS))).toBe('2026-10-25T02:00:00Z');
    expect(z(safeEdgeAtOrAfter(utc('2026-07-01T12:00:00Z'), AMS))).toBe('2026-07-01T12:00:00Z');
    expect(z(safeEdgeAtOrBefore(utc('2026-04-04T15:10:00Z'), 'Australia/Lord_Howe'))).toBe('2026-04-04T14:30:00Z');
    expect(z(safeEdgeAtOrAfter(utc('2026-04-04T15:10:00Z'), 'Australia/Lord_Howe'))).toBe('2026-04-04T15:30:00Z');
  });

  it(`agrees with a luxon-only implementation (seed ${SEED + 2})`, () => {
    const rnd = prng(SEED + 2);
    for (const zone of ZONES) {
      for (const t of transitions(zone)) {
        for (let i = 0; i < 10; i++) {
          const ms = t - 2 * HOUR + Math.floor(rnd() * 4 * 3600) * 1000;
          expect(isSafeEdge(DateTime.fromMillis(ms), zone), `${zone} ${new Date(ms).toISOString()}`).toBe(
            luxonSafe(ms, zone),
          );
        }
      }
    }
  });
});

describe('nextWindowEnd', () => {
  const far = utc('2027-01-01T00:00:00Z');
  it.each([
    ['2026-10-24T23:00:00Z', 'PT1H', '2026-10-25T00:00:00Z'],
    ['2026-10-25T00:00:00Z', 'PT1H', '2026-10-25T02:00:00Z'], // 03:00 local
    ['2026-10-24T23:30:00Z', 'PT1H', '2026-10-25T02:00:00Z'], // 02:30 local is unsafe
    ['2026-10-25T01:30:00Z', 'PT15M', '2026-10-25T02:00:00Z'], // second 02:30: wall 02:45 is unsafe
    ['2026-10-25T01:30:00Z', 'PT1H', '2026-10-25T02:30:00Z'], // second 02:30 + 1h = 03:30 local
    ['2026-10-24T22:00:00Z', 'P1D', '2026-10-25T23:00:00Z'],
    // 01:30 local + 1h = 02:30 local, which does not exist: shifted forward to 03:30 local
    ['2026-03-29T00:30:00Z', 'PT1H', '2026-03-29T01:30:00Z'],
    ['2026-01-31T23:00:00Z', 'P1M', '2026-02-28T23:00:00Z'],
  ])('from %s by %s: %s', (start, sizeIso, expected) => {
    expect(z(nextWindowEnd(utc(start), size(sizeIso), AMS, far))).toBe(expected);
  });

  it('is capped at `to`', () => {
    const to = utc('2026-10-25T00:30:00Z');
    expect(z(nextWindowEnd(utc('2026-10-24T23:00:00Z'), size('P1D'), AMS, to))).toBe('2026-10-25T00:30:00Z');
    expect(z(nextWindowEnd(utc('2026-10-25T00:00:00Z'), size('PT1H'), AMS, to))).toBe('2026-10-25T00:30:00Z');
  });

  it('refuses start >= to and sizes that are not positive', () => {
    expect(() => nextWindowEnd(far, size('PT1H'), AMS, far)).toThrow(RangeError);
    expect(() => nextWindowEnd(utc('2026-01-01T00:00:00Z'), size('PT0S'), AMS, far)).toThrow(RangeError);
  });
});

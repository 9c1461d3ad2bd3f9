import { DateTime, FixedOffsetZone, IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import { prng } from '../helpers/prng.js';
import {
  API_FORMAT,
  createApiTimeConverter,
  fromApiDateTime,
  toApiDateTime,
  toApiRange,
} from '../../src/time/api-time.js';

const AMS = 'Europe/Amsterdam';
const ZONES = [
  'UTC',
  'Europe/Amsterdam',
  'America/New_York',
  'Australia/Lord_Howe', // 30-minute daylight-saving shift
  'Asia/Kolkata', // +05:30, no daylight saving since 1945
  'Pacific/Chatham', // +12:45 / +13:45
  'America/Santiago', // southern hemisphere, changes at 24:00 local
  'Asia/Tehran', // dropped daylight saving in 2022
];


const SEED = Number(process.env.TIME_TEST_SEED ?? 20261025);

function utcIso(dt: DateTime): string {
  return dt.toUTC().toISO({ suppressMilliseconds: true }) ?? 'invalid';
}

/**
 * The reference: luxon, except that for an ambiguous local time (where
 * luxon's choice depends on today's date) the documented rule applies: the
 * earlier instant.
 */
function reference(text: string, zone: string): { expected: string | undefined; ambiguous: boolean } {
  const dt = DateTime.fromFormat(text, API_FORMAT, { zone });
  if (!dt.isValid) return { expected: undefined, ambiguous: false };
  const possible = dt.getPossibleOffsets();
  const earliest = possible.reduce((a, b) => (b.toMillis() < a.toMillis() ? b : a), dt);
  return { expected: utcIso(possible.length > 1 ? earliest : dt), ambiguous: possible.length > 1 };
}

interface Transition {
  /** The instant of the change (epoch ms). */
  at: number;
  /** Offsets before and after, in ms. */
  before: number;
  after: number;
}

/** The offset changes of `zone` in [fromYear, toYear], found with luxon alone. */
function transitions(zone: string, fromYear: number, toYear: number): Transition[] {
  const z = IANAZone.create(zone);
  const off = (t: number): number => z.offset(t) * 60_000;
  const out: Transition[] = [];
  const step = 86_400_000;
  let after = off(Date.UTC(fromYear, 0, 1));
  for (let t = Date.UTC(fromYear, 0, 1); t < Date.UTC(toYear + 1, 0, 1); t += step) {
    const before = after;
    after = off(t + step);
    if (before === after) continue;
    let lo = t;
    let hi = t + step;
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (off(mid) === before) lo = mid;
      else hi = mid;
    }
    out.push({ at: hi, before, after });
  }
  return out;
}

/** Local strings around each offset change: the gap or repeated period and two hours either side. */
function stringsAroundTransitions(zone: string, rnd: () => number): string[] {
  const texts: string[] = [];
  const fmt = (wall: number): string => DateTime.fromMillis(wall, { zone: 'utc' }).toFormat(API_FORMAT);
  for (const { at, before, after } of transitions(zone, 2020, 2028)) {
    const lo = at + Math.min(before, after);
    const hi = at + Math.max(before, after);
    // the gap or repeated period, every minute or so; an hour either side, sparser
    for (let wall = lo - 3_600_000; wall < hi + 3_600_000; ) {
      texts.push(fmt(wall));
      wall += (wall >= lo && wall < hi ? 60_000 : 240_000) + Math.floor(rnd() * 60) * 1000;
    }
    for (const edge of [lo, hi]) for (const d of [-1000, 0, 1000]) texts.push(fmt(edge + d));
  }
  return texts;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

describe('API_FORMAT', () => {
  it('is the API date-time format', () => {
    expect(API_FORMAT).toBe('yyyy-MM-dd HH:mm:ss');
  });
});

describe('toApiDateTime', () => {
  it.each([
    ['2026-01-31T22:59:59Z', AMS, '2026-01-31 23:59:59'],
    ['2026-07-01T00:00:00Z', AMS, '2026-07-01 02:00:00'],
    ['2026-10-25T00:30:00Z', AMS, '2026-10-25 02:30:00'],
    ['2026-10-25T01:30:00Z', AMS, '2026-10-25 02:30:00'],
    ['2026-03-29T01:00:00Z', AMS, '2026-03-29 03:00:00'],
    ['2026-01-01T00:00:00.999Z', 'UTC', '2026-01-01 00:00:00'],
    ['2026-01-01T00:00:00Z', 'Asia/Kolkata', '2026-01-01 05:30:00'],
    ['2026-04-04T15:00:00Z', 'Australia/Lord_Howe', '2026-04-05 01:30:00'],
    ['2026-04-04T14:59:59Z', 'Australia/Lord_Howe', '2026-04-05 01:59:59'],
  ])('%s in %s is %s', (instant, zone, expected) => {
    expect(toApiDateTime(DateTime.fromISO(instant, { zone: 'utc' }), zone)).toBe(expected);
  });

  it(`agrees with luxon on random instants (seed ${SEED})`, () => {
    const rnd = prng(SEED);
    for (let i = 0; i < 2000; i++) {
      const zone = ZONES[i % ZONES.length] ?? 'UTC';
      const ms = Date.UTC(1971, 0, 1) + Math.floor(rnd() * (Date.UTC(2037, 0, 1) - Date.UTC(1971, 0, 1)));
      const dt = DateTime.fromMillis(ms, { zone: 'utc' });
      expect(toApiDateTime(dt, zone), `${dt.toISO()} ${zone}`).toBe(dt.setZone(zone).toFormat(API_FORMAT));
    }
  });

  it('throws on an invalid zone or instant', () => {
    expect(() => toApiDateTime(DateTime.utc(2026), 'Nowhere/Nothing')).toThrow(RangeError);
    expect(() => toApiDateTime(DateTime.invalid('x'), AMS)).toThrow(RangeError);
  });
});

describe('toApiRange', () => {
  const w = (a: string, b: string) => ({
    start: DateTime.fromISO(a, { zone: 'utc' }),
    end: DateTime.fromISO(b, { zone: 'utc' }),
  });

  it.each([
    ['2025-12-31T23:00:00Z', '2026-01-31T23:00:00Z', AMS, '2026-01-01 00:00:00', '2026-01-31 23:59:59'],
    ['2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', 'UTC', '2026-01-01 00:00:00', '2026-01-01 00:00:00'],
    // the merged window of the repeated autumn hour
    ['2026-10-25T00:00:00Z', '2026-10-25T02:00:00Z', AMS, '2026-10-25 02:00:00', '2026-10-25 02:59:59'],
    // across the spring gap: no 02:xx string is ever produced
    ['2026-03-29T00:00:00Z', '2026-03-29T02:00:00Z', AMS, '2026-03-29 01:00:00', '2026-03-29 03:59:59'],
    // sub-second edges: the whole seconds [floor(start), floor(end))
    ['2026-01-01T00:00:00.500Z', '2026-01-01T00:00:10.500Z', 'UTC', '2026-01-01 00:00:00', '2026-01-01 00:00:09'],
  ])('[%s, %s) in %s is %s .. %s', (a, b, zone, start, end) => {
    expect(toApiRange(w(a, b), zone)).toEqual({ start_date: start, end_date: end });
  });

  it('throws when the window holds no whole second', () => {
    expect(() => toApiRange(w('2026-01-01T00:00:00.100Z', '2026-01-01T00:00:00.900Z'), 'UTC')).toThrow(
      RangeError,
    );
    expect(() => toApiRange(w('2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'), 'UTC')).toThrow(RangeError);
  });
});

describe('createApiTimeConverter', () => {
  it.each([
    // [zone, text, expected]
    [AMS, '2026-01-31 23:59:59', '2026-01-31T22:59:59Z'],
    [AMS, '2026-01-31T23:59:59', '2026-01-31T22:59:59Z'],
    [AMS, '2026-01-31 23:59:59.5', '2026-01-31T22:59:59.500Z'],
    [AMS, '2026-01-31 23:59:59.123456789', '2026-01-31T22:59:59.123Z'],
    [AMS, '2026-01-31 23:59:59.9999999999999999', '2026-01-31T22:59:59.999Z'],
    [AMS, '2026-01-31 23:59:59.000', '2026-01-31T22:59:59Z'],
    [AMS, '2026-01-31T23:59:59Z', '2026-01-31T23:59:59Z'],
    [AMS, '2026-01-31T23:59:59z', '2026-01-31T23:59:59Z'],
    [AMS, '2026-01-31 23:59:59.25Z', '2026-01-31T23:59:59.250Z'],
    [AMS, '2026-01-31T23:59:59+05:30', '2026-01-31T18:29:59Z'],
    [AMS, '2026-01-31T23:59:59+0530', '2026-01-31T18:29:59Z'],
    [AMS, '2026-01-31T23:59:59-03', '2026-02-01T02:59:59Z'],
    [AMS, '2026-01-31T23:59:59.5-03:00', '2026-02-01T02:59:59.500Z'],
    [AMS, '2026-07-01 12:00:00', '2026-07-01T10:00:00Z'],
    [AMS, '2024-02-29 12:00:00', '2024-02-29T11:00:00Z'],
    [AMS, '2026-01-31 24:00:00', '2026-01-31T23:00:00Z'],
    ['UTC', '1970-01-01 00:00:00', '1970-01-01T00:00:00Z'],
    ['UTC', '9999-12-31 23:59:59', '9999-12-31T23:59:59Z'],
    ['Asia/Kolkata', '2026-01-01 05:30:00', '2026-01-01T00:00:00Z'],
    // autumn, repeated 02:00-02:59: the earlier instant
    [AMS, '2026-10-25 01:59:59', '2026-10-24T23:59:59Z'],
    [AMS, '2026-10-25 02:00:00', '2026-10-25T00:00:00Z'],
    [AMS, '2026-10-25 02:30:00', '2026-10-25T00:30:00Z'],
    [AMS, '2026-10-25 02:59:59.999', '2026-10-25T00:59:59.999Z'],
    [AMS, '2026-10-25 03:00:00', '2026-10-25T02:00:00Z'],
    // spring, non-existent 02:00-02:59: shifted forward by the gap
    [AMS, '2026-03-29 01:59:59', '2026-03-29T00:59:59Z'],
    [AMS, '2026-03-29 02:00:00', '2026-03-29T01:00:00Z'],
    [AMS, '2026-03-29 02:30:00', '2026-03-29T01:30:00Z'],
    [AMS, '2026-03-29 03:00:00', '2026-03-29T01:00:00Z'],
    // Lord Howe: 30-minute shifts, within one local hour
    ['Australia/Lord_Howe', '2026-04-05 01:29:59', '2026-04-04T14:29:59Z'],
    ['Australia/Lord_Howe', '2026-04-05 01:30:00', '2026-04-04T14:30:00Z'],
    ['Australia/Lord_Howe', '2026-04-05 01:59:59', '2026-04-04T14:59:59Z'],
    ['Australia/Lord_Howe', '2026-04-05 02:00:00', '2026-04-04T15:30:00Z'],
    ['Australia/Lord_Howe', '2026-10-04 01:59:59', '2026-10-03T15:29:59Z'],
    ['Australia/Lord_Howe', '2026-10-04 02:00:00', '2026-10-03T15:30:00Z'],
    ['Australia/Lord_Howe', '2026-10-04 02:15:00', '2026-10-03T15:45:00Z'],
    ['Australia/Lord_Howe', '2026-10-04 02:30:00', '2026-10-03T15:30:00Z'],
    ['America/New_York', '2026-11-01 01:30:00', '2026-11-01T05:30:00Z'],
    ['America/New_York', '2026-03-08 02:30:00', '2026-03-08T07:30:00Z'],
  ])('%s: %s -> %s', (zone, text, expected) => {
    expect(createApiTimeConverter(zone)(text)).toBe(expected);
  });

  it.each([
    '',
    '2026-01-31',
    '2026-01-31 23:59',
    '2026-01-31 23:59:5',
    '2026-1-31 23:59:59',
    '2026/01/31 23:59:59',
    '2026-01-31_23:59:59',
    '2026-01-31 23-59-59',
    '2026-00-31 23:59:59',
    '2026-13-01 00:00:00',
    '2026-02-29 00:00:00',
    '2026-04-31 00:00:00',
    '2026-01-00 00:00:00',
    '2026-01-31 25:00:00',
    '2026-01-31 24:00:01',
    '2026-01-31 24:00:00.5',
    '2026-01-31 23:60:00',
    '2026-01-31 23:59:60',
    '2026-01-31 23:59:59.',
    '2026-01-31 23:59:59.5x',
    '2026-01-31 23:59:59 ',
    ' 2026-01-31 23:59:59',
    '2026-01-31 23:59:59ZZ',
    '2026-01-31 23:59:59+5',
    '2026-01-31 23:59:59+05:3',
    '2026-01-31 23:59:59+24:00',
    '2026-01-31 23:59:59+05:60',
    '2026-01-31 23:59:59+05-30',
    'abcd-ef-gh ij:kl:mn',
    '２０２６-01-31 23:59:59',
    'not a date at all, but long',
  ])('refuses %j', (text) => {
    expect(createApiTimeConverter(AMS)(text)).toBeUndefined();
  });

  it('refuses values that are not strings', () => {
    const convert = createApiTimeConverter(AMS) as (v: unknown) => string | undefined;
    for (const v of [undefined, null, 20260131, {}, ['2026-01-31 23:59:59']]) {
      expect(convert(v)).toBeUndefined();
    }
  });

  it('throws on an invalid zone', () => {
    expect(() => createApiTimeConverter('Nowhere/Nothing')).toThrow(RangeError);
  });

  it.each(ZONES)(`agrees with luxon on random strings in %s (seed ${SEED})`, (zone) => {
    const rnd = prng(SEED ^ zone.length);
    const convert = createApiTimeConverter(zone);
    const texts: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const y = 1971 + Math.floor(rnd() * 66);
      const m = 1 + Math.floor(rnd() * 12);
      const d = 1 + Math.floor(rnd() * 31); // sometimes invalid on purpose
      const h = Math.floor(rnd() * 24);
      const mi = Math.floor(rnd() * 60);
      const s = Math.floor(rnd() * 60);
      texts.push(`${y}-${pad(m)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(s)}`);
    }
    texts.push(...stringsAroundTransitions(zone, rnd));
    let ambiguous = 0;
    const problems: string[] = [];
    for (const text of texts) {
      const { expected, ambiguous: isAmbiguous } = reference(text, zone);
      const got = convert(text);
      const slow = fromApiDateTime(text, zone)?.toISO({ suppressMilliseconds: true });
      if ((got !== expected || slow !== expected) && problems.length < 20) {
        problems.push(`${text}: converter ${got}, fromApiDateTime ${slow}, expected ${expected}`);
      }
      if (isAmbiguous) ambiguous++;
    }
    expect(problems).toEqual([]);
    if (zone !== 'UTC' && zone !== 'Asia/Kolkata') {
      expect(ambiguous).toBeGreaterThan(0);
    }
  });

  it(`round-trips random instants through toApiDateTime (seed ${SEED})`, () => {
    const rnd = prng(SEED + 1);
    for (const zone of ZONES) {
      const convert = createApiTimeConverter(zone);
      for (let i = 0; i < 500; i++) {
        const ms = Date.UTC(2015, 0, 1) + Math.floor(rnd() * 15 * 365) * 86_400_000 + Math.floor(rnd() * 86_400) * 1000;
        const dt = DateTime.fromMillis(ms, { zone: 'utc' });
        const local = dt.setZone(zone);
        const back = convert(toApiDateTime(dt, zone));
        const possible = local.getPossibleOffsets().map((p) => p.toMillis());
        // unambiguous: the same instant; ambiguous: the earlier occurrence
        expect(back, `${zone} ${dt.toISO()}`).toBe(utcIso(DateTime.fromMillis(Math.min(...possible))));
      }
    }
  });

  it('honours explicit offsets like luxon does', () => {
    const rnd = prng(SEED + 2);
    const convert = createApiTimeConverter('America/New_York');
    for (let i = 0; i < 2000; i++) {
      const ms = Date.UTC(1980, 0, 1) + Math.floor(rnd() * 50 * 365 * 86_400) * 1000 + Math.floor(rnd() * 1000);
      const offsetMinutes = (Math.floor(rnd() * 97) - 48) * 15;
      const dt = DateTime.fromMillis(ms, { zone: FixedOffsetZone.instance(offsetMinutes) });
      const sign = offsetMinutes < 0 ? '-' : '+';
      const abs = Math.abs(offsetMinutes);
      const text = `${dt.toFormat("yyyy-MM-dd'T'HH:mm:ss.SSS")}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
      expect(convert(text), text).toBe(utcIso(DateTime.fromISO(text)));
    }
  });

  it('converts 300,000 values in a row (its speed: npm run bench -- --section 8)', () => {
    const convert = createApiTimeConverter(AMS);
    const texts: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const dt = DateTime.utc(2026, 10, 20).plus({ seconds: i * 977 });
      texts.push(dt.setZone(AMS).toFormat(API_FORMAT));
    }
    const n = 300_000;
    let hits = 0;
    for (let i = 0; i < n; i++) if (convert(texts[i % texts.length] ?? '') !== undefined) hits++;
    expect(hits).toBe(n);
    // Its speed (well under 1 µs a call against luxon's 50-250 µs) is measured by
    // `npm run bench -- --section 8`, not asserted here: a test never times itself.
  });
});

describe('fromApiDateTime', () => {
  it.each([
    ['2026-01-31 23:59:59', AMS, '2026-01-31T22:59:59Z'],
    ['2026-10-25 02:30:00', AMS, '2026-10-25T00:30:00Z'],
    ['2026-03-29 02:30:00', AMS, '2026-03-29T01:30:00Z'],
    ['2026-01-31T23:59:59Z', AMS, '2026-01-31T23:59:59Z'],
  ])('%s in %s is %s', (text, zone, expected) => {
    const dt = fromApiDateTime(text, zone);
    expect(dt?.zone.name).toBe('UTC');
    expect(dt?.toISO({ suppressMilliseconds: true })).toBe(expected);
  });

  it('returns undefined for a non-date-time', () => {
    expect(fromApiDateTime('2026-01-31', AMS)).toBeUndefined();
    expect(fromApiDateTime('nope', AMS)).toBeUndefined();
  });
});

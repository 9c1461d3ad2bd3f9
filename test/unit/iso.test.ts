import { DateTime, Duration } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  formatInstant,
  isPositive,
  isValidZone,
  isZero,
  parseDuration,
  parseInstant,
} from '../../src/time/iso.js';

const AMS = 'Europe/Amsterdam';

function iso(dt: DateTime | undefined): string | undefined {
  return dt === undefined ? undefined : formatInstant(dt);
}

describe('parseInstant', () => {
  it.each([
    // [text, zone, expected UTC]
    ['2026-01-01', AMS, '2025-12-31T23:00:00Z'],
    ['2026-07-01', AMS, '2026-06-30T22:00:00Z'],
    ['2026-01-01', 'UTC', '2026-01-01T00:00:00Z'],
    ['2026-01-01', 'Asia/Kolkata', '2025-12-31T18:30:00Z'],
    ['2026-01-01T10:00:00', AMS, '2026-01-01T09:00:00Z'],
    ['2026-01-01T10:00', AMS, '2026-01-01T09:00:00Z'],
    ['2026-01-01 10:00:00', AMS, '2026-01-01T09:00:00Z'],
    ['2026-01-01T10:00:00.250', AMS, '2026-01-01T09:00:00.250Z'],
    ['2026-01-01 10:00:00.5Z', AMS, '2026-01-01T10:00:00.500Z'],
    ['2026-01-01T10:00:00Z', AMS, '2026-01-01T10:00:00Z'],
    ['2026-01-01T10:00:00+05:30', AMS, '2026-01-01T04:30:00Z'],
    ['2026-01-01T10:00:00-0300', AMS, '2026-01-01T13:00:00Z'],
    ['2026-01-01T10:00:00+01:00', 'America/New_York', '2026-01-01T09:00:00Z'],
    ['  2026-01-01T00:00:00Z  ', AMS, '2026-01-01T00:00:00Z'],
    // ambiguous autumn time: the earlier instant (first occurrence)
    ['2026-10-25T02:30:00', AMS, '2026-10-25T00:30:00Z'],
    ['2026-10-25T02:00:00', AMS, '2026-10-25T00:00:00Z'],
    ['2026-11-01T01:30:00', 'America/New_York', '2026-11-01T05:30:00Z'],
    // non-existent spring time: shifted forward, as luxon does
    ['2026-03-29T02:30:00', AMS, '2026-03-29T01:30:00Z'],
    ['2026-03-29T03:00:00', AMS, '2026-03-29T01:00:00Z'],
  ])('%s in %s is %s', (text, zone, expected) => {
    expect(iso(parseInstant(text, zone))).toBe(expected);
  });

  it.each([
    '',
    'abc',
    '10:00',
    'T10:00',
    '2026-13-01',
    '2026-02-30',
    '2026-01-01T25:00:00',
    '2026-01-01X10:00',
    'yesterday',
  ])('refuses %j', (text) => {
    expect(parseInstant(text, AMS)).toBeUndefined();
  });

  it('returns UTC DateTimes', () => {
    const dt = parseInstant('2026-06-01T12:00:00+02:00', AMS);
    expect(dt?.zone.name).toBe('UTC');
  });

  it('throws on an invalid zone', () => {
    expect(() => parseInstant('2026-01-01', 'Mars/Olympus')).toThrow(RangeError);
  });
});

describe('parseDuration', () => {
  it.each([
    ['P1D', { days: 1 }],
    ['PT6H', { hours: 6 }],
    ['P1M', { months: 1 }],
    ['PT0S', { seconds: 0 }],
    ['P1W', { weeks: 1 }],
    ['PT90M', { minutes: 90 }],
    ['P1DT12H', { days: 1, hours: 12 }],
    ['PT1.5H', { hours: 1.5 }],
    ['-P1D', { days: -1 }],
  ])('%s', (text, expected) => {
    expect(parseDuration(text)?.toObject()).toEqual(expected);
  });

  it.each(['', 'P', 'PT', '1D', 'P1', 'p1d', 'P1X', 'one day', 'PT6'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('isPositive / isZero', () => {
  it.each([
    // [duration, positive, zero]
    ['P1D', true, false],
    ['PT1S', true, false],
    ['P1M', true, false],
    ['P1Y', true, false],
    ['P1W', true, false],
    ['PT0.001S', true, false],
    ['PT0S', false, true],
    ['P0D', false, true],
    ['P0M', false, true],
    ['-P1D', false, false],
    ['-PT1H', false, false],
    ['P1DT-1H', true, false],
    ['PT1H-60M', false, true],
    ['PT1H-61M', false, false],
    ['P1M-1D', true, false],
  ])('%s: positive %s, zero %s', (text, positive, zero) => {
    const d = Duration.fromISO(text);
    expect(d.isValid).toBe(true);
    expect(isPositive(d)).toBe(positive);
    expect(isZero(d)).toBe(zero);
  });

  it('an empty duration is zero, not positive', () => {
    expect(isZero(Duration.fromObject({}))).toBe(true);
    expect(isPositive(Duration.fromObject({}))).toBe(false);
  });

  it('an invalid duration is neither', () => {
    const d = Duration.invalid('test');
    expect(isZero(d)).toBe(false);
    expect(isPositive(d)).toBe(false);
  });
});

describe('formatInstant', () => {
  it.each([
    [DateTime.utc(2026, 1, 1), '2026-01-01T00:00:00Z'],
    [DateTime.utc(2026, 1, 1, 0, 0, 0, 250), '2026-01-01T00:00:00.250Z'],
    [DateTime.fromISO('2026-01-01T01:00:00+01:00', { setZone: true }), '2026-01-01T00:00:00Z'],
    [DateTime.fromObject({ year: 2026, month: 7, day: 1 }, { zone: AMS }), '2026-06-30T22:00:00Z'],
  ])('%s -> %s', (dt, expected) => {
    expect(formatInstant(dt)).toBe(expected);
  });

  it('round-trips through parseInstant', () => {
    const dt = DateTime.utc(2026, 10, 25, 0, 30, 15, 7);
    expect(parseInstant(formatInstant(dt), AMS)?.toMillis()).toBe(dt.toMillis());
  });

  it('throws on an invalid DateTime', () => {
    expect(() => formatInstant(DateTime.invalid('test'))).toThrow(RangeError);
  });
});

describe('isValidZone', () => {
  it.each([
    ['Europe/Amsterdam', true],
    ['America/New_York', true],
    ['Australia/Lord_Howe', true],
    ['Asia/Kolkata', true],
    ['UTC', true],
    ['Etc/UTC', true],
    ['UTC+2', true],
    ['Mars/Olympus', false],
    ['', false],
    ['   ', false],
    ['local', false],
    ['system', false],
    ['default', false],
    ['Europe/Amsterdamm', false],
  ])('%j: %s', (zone, valid) => {
    expect(isValidZone(zone)).toBe(valid);
  });
});

import { describe, expect, it } from 'vitest';
import { ApiError, TapError } from '../../src/errors.js';
import { parseRetryAfterMs, retryDelayMs, type RetryPolicy } from '../../src/http/retry.js';

const policy: RetryPolicy = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1_000 };
const endpoint = '/services/analytics/v1/sessions/get-visits';

const api = (kind: ConstructorParameters<typeof ApiError>[0], retryAfterMs?: number): ApiError =>
  new ApiError(kind, `${kind} happened`, { endpoint, status: 500, retryAfterMs });

describe('retryDelayMs', () => {
  const cases: ReadonlyArray<{ name: string; error: unknown; retries: number; random: number; expected: number | undefined }> = [
    // exponential backoff: min(max, base * 2^n) * (0.5 + 0.5 * random)
    { name: 'server fault, first retry, lowest jitter', error: api('server-fault'), retries: 0, random: 0, expected: 50 },
    { name: 'server fault, first retry, mid jitter', error: api('server-fault'), retries: 0, random: 0.5, expected: 75 },
    { name: 'server fault, second retry', error: api('server-fault'), retries: 1, random: 0, expected: 100 },
    { name: 'server fault, third retry', error: api('server-fault'), retries: 2, random: 0.5, expected: 300 },
    { name: 'bad response backs off too', error: api('bad-response'), retries: 1, random: 0.5, expected: 150 },
    { name: 'network error backs off', error: api('network'), retries: 0, random: 0, expected: 50 },
    { name: 'timeout backs off', error: api('timeout'), retries: 0, random: 0, expected: 50 },
    { name: 'plain TapError of a retryable kind', error: new TapError('network', 'x'), retries: 0, random: 0, expected: 50 },
    { name: 'jitter stays below the ceiling', error: api('server-fault'), retries: 0, random: 0.999999, expected: 100 },
    { name: 'server fault, third retry, lowest jitter', error: api('server-fault'), retries: 2, random: 0, expected: 200 },
    // rate limited
    { name: '429 honours Retry-After exactly', error: api('rate-limited', 7_000), retries: 0, random: 0, expected: 7_000 },
    { name: '429 Retry-After is not capped', error: api('rate-limited', 120_000), retries: 2, random: 0.9, expected: 120_000 },
    { name: '429 Retry-After 0 retries at once', error: api('rate-limited', 0), retries: 0, random: 0, expected: 0 },
    { name: '429 without Retry-After waits a window', error: api('rate-limited'), retries: 1, random: 0, expected: 1_000 },
    { name: 'rate-limited TapError waits a window', error: new TapError('rate-limited', 'x'), retries: 0, random: 0, expected: 1_000 },
    // give up
    { name: 'gives up when retries are used up', error: api('server-fault'), retries: 3, random: 0, expected: undefined },
    { name: 'gives up on 429 too when used up', error: api('rate-limited', 10), retries: 3, random: 0, expected: undefined },
    { name: 'auth is never retried', error: api('auth'), retries: 0, random: 0, expected: undefined },
    { name: 'permission is never retried', error: api('permission'), retries: 0, random: 0, expected: undefined },
    { name: 'request-rejected is never retried', error: api('request-rejected'), retries: 0, random: 0, expected: undefined },
    { name: 'config errors are not retried', error: new TapError('config', 'x'), retries: 0, random: 0, expected: undefined },
    { name: 'a plain Error is not retried', error: new Error('bug'), retries: 0, random: 0, expected: undefined },
    { name: 'a thrown string is not retried', error: 'boom', retries: 0, random: 0, expected: undefined },
  ];

  it.each(cases)('$name', ({ error, retries, random, expected }) => {
    expect(retryDelayMs(error, retries, policy, () => random)).toBe(expected);
  });

  it('caps the exponential ceiling, then jitters under it', () => {
    const big: RetryPolicy = { maxRetries: 50, baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(retryDelayMs(api('server-fault'), 4, big, () => 0)).toBe(500);
    expect(retryDelayMs(api('server-fault'), 40, big, () => 0.5)).toBe(750);
  });

  it('never retries when maxRetries is 0', () => {
    expect(retryDelayMs(api('server-fault'), 0, { ...policy, maxRetries: 0 }, () => 0)).toBeUndefined();
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  const cases: ReadonlyArray<[string | null | undefined, number | undefined]> = [
    ['7', 7_000],
    [' 30 ', 30_000],
    ['0', 0],
    ['1.5', 1_500],
    ['Sun, 01 Mar 2026 12:00:10 GMT', 10_000],
    ['Sun, 01 Mar 2026 11:59:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    ['', undefined],
    [null, undefined],
    [undefined, undefined],
  ];
  it.each(cases)('%j → %j', (value, expected) => {
    expect(parseRetryAfterMs(value, now)).toBe(expected);
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { DateTime, Duration } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV_SOURCE, loadRawConfig, safeJsonErrorMessage } from '../../src/config/load.js';
import { nearestSettings } from '../../src/config/names.js';
import { parseSettings, redactConfig } from '../../src/config/settings.js';
import { configSchema, envVarName, secretSettings, settingNames } from '../../src/config/spec.js';
import { TapError } from '../../src/errors.js';
import type { JsonObject, JsonValue } from '../../src/json.js';
import { createLogger, type Logger } from '../../src/log.js';

/** Recognisable, so a leak into any message is easy to spot. */
const TOKEN = 'wmsy_SECRET_TOKEN_9f8e7d6c5b4a';
const NOW = DateTime.fromISO('2026-06-01T12:00:00Z', { zone: 'utc' });
const BASE: JsonObject = { api_token: TOKEN, start_date: '2026-01-01' };

function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ level: 'debug', write: (line) => lines.push(line) }), lines };
}

function parse(raw: JsonObject, log: Logger = capturingLogger().log) {
  return parseSettings(raw, { now: NOW, log });
}

/** The TapError thrown by `run`, or a failed expectation. */
function thrown(run: () => unknown): TapError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TapError);
    return error as TapError;
  }
  throw new Error('expected a TapError, nothing was thrown');
}

async function thrownAsync(run: () => Promise<unknown>): Promise<TapError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(TapError);
    return error as TapError;
  }
  throw new Error('expected a TapError, nothing was thrown');
}

function withPatch(patch: Record<string, JsonValue | undefined>): JsonObject {
  const raw: JsonObject = { ...BASE };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete raw[key];
    else raw[key] = value;
  }
  return raw;
}

describe('config spec', () => {
  it('schemas/config.json is a valid JSON Schema (the tap compiles it without meta-validation)', () => {
    const ajv = new Ajv({ allowUnionTypes: true });
    ajv.addKeyword({ keyword: 'secret', schemaType: 'boolean' });
    expect(ajv.validateSchema(configSchema()), JSON.stringify(ajv.errors)).toBe(true);
  });

  it('lists every setting in schema order, with a title, description and type', () => {
    expect(settingNames()[0]).toBe('api_token');
    expect(settingNames()).toContain('base_url');
    expect(settingNames()).toContain('discover_sample');
    for (const name of settingNames()) {
      const setting = configSchema().properties[name];
      expect(setting?.title, name).toEqual(expect.any(String));
      expect(setting?.description, name).toEqual(expect.any(String));
      expect(setting?.type, name).toBeDefined();
    }
    expect(configSchema().required).toEqual(['api_token', 'start_date']);
    expect(configSchema().additionalProperties).toBe(true);
  });

  it('names environment variables the Meltano way and marks the token secret', () => {
    expect(envVarName('api_token')).toBe('TAP_WEMASY_API_TOKEN');
    expect(envVarName('session-ids')).toBe('TAP_WEMASY_SESSION_IDS');
    expect(secretSettings()).toEqual(['api_token']);
  });

  it('compiles under ajv strict mode, and is frozen', () => {
    const ajv = new Ajv({ strict: true, allowUnionTypes: true });
    ajv.addKeyword('secret');
    expect(() => ajv.compile(configSchema())).not.toThrow();
    expect(Object.isFrozen(configSchema().properties)).toBe(true);
  });
});

describe('parseSettings: defaults and conversion', () => {
  it('applies every default', () => {
    const settings = parse(BASE);
    expect(settings.apiToken).toBe(TOKEN);
    expect(settings.baseUrl).toBe('https://api.wemasy.nl/api');
    expect(settings.startDate.toISO()).toBe('2026-01-01T00:00:00.000Z');
    expect(settings.endDate).toBeUndefined();
    expect(settings.timezone).toBe('UTC');
    expect(settings.windowSize.toMillis()).toBe(Duration.fromObject({ days: 1 }).toMillis());
    expect(settings.lookbackWindow.toMillis()).toBe(2 * 3_600_000);
    expect(settings.endLag.toMillis()).toBe(15 * 60_000);
    expect(settings.sessionLookback.toMillis()).toBe(Duration.fromObject({ days: 1 }).toMillis());
    expect(settings.sessionIds).toBeUndefined();
    expect(settings.sessionBatchSize).toBe(1000);
    expect(settings.sessionFilters).toEqual({});
    expect(settings.sessionsPageSize).toBe(10000);
    expect(settings.maxSessionBatchSize).toBe(10000);
    expect(settings.conversionTypes).toBeUndefined();
    expect(settings.discoverSample).toBe(false);
    expect(settings.adaptiveWindows).toBe(true);
    expect(settings.windowTargetRecords).toBe(20_000);
    expect(settings.maxWindowSize.as('days')).toBe(31);
    expect(settings.http).toEqual({
      requestsPerMinute: 60,
      rateLimitWindowMs: 60_000,
      timeoutMs: 60_000,
      maxRetries: 8,
      retryBaseDelayMs: 1000,
      retryMaxDelayMs: 60_000,
    });
  });

  it('does not share the default filters object between runs', () => {
    const first = parse(BASE);
    first.sessionFilters.mutated = true;
    expect(parse(BASE).sessionFilters).toEqual({});
    expect(configSchema().properties.session_filters?.default).toEqual({});
  });

  it('converts every setting given', () => {
    const settings = parse({
      api_token: `  ${TOKEN}\n`,
      start_date: '2026-03-29',
      end_date: '2026-04-01T06:30:00+02:00',
      timezone: 'Europe/Amsterdam',
      window_size: 'PT6H',
      lookback_window: 'PT2H',
      session_ids: [3, '4', 3, '3', 'abc'],
      session_lookback: 'PT12H',
      session_batch_size: 25,
      session_filters: { country: 'NL' },
      sessions_page_size: 100,
      conversion_types: ['click', 'url', 'click'],
      requests_per_minute: 30.5,
      rate_limit_window: 'PT1S',
      adaptive_windows: false,
      window_target_records: 500,
      max_window_size: 'P7D',
      request_timeout: 2.5,
      max_retries: 0,
      retry_base_delay: 0.25,
      retry_max_delay: 10,
      base_url: 'https://proxy.example.com/wemasy/',
    });
    expect(settings.apiToken).toBe(TOKEN);
    // No offset: read in the project's zone (Amsterdam is UTC+1 before the spring change).
    expect(settings.startDate.toISO()).toBe('2026-03-28T23:00:00.000Z');
    expect(settings.endDate?.toISO()).toBe('2026-04-01T04:30:00.000Z');
    expect(settings.timezone).toBe('Europe/Amsterdam');
    expect(settings.windowSize.as('hours')).toBe(6);
    expect(settings.lookbackWindow.as('hours')).toBe(2);
    expect(settings.sessionLookback.as('hours')).toBe(12);
    expect(settings.sessionIds).toEqual([3, '4', 'abc']);
    expect(settings.sessionBatchSize).toBe(25);
    expect(settings.sessionFilters).toEqual({ country: 'NL' });
    expect(settings.sessionsPageSize).toBe(100);
    expect(settings.conversionTypes).toEqual(['click', 'url']);
    expect(settings.adaptiveWindows).toBe(false);
    expect(settings.windowTargetRecords).toBe(500);
    expect(settings.maxWindowSize.as('days')).toBe(7);
    expect(settings.http).toEqual({
      requestsPerMinute: 30.5,
      rateLimitWindowMs: 1000,
      timeoutMs: 2500,
      maxRetries: 0,
      retryBaseDelayMs: 250,
      retryMaxDelayMs: 10_000,
    });
    expect(settings.baseUrl).toBe('https://proxy.example.com/wemasy');
  });

  it('keeps an end_date in the future as given (the sync caps it at now)', () => {
    expect(parse({ ...BASE, end_date: '2030-01-01' }).endDate?.toISO()).toBe('2030-01-01T00:00:00.000Z');
  });

  it('accepts a start_date equal to now', () => {
    expect(parse({ ...BASE, start_date: '2026-06-01T12:00:00Z' }).startDate.equals(NOW)).toBe(true);
  });

  it('reads a number setting given as a numeric string (Meltano passes kind: string settings so)', () => {
    const settings = parse({ ...BASE, requests_per_minute: '30', request_timeout: ' 2.5 ', retry_base_delay: '0.5' });
    expect(settings.http.requestsPerMinute).toBe(30);
    expect(settings.http.timeoutMs).toBe(2500);
    expect(settings.http.retryBaseDelayMs).toBe(500);
  });

  it('treats null as unset', () => {
    const settings = parse({ ...BASE, end_date: null, timezone: null, session_ids: null });
    expect(settings.endDate).toBeUndefined();
    expect(settings.timezone).toBe('UTC');
    expect(settings.sessionIds).toBeUndefined();
    expect(thrown(() => parse({ ...BASE, api_token: null })).message).toContain('api_token: is missing');
  });

  it('warns once about unknown settings far from every known one', () => {
    const { log, lines } = capturingLogger();
    parse({ ...BASE, foo: 1, user_agent: 'x', stream_maps: {}, bar: null }, log);
    const warnings = lines.filter((line) => line.includes(' WARN '));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('ignoring unknown settings: foo, user_agent, stream_maps');
  });

  it.each([
    ['time_zone', 'timezone'],
    ['timzone', 'timezone'],
    ['TimeZone', 'timezone'],
    ['startDate', 'start_date'],
    ['Window-Size', 'window_size'],
    ['window size', 'window_size'],
    ['api_tokn', 'api_token'],
    ['session_id', 'session_ids'],
    ['conversion_type', 'conversion_types'],
    ['baseUrl', 'base_url'],
    ['max_retires', 'max_retries'],
  ])('stops at an unknown key close to a known one: %s (did you mean %s?)', (typo, meant) => {
    const raw: JsonObject = { ...BASE, [typo]: 'Europe/Amsterdam' };
    if (meant in raw) delete raw[meant];
    const error = thrown(() => parse(raw));
    expect(error.kind).toBe('config');
    expect(error.message).toMatch(new RegExp(`^invalid config: ${typo}: unknown setting \\(did you mean ${meant}\\?\\)`));
    expect(error.message).not.toContain(TOKEN);
  });

  it('extras that orchestrators and SDK-based tooling pass are far from every setting (a warning, not an error)', () => {
    const extras = ['user_agent', 'stream_maps', 'stream_map_config', 'flattening_enabled', 'flattening_max_depth', 'batch_config', 'select', 'metadata', 'schema', 'load_schema', 'state', 'catalog', 'properties'];
    for (const extra of extras) expect(nearestSettings(extra, settingNames()), extra).toEqual([]);
  });

  it('treats a "__proto__" key as just another unknown setting', () => {
    const { log, lines } = capturingLogger();
    const raw = JSON.parse(`{"__proto__": {"timezone": "Mars/Olympus"}, "api_token": "${TOKEN}", "start_date": "2026-01-01"}`) as JsonObject;
    expect(parse(raw, log).timezone).toBe('UTC');
    expect(lines.join('')).toContain('ignoring unknown settings: __proto__');
  });

  it('does not warn when every setting is known', () => {
    const { log, lines } = capturingLogger();
    parse(BASE, log);
    expect(lines.filter((line) => line.includes(' WARN '))).toEqual([]);
  });
});

describe('parseSettings: base_url', () => {
  it.each([
    ['http://localhost:8080/api/', 'http://localhost:8080/api'],
    ['http://127.0.0.1:3000', 'http://127.0.0.1:3000'],
    ['http://127.10.20.30/x//', 'http://127.10.20.30/x'],
    ['http://[::1]:9999/api', 'http://[::1]:9999/api'],
    ['HTTPS://API.Example.COM/api/', 'https://api.example.com/api'],
  ])('accepts %s', (baseUrl, expected) => {
    expect(parse({ ...BASE, base_url: baseUrl }).baseUrl).toBe(expected);
  });

  it.each([
    ['http://api.wemasy.nl/api', 'plain http://'],
    ['http://10.0.0.5:8080', 'plain http://'],
    ['http://128.0.0.1', 'plain http://'],
    ['http://localhost.example.com', 'plain http://'],
    ['http://[::2]', 'plain http://'],
    ['ftp://api.wemasy.nl', 'must be an https:// URL'],
    ['api.wemasy.nl/api', 'is not a valid URL'],
    ['https://me:pw@api.wemasy.nl/api', 'must not contain a user name or password'],
    ['https://api.wemasy.nl/api?x=1', 'must not have a query string'],
  ])('refuses %s', (baseUrl, expected) => {
    const error = thrown(() => parse({ ...BASE, base_url: baseUrl }));
    expect(error.kind).toBe('config');
    expect(error.message).toContain('base_url: ');
    expect(error.message).toContain(expected);
  });

  it('does not echo credentials found in the URL', () => {
    const error = thrown(() => parse({ ...BASE, base_url: 'https://me:hunter2secret@api.wemasy.nl' }));
    expect(error.message).not.toContain('hunter2secret');
  });
});

describe('parseSettings: every bad setting is named', () => {
  const cases: ReadonlyArray<[string, Record<string, JsonValue | undefined>, string]> = [
    ['api_token missing', { api_token: undefined }, 'api_token: is missing'],
    ['api_token empty', { api_token: '' }, 'api_token: is empty'],
    ['api_token blank', { api_token: ' \n ' }, 'api_token: is empty'],
    ['api_token a number', { api_token: 1234 }, 'api_token: must be a string'],
    ['api_token an array', { api_token: [TOKEN] }, 'api_token: must be a string'],
    ['api_token with a space', { api_token: `${TOKEN} x` }, 'api_token: must be printable ASCII'],
    ['start_date missing', { start_date: undefined }, 'start_date: is missing'],
    ['start_date bad month', { start_date: '2026-13-01' }, 'start_date: "2026-13-01" is not an ISO 8601 date'],
    ['start_date not a date', { start_date: 'last tuesday' }, 'start_date: "last tuesday" is not an ISO 8601'],
    ['start_date a number', { start_date: 20260101 }, 'start_date: must be a string, not an integer'],
    ['start_date in the future', { start_date: '2026-06-02' }, 'start_date: "2026-06-02" is in the future'],
    ['end_date before start', { end_date: '2025-12-31' }, 'end_date: "2025-12-31" must be after start_date'],
    ['end_date equal to start', { end_date: '2026-01-01T00:00:00Z' }, 'must be after start_date "2026-01-01"'],
    ['end_date not a date', { end_date: '31/12/2026' }, 'end_date: "31/12/2026" is not an ISO 8601'],
    ['timezone unknown', { timezone: 'Mars/Olympus' }, 'timezone: "Mars/Olympus" is not a known IANA time zone'],
    ['timezone a number', { timezone: 2 }, 'timezone: must be a string'],
    ['window_size not ISO', { window_size: '1 day' }, 'window_size: "1 day" is not an ISO 8601 duration'],
    ['window_size zero', { window_size: 'PT0S' }, 'window_size: "PT0S" must be longer than zero'],
    ['lookback_window not ISO', { lookback_window: '2h' }, 'lookback_window: "2h" is not an ISO 8601 duration'],
    ['session_lookback zero', { session_lookback: 'P0D' }, 'session_lookback: "P0D" must be longer than zero'],
    ['session_lookback not ISO', { session_lookback: 'P1X' }, 'session_lookback: "P1X" is not an ISO 8601'],
    ['session_ids empty', { session_ids: [] }, 'session_ids: must list at least one item'],
    ['session_ids a string', { session_ids: '1,2' }, 'session_ids: must be an array, not a string'],
    ['session_ids bad item', { session_ids: [1, true] }, 'session_ids[1]: must be an integer or a string'],
    ['session_ids empty item', { session_ids: [''] }, 'session_ids[0]: is empty'],
    ['session_ids fraction', { session_ids: [1.5] }, 'session_ids[0]: must be an integer or a string, got 1.5'],
    ['session_ids negative', { session_ids: [-1] }, 'session_ids[0]: must be at least 0, got -1'],
    ['session_ids huge', { session_ids: [1e20] }, 'session_ids[0]: 100000000000000000000 is too large'],
    ['session_batch_size zero', { session_batch_size: 0 }, 'session_batch_size: must be at least 1, got 0'],
    ['session_batch_size big', { session_batch_size: 10_001 }, 'session_batch_size: must be at most 10000'],
    ['session_batch_size fraction', { session_batch_size: 2.5 }, 'session_batch_size: must be an integer, got 2.5'],
    ['session_batch_size text', { session_batch_size: '100' }, 'session_batch_size: must be an integer, not a string'],
    ['session_filters an array', { session_filters: [] }, 'session_filters: must be an object, not an array'],
    ['sessions_page_size zero', { sessions_page_size: 0 }, 'sessions_page_size: must be at least 1'],
    ['conversion_types empty', { conversion_types: [] }, 'conversion_types: must list at least one item'],
    ['conversion_types empty item', { conversion_types: ['click', ''] }, 'conversion_types[1]: is empty'],
    ['conversion_types a string', { conversion_types: 'click' }, 'conversion_types: must be an array'],
    ['requests_per_minute zero', { requests_per_minute: 0 }, 'requests_per_minute: must be greater than 0, got 0'],
    ['requests_per_minute text', { requests_per_minute: 'fast' }, 'requests_per_minute: must be a number'],
    ['request_timeout negative', { request_timeout: -1 }, 'request_timeout: must be greater than 0'],
    ['request_timeout huge', { request_timeout: 1e9 }, 'request_timeout: must be at most 86400'],
    ['max_retries negative', { max_retries: -1 }, 'max_retries: must be at least 0'],
    ['max_retries big', { max_retries: 101 }, 'max_retries: must be at most 100'],
    ['retry_base_delay negative', { retry_base_delay: -0.5 }, 'retry_base_delay: must be at least 0, got -0.5'],
    ['retry_max_delay text', { retry_max_delay: '60 s' }, 'retry_max_delay: must be a number, not a string'],
    ['base_url a number', { base_url: 443 }, 'base_url: must be a string'],
  ];

  it.each(cases)('%s', (_name, patch, expected) => {
    const error = thrown(() => parse(withPatch(patch)));
    expect(error.kind).toBe('config');
    expect(error.userInput).toBe(true);
    expect(error.message.startsWith('invalid config: ')).toBe(true);
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain('\n');
    expect(error.message).not.toContain(TOKEN);
  });

  it('reports zero as a valid lookback_window but a negative one as a problem', () => {
    expect(parse({ ...BASE, lookback_window: 'P0D' }).lookbackWindow.toMillis()).toBe(0);
    const error = thrown(() => parse({ ...BASE, lookback_window: '-PT1H' }));
    expect(error.message).toMatch(/lookback_window: "-PT1H" (must be zero or longer|is not an ISO 8601 duration)/);
  });

  it('lists every problem in one line, in schema order', () => {
    const error = thrown(() =>
      parse({ api_token: TOKEN, start_date: '2026-13-01', timezone: 'Mars/Olympus', max_retries: -2 }),
    );
    expect(error.message).toBe(
      'invalid config: start_date: "2026-13-01" is not an ISO 8601 date or date-time ' +
        '(e.g. "2026-01-01" or "2026-01-01T00:00:00Z"); ' +
        'timezone: "Mars/Olympus" is not a known IANA time zone (e.g. "Europe/Amsterdam" or "UTC"); ' +
        'max_retries: must be at least 0, got -2',
    );
  });

  it('checks date syntax, but no date order, when the time zone is bad', () => {
    const error = thrown(() => parse({ ...BASE, timezone: 'Nowhere/Town', start_date: '2099-01-01' }));
    expect(error.message).toContain('timezone: ');
    expect(error.message).not.toContain('start_date');
  });

  it('never lets a recognisable token into a message', () => {
    const everythingWrong: JsonObject = {
      api_token: TOKEN,
      start_date: TOKEN,
      end_date: TOKEN,
      timezone: TOKEN,
      window_size: TOKEN,
      lookback_window: TOKEN,
      session_lookback: TOKEN,
      base_url: `http://example.com/${TOKEN}`,
      session_ids: [TOKEN, true],
      conversion_types: [TOKEN, 7],
      session_filters: TOKEN,
      sessions_page_size: TOKEN,
    };
    const error = thrown(() => parse(everythingWrong));
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain('SECRET');
    for (const name of ['start_date', 'end_date', 'timezone', 'window_size', 'lookback_window', 'base_url']) {
      expect(error.message).toContain(`${name}: `);
    }
    for (const badToken of [{ token: TOKEN }, [TOKEN], `${TOKEN} ${TOKEN}`, `${TOKEN}\u00e9`]) {
      const message = thrown(() => parse({ ...BASE, api_token: badToken })).message;
      expect(message).toContain('api_token: ');
      expect(message).not.toContain('SECRET');
    }
  });

  it('redacts secret values for logging', () => {
    const raw: JsonObject = { ...BASE, timezone: 'UTC' };
    expect(redactConfig(raw)).toEqual({ api_token: '***', start_date: '2026-01-01', timezone: 'UTC' });
    expect(raw.api_token).toBe(TOKEN);
    expect(redactConfig({ start_date: 'x' })).toEqual({ start_date: 'x' });
  });
});

describe('loadRawConfig', () => {
  let dir: string;
  const file = async (name: string, content: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tap-wemasy-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('merges files left to right, later wins, shallow', async () => {
    const first = await file('a.json', JSON.stringify({ ...BASE, timezone: 'UTC', session_filters: { a: 1 } }));
    const second = await file('b.json', JSON.stringify({ timezone: 'Europe/Amsterdam', session_filters: { b: 2 } }));
    const { log } = capturingLogger();
    expect(await loadRawConfig([first, second], {}, log)).toEqual({
      ...BASE,
      timezone: 'Europe/Amsterdam',
      session_filters: { b: 2 },
    });
    expect((await loadRawConfig([second, first], {}, log)).timezone).toBe('UTC');
    expect(await loadRawConfig([], {}, log)).toEqual({});
  });

  it('accepts a file that starts with a byte-order mark', async () => {
    const path = await file('bom.json', `\ufeff${JSON.stringify(BASE)}`);
    expect(await loadRawConfig([path], {}, capturingLogger().log)).toEqual(BASE);
  });

  it('reads the environment only with --config ENV, and then it wins over every file', async () => {
    const path = await file('env-base.json', JSON.stringify({ ...BASE, timezone: 'UTC' }));
    const env = { TAP_WEMASY_TIMEZONE: 'Europe/Amsterdam', TAP_WEMASY_START_DATE: '2026-02-01' };
    const { log, lines } = capturingLogger();
    expect((await loadRawConfig([path], env, log)).timezone).toBe('UTC');
    for (const order of [
      [ENV_SOURCE, path],
      [path, ENV_SOURCE],
    ]) {
      expect(await loadRawConfig(order, env, log)).toEqual({
        api_token: TOKEN,
        start_date: '2026-02-01',
        timezone: 'Europe/Amsterdam',
      });
    }
    const info = lines.find((line) => line.includes('environment variables'));
    expect(info).toContain('TAP_WEMASY_START_DATE, TAP_WEMASY_TIMEZONE');
  });

  it('casts environment values by schema type', async () => {
    const env: NodeJS.ProcessEnv = {
      TAP_WEMASY_API_TOKEN: TOKEN,
      TAP_WEMASY_START_DATE: '2026-01-01',
      TAP_WEMASY_SESSION_BATCH_SIZE: ' 50 ',
      TAP_WEMASY_REQUESTS_PER_MINUTE: '0.5',
      TAP_WEMASY_SESSION_IDS: '[1, "a"]',
      TAP_WEMASY_CONVERSION_TYPES: '["click","url"]',
      TAP_WEMASY_SESSION_FILTERS: '{"country": "NL"}',
      TAP_WEMASY_END_DATE: '',
      TAP_WEMASY_UNKNOWN_THING: 'x',
      OTHER: 'y',
    };
    const { log, lines } = capturingLogger();
    const raw = await loadRawConfig([ENV_SOURCE], env, log);
    expect(raw).toEqual({
      api_token: TOKEN,
      start_date: '2026-01-01',
      session_batch_size: 50,
      requests_per_minute: 0.5,
      session_ids: [1, 'a'],
      conversion_types: ['click', 'url'],
      session_filters: { country: 'NL' },
    });
    expect(lines.join('')).not.toContain(TOKEN);
    const settings = parse(raw);
    expect(settings.sessionBatchSize).toBe(50);
    expect(settings.sessionIds).toEqual([1, 'a']);
  });

  it('accepts comma-separated lists with a deprecation warning', async () => {
    const { log, lines } = capturingLogger();
    const raw = await loadRawConfig(
      [ENV_SOURCE],
      { TAP_WEMASY_SESSION_IDS: '1, 2,abc,', TAP_WEMASY_CONVERSION_TYPES: 'click,url' },
      log,
    );
    expect(raw).toEqual({ session_ids: [1, 2, 'abc'], conversion_types: ['click', 'url'] });
    const warnings = lines.filter((line) => line.includes(' WARN '));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('TAP_WEMASY_SESSION_IDS: comma-separated lists are deprecated');
  });

  it.each([
    ['TAP_WEMASY_MAX_RETRIES', `lots${TOKEN}`, 'environment variable TAP_WEMASY_MAX_RETRIES must be an integer'],
    ['TAP_WEMASY_REQUEST_TIMEOUT', 'Infinity', 'environment variable TAP_WEMASY_REQUEST_TIMEOUT must be a number'],
    ['TAP_WEMASY_RETRY_MAX_DELAY', '  ', 'environment variable TAP_WEMASY_RETRY_MAX_DELAY must be a number'],
    ['TAP_WEMASY_SESSION_IDS', `[${TOKEN}]`, 'environment variable TAP_WEMASY_SESSION_IDS is not a valid JSON array'],
    ['TAP_WEMASY_SESSION_FILTERS', `{${TOKEN}}`, 'TAP_WEMASY_SESSION_FILTERS is not a valid JSON object'],
    ['TAP_WEMASY_SESSION_FILTERS', '[1]', 'environment variable TAP_WEMASY_SESSION_FILTERS must hold a JSON object'],
    ['TAP_WEMASY_SESSION_FILTERS', TOKEN, 'TAP_WEMASY_SESSION_FILTERS is not a valid JSON object'],
  ])('refuses %s=%j naming the variable, not the value', async (variable, value, expected) => {
    const error = await thrownAsync(() => loadRawConfig([ENV_SOURCE], { [variable]: value }, capturingLogger().log));
    expect(error.kind).toBe('config');
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain('SECRET');
  });

  it('reports a missing file', async () => {
    const path = join(dir, 'missing.json');
    const error = await thrownAsync(() => loadRawConfig([path], {}, capturingLogger().log));
    expect(error.kind).toBe('config');
    expect(error.message).toBe(`config file ${path} not found`);
  });

  it('reports a directory', async () => {
    const error = await thrownAsync(() => loadRawConfig([dir], {}, capturingLogger().log));
    expect(error.message).toBe(`config file ${dir} is a directory, not a file`);
  });

  it.each([
    ['bare token', `{"api_token": ${TOKEN}}`, 'unexpected token'],
    ['trailing comma', `{"api_token": "${TOKEN}",\n}`, 'at line 2 column 1'],
    ['cut short', `{"api_token": "${TOKEN}"`, 'at line 1 column'],
    ['empty', '  \n', 'the file is empty'],
  ])('reports invalid JSON (%s) without echoing the file', async (_name, content, detail) => {
    const path = await file('bad.json', content);
    const error = await thrownAsync(() => loadRawConfig([path], {}, capturingLogger().log));
    expect(error.kind).toBe('config');
    expect(error.message).toContain(`config file ${path} is not valid JSON: `);
    expect(error.message).toContain(detail);
    expect(error.message).not.toContain('SECRET');
  });

  it.each([['[]'], ['"text"'], ['null'], ['42']])('refuses %s: not an object', async (content) => {
    const path = await file('not-object.json', content);
    const error = await thrownAsync(() => loadRawConfig([path], {}, capturingLogger().log));
    expect(error.message).toBe(`config file ${path} must hold a JSON object`);
  });

  it('turns JSON.parse positions into line and column', () => {
    const text = '{\n  "a": 1,\n}';
    let caught: unknown;
    try {
      JSON.parse(text);
    } catch (error) {
      caught = error;
    }
    expect(safeJsonErrorMessage(caught, text)).toMatch(/at line 3 column 1$/);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { byId, expectedRecords } from '../helpers/expected.js';
import { useCountingListener, useTapFixture } from '../helpers/fixture.js';
import { runInProcess } from '../helpers/in-process.js';
import type { SingerMessage, TapRun } from '../helpers/run-tap.js';

/**
 * The tap as Meltano drives it (shared/singer/meltano-invocation.md): the argument lists Meltano
 * builds, settings as TAP_WEMASY_* variables, the catalog Meltano writes back after applying its
 * `select`, `metadata` and `schema` rules, and the state it stores. In-process (runTap): what only
 * a process shows of Meltano's use (the installed bin, pipes) is in pack.test.ts and pipe.test.ts.
 */

const catalogJson = readFileSync(new URL('../../catalog.json', import.meta.url), 'utf8');
const configSchema = JSON.parse(readFileSync(new URL('../../schemas/config.json', import.meta.url), 'utf8')) as {
  properties: Record<string, { type: string | string[]; default?: unknown }>;
};
const TOKEN = 'test-token';

interface CatalogEntry {
  tap_stream_id: string;
  stream: string;
  selected?: boolean;
  schema: { properties: Record<string, Record<string, unknown>> };
  key_properties: string[];
  replication_key: string;
  metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[];
}
interface Catalog {
  streams: CatalogEntry[];
}

const discovered = (): Catalog => JSON.parse(catalogJson) as Catalog;

/** What Meltano writes to tap.properties.json for `select` patterns `stream.field` / `stream.*`. */
function meltanoSelect(catalog: Catalog, patterns: string[]): Catalog {
  const match = (stream: string, field: string): boolean =>
    patterns.some((p) => {
      const [s, f] = p.split('.');
      return (s === '*' || s === stream) && (f === '*' || f === field);
    });
  for (const entry of catalog.streams) {
    const on = patterns.some((p) => p.split('.')[0] === entry.stream || p.startsWith('*.'));
    entry.selected = on;
    for (const m of entry.metadata) {
      m.metadata.selected = m.breadcrumb.length === 0 ? on : match(entry.stream, m.breadcrumb[1] ?? '');
    }
  }
  return catalog;
}

const tap = useTapFixture({
  api: { dataset: { zone: 'Europe/Amsterdam' }, rateLimit: { limit: 100_000, windowMs: 60_000 } },
  defaults: { api_token: TOKEN, start_date: '2026-01-01', end_date: '2026-01-03', timezone: 'Europe/Amsterdam' },
});
const configFile = (extra: object = {}): string => tap.config(extra);
const fileOf = (name: string, value: unknown): string => tap.file(name, value);

/** The RECORDs of a run as sorted JSON lines: batch requests run concurrently, so order varies. */
const recordsOf = (run: TapRun): string[] =>
  run.messages
    .filter((m) => m.type === 'RECORD')
    .map((m) => JSON.stringify({ stream: m.stream, record: m.record }))
    .sort();

describe('the argument lists Meltano builds', () => {
  it('--discover with --config, --catalog and --state left over from an earlier run prints the catalog', async () => {
    const state = fileOf('state.json', { bookmarks: { sessions: { replication_key: 'created_at', replication_key_value: '2026-01-02T00:00:00Z' } } });
    const properties = fileOf('tap.properties.json', meltanoSelect(discovered(), ['visits.*']));
    for (const args of [
      ['--config', configFile(), '--discover'],
      ['--config', configFile(), '--state', state, '--discover'],
      ['--config', configFile(), '--catalog', properties, '--state', state, '--discover'],
      ['--config', configFile(), '--catalog', join(tap.dir, 'gone.json'), '--state', join(tap.dir, 'gone-too.json'), '--discover'],
    ]) {
      const run = await runInProcess(args);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe(catalogJson);
      expect(run.stderr).not.toMatch(/WARN|ERROR|CRITICAL/);
    }
    expect(tap.api.requests).toHaveLength(0);
  });

  it('--about works with any config: valid, missing, not JSON, invalid settings; with --catalog and --state too', async () => {
    const notJson = tap.file('broken.json', '{"api_token": ');
    const invalid = tap.file('invalid.json', { start_date: 'yesterday-ish', requests_per_minute: -1 });
    for (const config of [configFile(), join(tap.dir, 'missing.json'), notJson, invalid]) {
      const run = await runInProcess(['--config', config, '--catalog', join(tap.dir, 'nope.json'), '--state', join(tap.dir, 'nope2.json'), '--about']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^Name: tap-wemasy$/m);
      expect(run.stderr).toBe('');
    }
    const json = await runInProcess(['--config', join(tap.dir, 'missing.json'), '--about', '--format', 'json']);
    expect((JSON.parse(json.stdout) as { name: string }).name).toBe('tap-wemasy');
  });

  describe('discovery needs no network', () => {
    const listener = useCountingListener('127.0.0.1');

    it('base_url at a port that drops every connection: the catalog, and not one connection made', async () => {
      const run = await runInProcess(['--config', configFile({ base_url: `http://127.0.0.1:${listener.port}/api` }), '--discover']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe(catalogJson);
      expect(run.stderr).not.toMatch(/METRIC|WARN/);
      expect(listener.connections).toBe(0);
    });
  });
});

describe('settings from the environment (--config ENV)', () => {
  /** A value for every setting: explicit ones below, the schema default for the rest. */
  const explicit: Record<string, unknown> = {
    api_token: TOKEN,
    start_date: '2026-01-01',
    end_date: '2026-01-03',
    timezone: 'Europe/Amsterdam',
    base_url: '(api)',
    window_size: 'PT12H',
    lookback_window: 'PT0S',
    session_ids: [26305, '26306', 26307, 26308],
    session_lookback: 'PT12H',
    session_batch_size: 3,
    session_filters: { country: 'NL' },
    sessions_page_size: 7,
    conversion_types: ['click'],
    requests_per_minute: 60000,
    request_timeout: 5,
    max_retries: 2,
    retry_base_delay: 0.01,
    retry_max_delay: 0.05,
    discover_sample: false,
  };
  const values = (): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(configSchema.properties)) {
      const value = name === 'base_url' ? tap.api.url : name in explicit ? explicit[name] : spec.default;
      if (value === undefined) throw new Error(`give setting ${name} a value in this test`);
      out[name] = value;
    }
    return out;
  };
  const asEnv = (settings: Record<string, unknown>): Record<string, string> =>
    Object.fromEntries(
      Object.entries(settings).map(([name, value]) => [`TAP_WEMASY_${name.toUpperCase()}`, typeof value === 'string' ? value : JSON.stringify(value)]),
    );

  it('every setting, the token included, works as TAP_WEMASY_<SETTING>, exactly as from a config file', async () => {
    const settings = values();
    const fromFile = await runInProcess(['--config', tap.file('all-settings.json', settings)]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const fileRequests = tap.api.requests.map((r) => `${r.endpoint} ${r.query.page ?? ''} ${r.rawBody}`).sort();
    tap.api.reset();

    // With everything else Meltano puts in the environment (its extras, MELTANO_*), which must
    // not read as misspelt settings.
    const meltanoExtras = {
      TAP_WEMASY__SELECT: '["sessions.*","visits.*","conversions.*"]',
      TAP_WEMASY__METADATA: '{}',
      TAP_WEMASY__SCHEMA: '{}',
      TAP_WEMASY__SELECT_FILTER: '[]',
      TAP_WEMASY__LOAD_SCHEMA: 'tap_wemasy',
      MELTANO_EXTRACT__SELECT: '["sessions.*"]',
      MELTANO_EXTRACT_API_TOKEN: TOKEN,
      MELTANO_EXTRACTOR_NAME: 'tap-wemasy',
      MELTANO_EXTRACTOR_NAMESPACE: 'tap_wemasy',
      MELTANO_EXTRACTOR_VARIANT: 'original',
      MELTANO_ENVIRONMENT: 'dev',
      MELTANO_STATE_BACKEND_URI: 'systemdb',
    };
    const fromEnv = await runInProcess(['--config', 'ENV'], { env: { ...asEnv(settings), ...meltanoExtras } });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(fromEnv.stderr).not.toMatch(/WARN|unknown setting/i);
    expect(recordsOf(fromEnv)).toEqual(recordsOf(fromFile));
    expect(recordsOf(fromEnv).length).toBeGreaterThan(0);
    expect(tap.api.requests.map((r) => `${r.endpoint} ${r.query.page ?? ''} ${r.rawBody}`).sort()).toEqual(fileRequests);
    // The values reached the API as given.
    const sessionsBody = tap.api.requests.find((r) => r.endpoint === 'sessions')?.body as Record<string, unknown>;
    expect(sessionsBody).toMatchObject({ per_page: '7', filters: { country: 'NL' } });
    const conversionsBody = tap.api.requests.find((r) => r.endpoint === 'conversions')?.body as Record<string, unknown>;
    expect(conversionsBody.conversion_types).toEqual(['click']);
    const visitBatches = tap.api.requests.filter((r) => r.endpoint === 'visits').map((r) => (r.body as { session_ids: unknown[] }).session_ids);
    expect(visitBatches.slice(0, 2).sort((a, b) => b.length - a.length)).toEqual([[26305, '26306', 26307], [26308]]);
    expect(tap.api.requests.every((r) => r.authorized)).toBe(true);
  });

  it("Meltano's config file with the number settings as strings (they are kind: string in meltano.yml) syncs as with numbers", async () => {
    const asText = { requests_per_minute: '60000', request_timeout: '5', retry_base_delay: '0.01', retry_max_delay: '0.05' };
    const run = await runInProcess(['--config', configFile({ ...asText, end_date: '2026-01-02' })]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/WARN|CRITICAL/);
    expect(byId(run.records('sessions'))).toEqual(expectedRecords(tap.api.dataset, 'sessions', '2025-12-31T23:00:00Z', '2026-01-01T23:00:00Z'));
  });

  it('never logs the environment: no token, no Meltano variable, no other variable, even at debug level', async () => {
    const canary = 'canary-value-3f9d1b';
    const env = {
      ...asEnv(values()),
      MELTANO_EXTRACT_API_TOKEN: TOKEN,
      MELTANO_PROJECT_ROOT: `/tmp/${canary}-root`,
      TAP_WEMASY__SELECT: `["${canary}.*"]`,
      SOME_OTHER_SECRET: canary,
    };
    const run = await runInProcess(['--config', 'ENV', '--log-level', 'debug'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/ DEBUG /);
    expect(run.stderr).not.toContain(TOKEN);
    expect(run.stderr).not.toContain(canary);
    expect(run.stdout).not.toContain(TOKEN);
    expect(run.stderr).toMatch(/reading settings from environment variables: TAP_WEMASY_API_TOKEN/);
  });
});

describe('state as Meltano stores it', () => {
  const incoming = {
    bookmarks: {
      sessions: { replication_key: 'created_at', replication_key_value: '2026-01-02T00:00:00Z' },
      conversions: { replication_key: 'created_at', replication_key_value: '2026-01-01T12:00:00Z' },
      some_retired_stream: { replication_key: 'updated_at', replication_key_value: 'whatever' },
    },
    currently_syncing: null,
  };

  it('echoes the incoming state first; with one stream selected every STATE still holds all bookmarks', async () => {
    const catalog = fileOf('tap.properties.json', meltanoSelect(discovered(), ['visits.*']));
    const state = tap.file('state.json', JSON.stringify(incoming, null, 2));
    const run = await runInProcess(['--config', configFile(), '--catalog', catalog, '--state', state]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.messages[0]).toEqual({ type: 'STATE', value: incoming });
    const states = run.states();
    expect(states.length).toBeGreaterThan(2);
    for (const value of states) {
      expect(value.bookmarks.sessions).toEqual(incoming.bookmarks.sessions);
      expect(value.bookmarks.conversions).toEqual(incoming.bookmarks.conversions);
      expect(value.bookmarks.some_retired_stream).toEqual(incoming.bookmarks.some_retired_stream);
      expect(value.currently_syncing).toBeNull();
    }
    // end_date 2026-01-03 in Europe/Amsterdam
    expect(run.lastState()?.bookmarks.visits).toEqual({ replication_key: 'created_at', replication_key_value: '2026-01-02T23:00:00Z' });
    expect(run.records('sessions')).toEqual([]);
  });

  it('an empty state file (Meltano has none yet) is no state', async () => {
    const run = await runInProcess(['--config', configFile({ end_date: '2026-01-02' }), '--state', tap.file('empty.json', '')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.records('sessions').length).toBeGreaterThan(0);
  });
});

describe('the catalog as Meltano writes it back', () => {
  it('discovery gives one metadata entry per top-level property: key and replication key automatic, the rest available', () => {
    for (const entry of discovered().streams) {
      const fields = Object.keys(entry.schema.properties);
      const crumbs = entry.metadata.map((m) => m.breadcrumb);
      expect(crumbs).toEqual([[], ...fields.map((f) => ['properties', f])]);
      const top = entry.metadata[0]?.metadata ?? {};
      expect(top).toMatchObject({ 'table-key-properties': entry.key_properties, 'valid-replication-keys': [entry.replication_key], 'forced-replication-method': 'INCREMENTAL' });
      for (const m of entry.metadata.slice(1)) {
        const field = m.breadcrumb[1] ?? '';
        const automatic = entry.key_properties.includes(field) || field === entry.replication_key;
        expect(m.metadata.inclusion, `${entry.stream}.${field}`).toBe(automatic ? 'automatic' : 'available');
      }
    }
  });

  it('selection by metadata; automatic fields are emitted even when Meltano marks them selected: false', async () => {
    const catalog = meltanoSelect(discovered(), ['visits.url', 'conversions.*']);
    const visitsEntry = catalog.streams.find((s) => s.stream === 'visits') as CatalogEntry;
    expect(visitsEntry.metadata.find((m) => m.breadcrumb[1] === 'id')?.metadata.selected).toBe(false);
    const run = await runInProcess(['--config', configFile(), '--catalog', fileOf('tap.properties.json', catalog)]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.schemas().map((s) => s.stream)).toEqual(['visits', 'conversions']);
    const visitsSchema = run.schemas()[0] as SingerMessage;
    expect(Object.keys((visitsSchema.schema as { properties: object }).properties)).toEqual(['id', 'created_at', 'url']);
    const expected = expectedRecords(tap.api.dataset, 'visits', '2025-12-31T23:00:00Z', '2026-01-02T23:00:00Z', { fields: ['id', 'created_at', 'url'] });
    expect(expected.length).toBeGreaterThan(0);
    expect(byId(run.records('visits'))).toEqual(expected);
    expect(byId(run.records('conversions'))).toEqual(expectedRecords(tap.api.dataset, 'conversions', '2025-12-31T23:00:00Z', '2026-01-02T23:00:00Z'));
  });

  it('selection by the legacy entry-level `selected` when the metadata has none; --properties is the same as --catalog', async () => {
    const catalog = discovered();
    for (const entry of catalog.streams) {
      entry.selected = entry.stream === 'sessions';
      for (const m of entry.metadata) delete m.metadata['selected-by-default'];
    }
    for (const flag of ['--catalog', '--properties']) {
      const run = await runInProcess(['--config', configFile({ end_date: '2026-01-02' }), flag, fileOf('catalog.json', catalog)]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.schemas().map((s) => s.stream)).toEqual(['sessions']);
      expect(byId(run.records('sessions'))).toEqual(expectedRecords(tap.api.dataset, 'sessions', '2025-12-31T23:00:00Z', '2026-01-01T23:00:00Z'));
    }
  });

  it('a schema overridden in the catalog (the `schema` extra: time_spend as a string) is the one emitted and validated', async () => {
    const catalog = meltanoSelect(discovered(), ['visits.*']);
    const visits = catalog.streams.find((s) => s.stream === 'visits') as CatalogEntry;
    visits.schema.properties.time_spend = { type: ['null', 'string'], description: 'overridden' };
    const run = await runInProcess(['--config', configFile({ end_date: '2026-01-02' }), '--catalog', fileOf('tap.properties.json', catalog)]);
    expect(run.code, run.stderr).toBe(0);
    const schema = run.schemas()[0]?.schema as { properties: Record<string, unknown> };
    expect(schema.properties.time_spend).toEqual({ type: ['null', 'string'], description: 'overridden' });
    const expected = expectedRecords(tap.api.dataset, 'visits', '2025-12-31T23:00:00Z', '2026-01-01T23:00:00Z');
    expect(expected.length).toBeGreaterThan(0);
    const records = byId(run.records('visits'));
    expect(records.every((r) => typeof r.time_spend === 'string')).toBe(true);
    expect(records).toEqual(expected.map((r) => ({ ...r, time_spend: String(r.time_spend) })));
  });

  it('a run with every stream deselected writes only the state', async () => {
    const catalog = meltanoSelect(discovered(), []);
    const state = { bookmarks: { visits: { replication_key: 'created_at', replication_key_value: '2026-01-02T00:00:00Z' } } };
    const run = await runInProcess(['--config', configFile(), '--catalog', fileOf('tap.properties.json', catalog), '--state', fileOf('state.json', state)]);
    expect(run.code, run.stderr).toBe(0);
    expect(new Set(run.messages.map((m) => m.type))).toEqual(new Set(['STATE']));
    expect(run.lastState()).toEqual(state);
    expect(tap.api.requests).toHaveLength(0);
  });
});

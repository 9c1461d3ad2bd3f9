import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { DEFAULT_NOW, fakeClock, runInProcess } from '../helpers/in-process.js';
import { tempDir, writeJson } from '../helpers/run-tap.js';

// ajv-formats is CommonJS: under NodeNext its default export arrives as the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/**
 * `discover_sample`: an opt-in discovery that samples a recent day of each stream and adds the
 * fields the shipped schemas lack. Without it, discovery never touches the network.
 */

interface Entry {
  stream: string;
  selected?: boolean;
  schema: { properties: Record<string, Record<string, unknown>> };
  metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[];
}
interface Catalog {
  streams: Entry[];
}

const catalogJson = readFileSync(new URL('../../catalog.json', import.meta.url), 'utf8');
const shipped = (): Catalog => JSON.parse(catalogJson) as Catalog;
const TOKEN = 'test-token';

/** What discover_sample adds for the test server's `extraFields`: the type a sync gives a new field. */
const ADDED: Record<string, Record<string, Record<string, unknown>>> = {
  sessions: { utm_source: { type: ['null', 'string'] } },
  visits: { device_pixel_ratio: { type: ['null', 'string'] } },
  conversions: { goal_id: { type: ['null', 'string'] } },
};

let api: FakeApi;
let dir: string;

beforeAll(async () => {
  api = await startFakeApi({ dataset: { zone: 'Europe/Amsterdam', extraFields: true }, rateLimit: { limit: 100_000, windowMs: 60_000 } });
  dir = tempDir();
});
afterAll(() => api.close());
beforeEach(() => api.reset());

const config = (extra: object = {}): string =>
  writeJson(dir, `config-${Math.random().toString(36).slice(2)}.json`, {
    api_token: TOKEN,
    base_url: api.url,
    start_date: '2026-01-01',
    end_date: '2026-01-04',
    timezone: 'Europe/Amsterdam',
    requests_per_minute: 60000,
    retry_base_delay: 0.01,
    retry_max_delay: 0.05,
    request_timeout: 5,
    discover_sample: true,
    ...extra,
  });

const warnings = (stderr: string): string[] => stderr.split('\n').filter((line) => / WARN /.test(line));

describe('--discover with discover_sample: true', () => {
  it('samples the last day before end_date with three requests and adds the missing fields, typed and available', async () => {
    const run = await runInProcess(['--config', config(), '--discover']);
    expect(run.code, run.stderr).toBe(0);
    expect(warnings(run.stderr)).toEqual([]);
    expect(api.requests.map((r) => r.endpoint)).toEqual(['sessions', 'visits', 'conversions']);
    const body = api.requests[0]?.body as Record<string, unknown>;
    expect(body).toMatchObject({ start_date: '2026-01-03 00:00:00', end_date: '2026-01-03 23:59:59' });
    expect(api.requests[0]?.query.page).toBe('1');
    const sampledIds = (api.requests[1]?.body as { session_ids: unknown[] }).session_ids;
    expect(sampledIds.length).toBeGreaterThan(0);
    expect((api.requests[2]?.body as { session_ids: unknown[] }).session_ids).toEqual(sampledIds);

    const catalog = JSON.parse(run.stdout) as Catalog;
    const original = shipped();
    expect(catalog.streams.map((s) => s.stream)).toEqual(original.streams.map((s) => s.stream));
    for (const [i, entry] of catalog.streams.entries()) {
      const before = original.streams[i] as Entry;
      const added = ADDED[entry.stream] ?? {};
      const fields = Object.keys(added);
      expect(Object.keys(entry.schema.properties)).toEqual([...Object.keys(before.schema.properties), ...fields]);
      for (const field of fields) {
        expect(entry.schema.properties[field], `${entry.stream}.${field}`).toEqual(added[field]);
      }
      expect(entry.metadata.slice(0, before.metadata.length)).toEqual(before.metadata);
      expect(entry.metadata.slice(before.metadata.length)).toEqual(
        fields.map((field) => ({ breadcrumb: ['properties', field], metadata: { inclusion: 'available', 'selected-by-default': true } })),
      );
      // Everything but the added properties and metadata is the shipped entry.
      expect({ ...entry, schema: { ...entry.schema, properties: before.schema.properties }, metadata: before.metadata }).toEqual(before);
    }
  });

  it('a sync with the sampled catalog emits the added fields, in records that validate against their SCHEMA', async () => {
    const discovered = await runInProcess(['--config', config(), '--discover']);
    const catalog = JSON.parse(discovered.stdout) as Catalog;
    for (const entry of catalog.streams) {
      entry.selected = true;
      for (const m of entry.metadata) m.metadata.selected = true;
    }
    const run = await runInProcess(['--config', config(), '--catalog', writeJson(dir, 'sampled.json', catalog)]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/new field/);
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
    addFormats(ajv);
    for (const [stream, added] of Object.entries(ADDED)) {
      const schema = run.schemas().find((s) => s.stream === stream)?.schema as Record<string, unknown>;
      const validate = ajv.compile(schema);
      const records = run.records(stream);
      expect(records.length).toBeGreaterThan(0);
      for (const field of Object.keys(added)) expect(records.every((r) => r[field] !== undefined && r[field] !== null), `${stream}.${field}`).toBe(true);
      for (const record of records) expect(validate(record), ajv.errorsText(validate.errors)).toBe(true);
    }
  });

  it('a sync without a catalog declares each new field exactly as discovery does', async () => {
    const discovered = JSON.parse((await runInProcess(['--config', config(), '--discover'])).stdout) as Catalog;
    const run = await runInProcess(['--config', config()]);
    expect(run.code, run.stderr).toBe(0);
    for (const entry of discovered.streams) {
      const last = run.schemas().filter((s) => s.stream === entry.stream).at(-1)?.schema as { properties: Record<string, unknown> };
      expect(last.properties, entry.stream).toEqual(entry.schema.properties);
    }
  });

  it('reads the setting from the environment too (--config ENV)', async () => {
    const env = {
      TAP_WEMASY_API_TOKEN: TOKEN,
      TAP_WEMASY_START_DATE: '2026-01-01',
      TAP_WEMASY_END_DATE: '2026-01-04',
      TAP_WEMASY_TIMEZONE: 'Europe/Amsterdam',
      TAP_WEMASY_BASE_URL: api.url,
      TAP_WEMASY_REQUESTS_PER_MINUTE: '60000',
      TAP_WEMASY_DISCOVER_SAMPLE: 'true',
    };
    const run = await runInProcess(['--config', 'ENV', '--discover'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(api.requests).toHaveLength(3);
    expect(Object.keys((JSON.parse(run.stdout) as Catalog).streams[0]?.schema.properties ?? {})).toContain('utm_source');
  });
});

describe('when sampling cannot work, the shipped catalog and a warning (exit 0)', () => {
  it('a refused token (401)', async () => {
    const run = await runInProcess(['--config', config({ api_token: 'refused-secret-token' }), '--discover']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(catalogJson);
    expect(warnings(run.stderr)).toEqual([expect.stringMatching(/discover_sample: sampling failed, printing the shipped catalog: .*401/)]);
    expect(run.stderr).not.toContain('refused-secret-token');
    expect(api.requests).toHaveLength(1);
  });

  it('a network error, quickly', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const clock = fakeClock(DEFAULT_NOW);
    const run = await runInProcess(['--config', config({ base_url: `http://127.0.0.1:${port}/api`, retry_base_delay: 1, retry_max_delay: 60 }), '--discover'], { clock });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(catalogJson);
    expect(warnings(run.stderr).at(-1)).toMatch(/discover_sample: sampling failed, printing the shipped catalog: .*network error/);
    // At most two retries with waits of at most 5 s each, whatever max_retries says (on the tap's clock).
    const waited = clock.nowMs() - Date.parse(DEFAULT_NOW);
    expect(waited).toBeGreaterThan(0);
    expect(waited).toBeLessThanOrEqual(10_000);
  });

  it('an invalid config, or one that cannot be read', async () => {
    const invalid = await runInProcess(['--config', config({ api_token: undefined, start_date: 'soon' }), '--discover']);
    expect(invalid.code).toBe(0);
    expect(invalid.stdout).toBe(catalogJson);
    expect(warnings(invalid.stderr)).toEqual([expect.stringMatching(/sampling failed.*invalid config: api_token: is missing.*start_date/)]);
    const missing = await runInProcess(['--config', `${dir}/no-such-config.json`, '--discover']);
    expect(missing.code).toBe(0);
    expect(missing.stdout).toBe(catalogJson);
    expect(warnings(missing.stderr)).toEqual([expect.stringMatching(/config file .* not found; printing the shipped catalog/)]);
    expect(api.requests).toHaveLength(0);
  });
});

describe('without discover_sample', () => {
  it('discovery reads nothing from the network, even with a working token and server', async () => {
    for (const extra of [{ discover_sample: false }, { discover_sample: undefined }]) {
      const run = await runInProcess(['--config', config(extra), '--discover']);
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(catalogJson);
      expect(run.stderr).toBe('');
    }
    expect(api.requests).toHaveLength(0);
  });
});

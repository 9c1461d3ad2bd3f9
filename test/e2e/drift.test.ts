import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIFT_KINDS, NEW_FIELDS, RawNumber, UNDOCUMENTED_FIELDS, driftKind, wireJson, type DriftStream } from '../fake-api/drift.js';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { utc } from '../helpers/expected.js';
import { runInProcess } from '../helpers/in-process.js';
import { criticalLines, tempDir, writeJson, type SingerMessage, type TapRun } from '../helpers/run-tap.js';

/**
 * The fuzz test of issue 8: an API whose undocumented item fields take values of every JSON type
 * (test/fake-api/drift.ts) and whose items grow new fields in the middle of the range, read
 * through the real CLI. Every record is emitted, every value is the served one up to the
 * README's conversion table, every record validates against the last SCHEMA before it, and two
 * runs over different data declare the same type for every field.
 */

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const STREAMS: readonly DriftStream[] = ['sessions', 'visits', 'conversions'];
const ZONE = 'Europe/Amsterdam';
const START = '2026-01-01T00:00:00Z';
const END = '2026-01-05T00:00:00Z';
/** New fields appear on items created from here on: the middle of the range. */
const NEW_FROM = '2026-01-03T00:00:00Z';
const SEEDS = [20261130, 7] as const;
const catalogJson = readFileSync(new URL('../../catalog.json', import.meta.url), 'utf8');

type Item = Record<string, unknown>;

/**
 * A served value as a `["null", "string"]` field must carry it (README "Field types"; an oracle
 * written from the table, not from src/): strings as served without NUL, numbers as their
 * decimal text (RawNumber: the text drift.ts says), booleans as "true"/"false", objects and
 * arrays as their JSON text as served.
 */
function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof RawNumber) return value.asText;
  if (typeof value === 'string') return value.replaceAll('\u0000', '');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return wireJson(value);
}

/** The record the tap must emit for a drifted item (no catalog: every field delivered). */
function expected(item: Item): Item {
  const record: Item = {};
  for (const [key, value] of Object.entries(item)) {
    if (key === 'id' || key === 'session_id') record[key] = value;
    else if (key === 'created_at' || key === 'updated_at') record[key] = utc(value as string, ZONE);
    else record[key] = asText(value);
  }
  return record;
}

function servedItems(api: FakeApi, stream: DriftStream): Item[] {
  const start = Date.parse(START);
  const end = Date.parse(END);
  const entries =
    stream === 'sessions'
      ? api.dataset.sessionsCreatedIn(start, end)
      : stream === 'visits'
        ? api.dataset.visitsCreatedIn(start, end)
        : api.dataset.conversionsCreatedIn(start, end);
  return entries.map((e) => e.item as unknown as Item);
}

/** For every record, the last SCHEMA of its stream before it; fails on a RECORD before any SCHEMA. */
function schemaBefore(messages: readonly SingerMessage[]): { record: Item; stream: string; schema: Item }[] {
  const current = new Map<string, Item>();
  const out: { record: Item; stream: string; schema: Item }[] = [];
  for (const m of messages) {
    if (m.type === 'SCHEMA') current.set(m.stream as string, m.schema as Item);
    if (m.type !== 'RECORD') continue;
    const schema = current.get(m.stream as string);
    if (schema === undefined) throw new Error(`RECORD of ${m.stream} before its SCHEMA`);
    out.push({ record: m.record as Item, stream: m.stream as string, schema });
  }
  return out;
}

const declaredTypes = (run: TapRun, stream: string): Record<string, unknown> => {
  const last = run.schemas().filter((s) => s.stream === stream).at(-1)?.schema as { properties: Record<string, { type: unknown }> };
  return Object.fromEntries(Object.entries(last.properties).map(([field, schema]) => [field, schema.type]));
};

const apis: FakeApi[] = [];
const runs: TapRun[] = [];
let dir: string;

const config = (api: FakeApi, extra: object = {}): string =>
  writeJson(dir, `config-${Math.random().toString(36).slice(2)}.json`, {
    api_token: 'test-token',
    base_url: api.url,
    start_date: START,
    end_date: END,
    timezone: ZONE,
    requests_per_minute: 60000,
    ...extra,
  });

beforeAll(async () => {
  dir = tempDir();
  for (const seed of SEEDS) {
    const api = await startFakeApi({
      dataset: { zone: ZONE, sessionIntervalSeconds: 1800, visitsPerSession: 6, conversionEvery: 1, driftSeed: seed, newFieldsFrom: NEW_FROM, nulInStrings: true },
      rateLimit: { limit: 100_000, windowMs: 60_000 },
    });
    apis.push(api);
    runs.push(await runInProcess(['--config', config(api)]));
  }
}, 120_000);
afterAll(async () => {
  for (const api of apis) await api.close();
});

describe.each(SEEDS.map((seed, i) => [seed, i] as const))('drifting field types and new fields (seed %i), no catalog', (seed, i) => {
  it('serves every kind of value in every undocumented and new field, new fields only in the second half', () => {
    const api = apis[i] as FakeApi;
    for (const stream of STREAMS) {
      const items = servedItems(api, stream);
      for (const field of [...UNDOCUMENTED_FIELDS[stream], ...NEW_FIELDS[stream]]) {
        const kinds = new Set(items.filter((item) => field in item).map((item) => driftKind(seed, item.id as number, field)));
        expect([...kinds].sort(), `${stream}.${field}`).toEqual([...DRIFT_KINDS].sort());
      }
      const withNew = items.filter((item) => NEW_FIELDS[stream].some((f) => f in item));
      expect(withNew.length).toBeGreaterThan(0);
      expect(withNew.length).toBeLessThan(items.length);
    }
  });

  it('emits every record once, each value the served one up to the documented conformance, with no warning', () => {
    const api = apis[i] as FakeApi;
    const run = runs[i] as TapRun;
    expect(run.code, run.stderr).toBe(0);
    for (const stream of STREAMS) {
      const want = servedItems(api, stream).map(expected).sort((a, b) => (a.id as number) - (b.id as number));
      const got = [...run.records(stream)].sort((a, b) => (a.id as number) - (b.id as number));
      expect(got.length, stream).toBe(want.length);
      expect(got, stream).toEqual(want);
    }
    expect(run.stderr).not.toMatch(/ WARN | CRITICAL /);
  });

  it('validates every record against the last SCHEMA of its stream before it, which names every field it carries', () => {
    const run = runs[i] as TapRun;
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
    addFormats(ajv);
    const validators = new Map<Item, ValidateFunction>();
    for (const { record, stream, schema } of schemaBefore(run.messages)) {
      let validate = validators.get(schema);
      if (validate === undefined) {
        validate = ajv.compile(schema);
        validators.set(schema, validate);
      }
      expect(validate(record), `${stream} ${JSON.stringify(record)}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      const named = Object.keys((schema as { properties: object }).properties);
      for (const field of Object.keys(record)) expect(named, `${stream}.${field}`).toContain(field);
    }
  });

  it('sends a second SCHEMA per stream only when new fields appear, never the same one twice in a row', () => {
    const run = runs[i] as TapRun;
    const shipped = JSON.parse(catalogJson) as { streams: { stream: string; schema: { properties: object } }[] };
    for (const stream of STREAMS) {
      const schemas = run.schemas().filter((s) => s.stream === stream);
      // The new fields come together on the same items: one SCHEMA adds them both.
      expect(schemas.length, stream).toBe(2);
      const shippedFields = Object.keys(shipped.streams.find((s) => s.stream === stream)?.schema.properties ?? {});
      expect(Object.keys((schemas[0]?.schema as { properties: object }).properties)).toEqual(shippedFields);
      expect(Object.keys((schemas[1]?.schema as { properties: object }).properties)).toEqual([...shippedFields, ...NEW_FIELDS[stream]]);
      // It comes after records without the new fields and right before the first one with them.
      const index = run.messages.indexOf(schemas[1] as SingerMessage);
      const before = run.messages.slice(0, index).filter((m) => m.type === 'RECORD' && m.stream === stream);
      expect(before.length).toBeGreaterThan(0);
      expect(run.messages.slice(index + 1).find((m) => m.type === 'RECORD' && m.stream === stream)?.record).toHaveProperty(NEW_FIELDS[stream][0]);
    }
  });
});

describe('two runs over different data', () => {
  it('declare the same type for every field', () => {
    const [a, b] = runs as [TapRun, TapRun];
    for (const stream of STREAMS) {
      const types = declaredTypes(a, stream);
      expect(declaredTypes(b, stream), stream).toEqual(types);
      for (const field of [...UNDOCUMENTED_FIELDS[stream], ...NEW_FIELDS[stream]]) expect(types[field], `${stream}.${field}`).toEqual(['null', 'string']);
    }
  });
});

describe('new fields and the catalog', () => {
  type Entry = { stream: string; selected?: boolean; schema: { properties: Record<string, unknown> }; metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[] };
  /** The shipped catalog with every stream and field explicitly selected (as Meltano writes it), then `edit`. */
  const catalog = (edit: (entry: Entry) => void = () => undefined): string => {
    const parsed = JSON.parse(catalogJson) as { streams: Entry[] };
    for (const entry of parsed.streams) {
      for (const m of entry.metadata) m.metadata.selected = true;
      edit(entry);
    }
    return writeJson(dir, `catalog-${Math.random().toString(36).slice(2)}.json`, parsed);
  };

  it('a catalog that selects every field of a stream gets the new fields too', async () => {
    const run = await runInProcess(['--config', config(apis[0] as FakeApi), '--catalog', catalog()]);
    expect(run.code, run.stderr).toBe(0);
    const byId = (records: Item[]): Item[] => [...records].sort((a, b) => (a.id as number) - (b.id as number));
    for (const stream of STREAMS) {
      expect(declaredTypes(run, stream)).toEqual(declaredTypes(runs[0] as TapRun, stream));
      expect(byId(run.records(stream)), stream).toEqual(byId((runs[0] as TapRun).records(stream)));
    }
  });

  it('a catalog that deselects a field leaves the new fields of that stream out, named in one INFO line', async () => {
    const path = catalog((entry) => {
      if (entry.stream !== 'visits') return;
      const title = entry.metadata.find((m) => m.breadcrumb[1] === 'title');
      if (title) title.metadata.selected = false;
    });
    const run = await runInProcess(['--config', config(apis[0] as FakeApi), '--catalog', path]);
    expect(run.code, run.stderr).toBe(0);
    const visits = run.records('visits');
    expect(visits.length).toBe((runs[0] as TapRun).records('visits').length);
    expect(visits.some((r) => 'title' in r || NEW_FIELDS.visits.some((f) => f in r))).toBe(false);
    expect(run.schemas().filter((s) => s.stream === 'visits')).toHaveLength(1);
    const lines = run.stderr.split('\n').filter((l) => / INFO visits: new fields left out/.test(l));
    expect(lines).toEqual([expect.stringMatching(new RegExp(`: ${NEW_FIELDS.visits.join(', ')} \\(select them`))]);
    // The other streams select every field: their new fields are delivered.
    expect(declaredTypes(run, 'sessions')).toEqual(declaredTypes(runs[0] as TapRun, 'sessions'));
  });
});

describe('a value that cannot be conformed without loss (catalog declares time_spend an integer)', () => {
  const integerCatalog = (): string => {
    const parsed = JSON.parse(catalogJson) as { streams: { stream: string; schema: { properties: Record<string, unknown> } }[] };
    const sessions = parsed.streams.find((s) => s.stream === 'sessions');
    if (sessions) sessions.schema.properties.time_spend = { type: ['null', 'integer'] };
    return writeJson(dir, `integer-${Math.random().toString(36).slice(2)}.json`, parsed);
  };
  /** Independent of src/: the served time_spend an integer field can carry without loss. */
  const conformable = (value: unknown): boolean => {
    if (value === null || value === undefined) return true;
    if (value instanceof RawNumber) return /^-?\d+$/.test(value.asText) && Number.isSafeInteger(Number(value.asText));
    if (typeof value === 'number') return Number.isInteger(value);
    if (typeof value === 'string') return /^-?(0|[1-9]\d*)$/.test(value);
    return false;
  };

  it('is emitted as null, warned once per stream and field, and counted at the end (line and METRIC)', async () => {
    const api = apis[0] as FakeApi;
    const run = await runInProcess(['--config', config(api), '--catalog', integerCatalog()]);
    expect(run.code, run.stderr).toBe(0);
    const served = new Map(servedItems(api, 'sessions').map((item) => [item.id, item.time_spend]));
    const bad = [...served.values()].filter((v) => !conformable(v)).length;
    expect(bad).toBeGreaterThan(0);
    const records = run.records('sessions');
    expect(records).toHaveLength(served.size);
    for (const record of records) {
      const value = served.get(record.id);
      const want = !conformable(value) || value === null ? null : value instanceof RawNumber ? Number(value.asText) : Number(value);
      expect(record.time_spend, `session ${String(record.id)}: ${wireJson(value)}`).toBe(want);
    }
    const warnings = run.stderr.split('\n').filter((l) => / WARN /.test(l));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/ WARN sessions: field "time_spend" value .* cannot be conformed to its declared type without loss; it is emitted as null/);
    expect(warnings[1]).toMatch(new RegExp(` WARN values that could not be conformed to their declared type without loss: sessions.time_spend ${bad} \\(null\\)$`));
    expect(run.stderr).toContain(`INFO METRIC: {"type":"counter","metric":"unconformable_values","value":${bad},"tags":{"stream":"sessions","field":"time_spend"}}`);
  });

  it('with strict_types fails the run: exit 1, one line on stderr, no bookmark past the window that held it', async () => {
    const api = apis[0] as FakeApi;
    const run = await runInProcess(['--config', config(api, { strict_types: true, adaptive_windows: false, window_size: 'PT6H' }), '--catalog', integerCatalog()]);
    expect(run.code).toBe(1);
    expect(criticalLines(run.stderr)).toEqual([expect.stringMatching(/ CRITICAL sessions: field "time_spend" value .* \(record id=\d+\) cannot be conformed to its declared type without loss \(strict_types is on\)$/)]);
    const firstBad = servedItems(api, 'sessions').find((item) => !conformable(item.time_spend)) as Item;
    const badAt = utc(firstBad.created_at as string, ZONE);
    const bookmark = run.lastState()?.bookmarks.sessions?.replication_key_value;
    if (bookmark !== undefined) expect(bookmark <= badAt).toBe(true);
    expect(run.records('sessions').every((r) => String(r.created_at) < badAt)).toBe(true);
  });
});

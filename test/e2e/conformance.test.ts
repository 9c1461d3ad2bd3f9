import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { byId, expectedRecords } from '../helpers/expected.js';
import { runInProcess } from '../helpers/in-process.js';
import { tempDir, writeJson, type TapRun } from '../helpers/run-tap.js';

// ajv-formats is CommonJS: under NodeNext its default export arrives as the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/**
 * Schemas and records a warehouse can load (shared/singer/README.md section 7, "tap-side rules",
 * and the Meltano SDK's standard tap tests, section 9): what pipelinewise-target-postgres and
 * MeltanoLabs' target-postgres need from every SCHEMA and RECORD.
 */

type Schema = Record<string, unknown>;
const STREAMS = ['sessions', 'visits', 'conversions'] as const;
const BIGINT_MAX = 2n ** 63n - 1n;
const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const UTC_DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

const readJson = (path: string): unknown => JSON.parse(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'));
const catalog = readJson('catalog.json') as { streams: { stream: string; schema: Schema; key_properties: string[] }[] };

const typesOf = (schema: Schema): string[] => (Array.isArray(schema.type) ? (schema.type as string[]) : typeof schema.type === 'string' ? [schema.type] : []);

/** Every problem a warehouse loader would have with `schema` (a stream schema), as text. */
function schemaProblems(schema: Schema, keys: readonly string[], where: string): string[] {
  const problems: string[] = [];
  const walk = (node: Schema, path: string, isKey: boolean): void => {
    if (node.additionalProperties === false) problems.push(`${path}: additionalProperties: false`);
    const types = typesOf(node);
    if (types.length === 0) problems.push(`${path}: no explicit "type"`);
    if (Array.isArray(node.type) && types.includes('null') && types[0] !== 'null') problems.push(`${path}: nullable is not written ["null", ...]`);
    for (const combinator of ['anyOf', 'oneOf', 'allOf']) if (combinator in node && types.length === 0) problems.push(`${path}: bare ${combinator}`);
    if (isKey && types.includes('null')) problems.push(`${path}: key property is nullable`);
    if (node.format === 'date-time' && !types.includes('string')) problems.push(`${path}: date-time that is not a string`);
    if (/_at$/.test(path) && node.format !== 'date-time') problems.push(`${path}: a *_at field without format date-time`);
    if (types.includes('integer')) {
      for (const bound of ['minimum', 'maximum']) {
        const value = node[bound];
        if (typeof value !== 'number') problems.push(`${path}: integer without ${bound}`);
        else if (BigInt(Math.abs(value)) > BIGINT_MAX) problems.push(`${path}: ${bound} ${value} does not fit a bigint`);
      }
    }
    const properties = node.properties as Record<string, Schema> | undefined;
    if (properties !== undefined) {
      for (const [name, child] of Object.entries(properties)) {
        if (!SNAKE_CASE.test(name)) problems.push(`${path}.${name}: name is not lower-case snake_case`);
        walk(child, `${path}.${name}`, false);
      }
    }
    if (typeof node.items === 'object' && node.items !== null) walk(node.items as Schema, `${path}[]`, false);
  };
  if (schema.type !== 'object') problems.push(`${where}: the stream schema is not an object`);
  if (schema.additionalProperties === false) problems.push(`${where}: additionalProperties: false`);
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  for (const key of keys) {
    if (!(key in properties)) problems.push(`${where}.${key}: key property missing from the schema`);
    if (!(Array.isArray(schema.required) && schema.required.includes(key))) problems.push(`${where}.${key}: key property not required`);
  }
  for (const [name, child] of Object.entries(properties)) {
    if (!SNAKE_CASE.test(name)) problems.push(`${where}.${name}: name is not lower-case snake_case`);
    walk(child, `${where}.${name}`, keys.includes(name));
  }
  return problems;
}

describe('stream schemas', () => {
  it('stream names are lower-case snake_case', () => {
    for (const entry of catalog.streams) expect(entry.stream).toMatch(SNAKE_CASE);
  });

  it('schemas/*.json: explicit types, nullable as ["null", ...], UTC date-times, bigint integers, required non-null keys, open objects', () => {
    for (const stream of STREAMS) {
      const schema = readJson(`schemas/${stream}.json`) as Schema;
      expect(schemaProblems(schema, ['id'], `schemas/${stream}.json`)).toEqual([]);
    }
  });

  it('catalog.json: the same for every stream', () => {
    for (const entry of catalog.streams) expect(schemaProblems(entry.schema, entry.key_properties, `catalog.json ${entry.stream}`)).toEqual([]);
  });

  it('the checks do find each kind of problem', () => {
    const bad: Schema = {
      type: 'object',
      additionalProperties: false,
      required: [],
      properties: {
        id: { type: ['integer', 'null'] },
        createdAt: { type: 'string' },
        blob: {},
        any: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
        big: { type: 'integer', minimum: 0, maximum: 2 ** 64 },
        updated_at: { type: 'integer', format: 'date-time', minimum: 0, maximum: 1 },
      },
    };
    const problems = schemaProblems(bad, ['id'], 's').join('\n');
    for (const expected of [
      's: additionalProperties: false',
      's.id: key property not required',
      's.id: nullable is not written',
      's.id: key property is nullable',
      's.id: integer without minimum',
      's.createdAt: name is not lower-case snake_case',
      's.blob: no explicit "type"',
      's.any: bare anyOf',
      's.big: maximum 18446744073709552000 does not fit a bigint',
      's.updated_at: date-time that is not a string',
    ]) {
      expect(problems).toContain(expected);
    }
  });
});

describe('records of a full sync (API with extra fields and NUL characters)', () => {
  let api: FakeApi;
  let run: TapRun;
  const range = ['2025-12-31T23:00:00Z', '2026-01-03T23:00:00Z'] as const;

  beforeAll(async () => {
    api = await startFakeApi({
      dataset: { zone: 'Europe/Amsterdam', extraFields: true, nulInStrings: true },
      rateLimit: { limit: 100_000, windowMs: 60_000 },
    });
    const config = writeJson(tempDir(), 'config.json', {
      api_token: 'test-token',
      base_url: api.url,
      start_date: '2026-01-01',
      end_date: '2026-01-04',
      timezone: 'Europe/Amsterdam',
      requests_per_minute: 60000,
    });
    run = await runInProcess(['--config', config]);
  });
  afterAll(() => api.close());

  /** The stream's last SCHEMA: the API's extra fields add one before their first record. */
  const schemaOf = (stream: string): Schema => run.schemas().filter((s) => s.stream === stream).at(-1)?.schema as Schema;

  it('the run succeeds; each SCHEMA message passes the same checks', () => {
    expect(run.code, run.stderr).toBe(0);
    for (const message of run.schemas()) {
      expect(message.key_properties).toEqual(['id']);
      expect(schemaProblems(message.schema as Schema, message.key_properties ?? [], `SCHEMA ${message.stream}`)).toEqual([]);
    }
  });

  it('every record validates against its SCHEMA (ajv, formats on, no coercion) and has no key outside it', () => {
    const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
    addFormats(ajv);
    for (const stream of STREAMS) {
      const schema = schemaOf(stream);
      const validate = ajv.compile(schema);
      const names = Object.keys(schema.properties as object);
      const records = run.records(stream);
      expect(records.length, stream).toBeGreaterThan(10);
      for (const record of records) {
        expect(validate(record), `${stream} ${JSON.stringify(record)}: ${ajv.errorsText(validate.errors)}`).toBe(true);
        const outside = Object.keys(record).filter((key) => !names.includes(key));
        expect(outside, `${stream} record ${String(record.id)}`).toEqual([]);
      }
    }
  });

  it('date-times are UTC instants ending in Z; time_extracted too', () => {
    for (const stream of STREAMS) {
      const properties = schemaOf(stream).properties as Record<string, Schema>;
      const dateTimes = Object.keys(properties).filter((name) => properties[name]?.format === 'date-time');
      expect(dateTimes).toEqual(expect.arrayContaining(['created_at', 'updated_at']));
      for (const record of run.records(stream)) {
        for (const name of dateTimes) if (record[name] !== null && record[name] !== undefined) expect(record[name]).toMatch(UTC_DATE_TIME);
      }
    }
    for (const message of run.messages.filter((m) => m.type === 'RECORD')) expect(message.time_extracted).toMatch(UTC_DATE_TIME);
  });

  it('key properties are present, non-null and unique within the run', () => {
    for (const stream of STREAMS) {
      const ids = run.records(stream).map((r) => r.id);
      expect(ids.every((id) => id !== null && id !== undefined)).toBe(true);
      expect(new Set(ids).size, stream).toBe(ids.length);
    }
  });

  it('integers fit a bigint; no string holds a NUL character, and NULs are stripped rather than records dropped', () => {
    let stripped = 0;
    for (const stream of STREAMS) {
      for (const record of run.records(stream)) {
        for (const value of Object.values(record)) {
          if (typeof value === 'number' && Number.isInteger(value)) expect(BigInt(Math.abs(value)) <= BIGINT_MAX).toBe(true);
          if (typeof value === 'string') expect(value.includes('\u0000'), `${stream} ${String(record.id)}`).toBe(false);
        }
      }
      const expected = expectedRecords(api.dataset, stream, ...range);
      stripped += expected.filter((r) => Object.values(r).some((v) => typeof v === 'string' && v.includes('\u0000'))).length;
      const clean = expected.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' ? v.replaceAll('\u0000', '') : v])));
      expect(byId(run.records(stream)), stream).toEqual(clean);
    }
    expect(stripped, 'the server did send NUL characters').toBeGreaterThan(10);
  });
});

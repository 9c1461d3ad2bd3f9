import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { byId, expectedRecords } from '../helpers/expected.js';
import { runInProcess } from '../helpers/in-process.js';
import { criticalLines, runTap, tempDir, writeJson } from '../helpers/run-tap.js';

const catalogJson = readFileSync(new URL('../../catalog.json', import.meta.url), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// --version and --help are printed by yargs, which then ends the process: they, and the exit code
// of a usage error, are checked on the built CLI as a child process; everything else in-process.
describe('offline commands', () => {
  it('--discover prints exactly catalog.json, and every key and replication field is in its schema', async () => {
    const run = await runInProcess(['--discover']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(catalogJson);
    const catalog = JSON.parse(run.stdout) as { streams: { schema: { properties: object }; key_properties: string[]; replication_key: string }[] };
    expect(catalog.streams.map((s) => Object.keys(s.schema.properties).includes(s.replication_key) && s.key_properties.every((k) => k in s.schema.properties))).toEqual([true, true, true]);
  });

  it('--version and --help print to stdout and exit 0', async () => {
    expect((await runTap(['--version'])).stdout.trim()).toBe(pkg.version);
    const help = await runTap(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--config/);
    expect(help.stdout).toMatch(/--catalog/);
  });

  it('npx tap-wemasy --help works from the repository root (the package bin)', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const npx = spawnSync('npx', ['--no-install', 'tap-wemasy', '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(npx.status).toBe(0);
    expect(npx.stdout).toMatch(/tap-wemasy --config CONFIG/);
  }, 90_000);

  it('an unknown flag is a usage error (exit 2, one line)', async () => {
    const run = await runTap(['--frobnicate']);
    expect(run.code).toBe(2);
    expect(criticalLines(run.stderr)).toHaveLength(1);
    expect(run.stdout).toBe('');
  });

  it('a sync without --config says so', async () => {
    const run = await runTap([]);
    expect(run.code).toBe(2);
    expect(criticalLines(run.stderr)[0]).toMatch(/--config is required/);
  });
});

describe('against the test server', () => {
  let api: FakeApi;
  let dir: string;
  beforeAll(async () => {
    api = await startFakeApi({ dataset: { zone: 'UTC', extraFields: true, bareVisitIds: true }, rateLimit: { limit: 100_000, windowMs: 60_000 } });
    dir = tempDir();
  });
  afterAll(() => api.close());
  beforeEach(() => api.reset());
  const config = (extra: object = {}) => writeJson(dir, `c-${Math.random()}.json`, {
    api_token: 'test-token', base_url: api.url, start_date: '2026-01-01', end_date: '2026-01-02', requests_per_minute: 60000, ...extra,
  });

  it('a catalog schema with another format (uri) is validated with it: ajv-formats is loaded on demand', async () => {
    const catalog = JSON.parse(catalogJson) as { streams: { stream: string; schema: { properties: Record<string, object> } }[] };
    const sessions = catalog.streams.find((s) => s.stream === 'sessions');
    if (sessions === undefined) throw new Error('no sessions stream');
    sessions.schema.properties.browser = { type: ['null', 'string'], format: 'uri' };
    const path = writeJson(dir, 'formats.json', catalog);
    // the test server's browsers are names, not URIs: the format is really checked, and such a
    // value is emitted as null with one warning and a count at the end...
    const run = await runInProcess(['--config', config(), '--catalog', path]);
    expect(run.code, run.stderr).toBe(0);
    const records = run.records('sessions');
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.browser === null)).toBe(true);
    const warnings = run.stderr.split('\n').filter((l) => / WARN /.test(l));
    expect(warnings).toEqual([
      expect.stringMatching(/sessions: field "browser" value "\w+" \(record id=\d+\) cannot be conformed to its declared type without loss; it is emitted as null/),
      expect.stringMatching(new RegExp(` WARN values that could not be conformed to their declared type without loss: sessions.browser ${records.length} \\(null\\)$`)),
    ]);
    expect(run.stderr).toContain(`INFO METRIC: {"type":"counter","metric":"unconformable_values","value":${records.length},"tags":{"stream":"sessions","field":"browser"}}`);
    // ...or, with strict_types, fails the run
    const strict = await runInProcess(['--config', config({ strict_types: true }), '--catalog', path]);
    expect(strict.code).toBe(1);
    expect(criticalLines(strict.stderr)).toEqual([
      expect.stringMatching(/sessions: field "browser" value "\w+" \(record id=\d+\) cannot be conformed to its declared type without loss \(strict_types is on\)$/),
    ]);
    expect(strict.records('sessions')).toEqual([]);
  });

  it('--test makes one authenticated request and exits 0', async () => {
    const run = await runInProcess(['--config', config(), '--test']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]?.authorized).toBe(true);
  });

  it('--test exits 1 with the reason when the token is refused', async () => {
    const run = await runInProcess(['--config', config({ api_token: 'wrong' }), '--test']);
    expect(run.code).toBe(1);
    expect(criticalLines(run.stderr)[0]).toMatch(/refused the API token \(401\)/);
  });

  it('--test=schema prints only the SCHEMA messages', async () => {
    const run = await runInProcess(['--config', config(), '--test=schema']);
    expect(run.code).toBe(0);
    expect(run.messages.map((m) => `${m.type}:${m.stream}`)).toEqual(['SCHEMA:sessions', 'SCHEMA:visits', 'SCHEMA:conversions']);
    expect(api.requests).toHaveLength(0);
  });

  it('bare visit ids become {id} records; fields the schema does not name are delivered, each after a new SCHEMA', async () => {
    const run = await runInProcess(['--config', config()]);
    expect(run.code).toBe(0);
    const visits = expectedRecords(api.dataset, 'visits', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z').map((v) => ({ id: v.id }));
    expect(byId(run.records('visits'))).toEqual(visits);
    for (const stream of ['sessions', 'conversions'] as const) {
      expect(byId(run.records(stream))).toEqual(expectedRecords(api.dataset, stream, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'));
    }
    expect(run.records('sessions').every((r) => typeof r.utm_source === 'string')).toBe(true);
    const added = run.stderr.split('\n').filter((l) => / INFO .*new field/.test(l));
    expect(added.map((l) => /: new field "(\w+)"/.exec(l)?.[1]).sort()).toEqual(['goal_id', 'utm_source']);
    // One SCHEMA per stream first, then one more for each stream whose items carry a new field.
    const schemas = run.messages.filter((m) => m.type === 'SCHEMA').map((m) => m.stream);
    expect(schemas.slice(0, 3)).toEqual(['sessions', 'visits', 'conversions']);
    expect(schemas.slice(3).sort()).toEqual(['conversions', 'sessions']);
  });
});

import { createServer } from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { fakeClock } from '../helpers/in-process.js';
import { tempDir, writeJson } from '../helpers/run-tap.js';
import { runSourceInProcess } from './helpers.js';

/** spec, check and discover in-process: one valid Airbyte message each, exit 0. */

const root = fileURLToPath(new URL('../..', import.meta.url));
const configSchema = JSON.parse(readFileSync(`${root}schemas/config.json`, 'utf8')) as { properties: Record<string, unknown> };
const singerCatalog = JSON.parse(readFileSync(`${root}catalog.json`, 'utf8')) as {
  streams: { stream: string; schema: unknown; key_properties: string[]; replication_key: string }[];
};
const SECRET = 'wrong-token-7f3a9c1e';
const clock = () => fakeClock('2026-02-01T00:00:00Z');

let api: FakeApi;
let dir: string;
let closedPort: number;

function config(overrides: Record<string, unknown> = {}): string {
  return writeJson(dir, `config-${Math.random().toString(36).slice(2)}.json`, {
    api_token: 'test-token',
    base_url: api.url,
    start_date: '2026-01-01',
    end_date: '2026-01-02',
    ...overrides,
  });
}

beforeAll(async () => {
  api = await startFakeApi({ rateLimit: { limit: 1000, windowMs: 60_000 } });
  dir = tempDir();
  // A port nothing listens on: bound, then released.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closedPort = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('spec', () => {
  it('prints one SPEC whose connectionSpecification is schemas/config.json, the token marked airbyte_secret', async () => {
    const run = await runSourceInProcess(['spec'], { clock: clock() });
    expect(run.code).toBe(0);
    expect(run.messages.map((m) => m.type)).toEqual(['SPEC']);
    const spec = run.messages[0]?.spec?.connectionSpecification;
    const { api_token: token, ...rest } = spec?.properties ?? {};
    expect(token).toEqual({ ...(configSchema.properties.api_token as object), airbyte_secret: true });
    const { api_token: _shipped, ...shippedRest } = configSchema.properties;
    expect(rest).toEqual(shippedRest);
    expect({ ...spec, properties: undefined }).toEqual({ ...configSchema, properties: undefined });
  });
});

describe('check', () => {
  it('SUCCEEDED against the API with the right token', async () => {
    const before = api.requests.length;
    const run = await runSourceInProcess(['check', '--config', config()], { clock: clock() });
    expect(run.code).toBe(0);
    const status = run.messages.filter((m) => m.type === 'CONNECTION_STATUS');
    expect(status.map((m) => m.connectionStatus)).toEqual([{ status: 'SUCCEEDED', message: `${api.url} accepted the token` }]);
    expect(api.requests.length - before).toBe(1);
  });

  it('FAILED with what to do about a refused token (401), exit 0, the token nowhere', async () => {
    const run = await runSourceInProcess(['check', '--config', config({ api_token: SECRET })], { clock: clock() });
    expect(run.code).toBe(0);
    expect(run.messages.at(-1)?.connectionStatus).toEqual({
      status: 'FAILED',
      message: 'Wemasy refused the API token (401) on POST /services/analytics/v1/project/sessions: Unauthenticated.; check api_token: it must be the API token of the Wemasy project',
    });
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it('FAILED with what to do about a host that cannot be reached, exit 0, the token nowhere', async () => {
    const run = await runSourceInProcess(['check', '--config', config({ api_token: SECRET, base_url: `http://127.0.0.1:${closedPort}/api` })], { clock: clock() });
    expect(run.code).toBe(0);
    const status = run.messages.at(-1)?.connectionStatus;
    expect(status?.status).toBe('FAILED');
    expect(status?.message).toMatch(/^gave up after 2 retries: network error on POST \/services\/analytics\/v1\/project\/sessions: .*ECONNREFUSED.*; check base_url and that the host can be reached from where Airbyte runs$/);
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it('FAILED naming the setting when the config is invalid', async () => {
    const run = await runSourceInProcess(['check', '--config', config({ start_date: 'yesterday', api_token: SECRET })], { clock: clock() });
    expect(run.code).toBe(0);
    const status = run.messages.at(-1)?.connectionStatus;
    expect(status?.status).toBe('FAILED');
    expect(status?.message).toMatch(/start_date/);
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it('FAILED when the config file is missing', async () => {
    const run = await runSourceInProcess(['check', '--config', `${dir}/nope.json`], { clock: clock() });
    expect(run.code).toBe(0);
    expect(run.messages.at(-1)?.connectionStatus).toEqual({ status: 'FAILED', message: `config file ${dir}/nope.json not found` });
  });
});

describe('discover', () => {
  it('prints one CATALOG: the shipped schemas, both sync modes, the source-defined cursor and key', async () => {
    const run = await runSourceInProcess(['discover', '--config', config()], { clock: clock() });
    expect(run.code).toBe(0);
    expect(run.messages.map((m) => m.type)).toEqual(['CATALOG']);
    expect(run.messages[0]?.catalog?.streams).toEqual(
      singerCatalog.streams.map((entry) => ({
        name: entry.stream,
        json_schema: entry.schema,
        supported_sync_modes: ['full_refresh', 'incremental'],
        source_defined_cursor: true,
        default_cursor_field: [entry.replication_key],
        source_defined_primary_key: entry.key_properties.map((key) => [key]),
        is_resumable: true,
      })),
    );
  });
});

describe('the command line', () => {
  it.each([
    [[], 'a command is required: spec, check, discover or read'],
    [['check'], 'Missing required argument: config'],
    [['read', '--config', 'c.json'], 'Missing required argument: catalog'],
    [['sync'], 'Unknown argument: sync'],
    [['spec', '--verbose'], 'Unknown argument: verbose'],
  ])('%j is a config_error TRACE with exit 2', async (args, message) => {
    const run = await runSourceInProcess(args, { clock: clock() });
    expect(run.code).toBe(2);
    expect(run.errors()).toEqual([{ message, failure_type: 'config_error' }]);
  });
});

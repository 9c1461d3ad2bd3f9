import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startFakeApi, type FakeApi, type FakeApiOptions } from '../fake-api/server.js';
import { tempDir, writeJson } from './run-tap.js';

/**
 * The setup most end-to-end test files share: one fake API for the file (reset before each test,
 * closed after the file), one temporary folder (removed after the file, see test/setup.ts), and
 * config files written into it.
 */

/** Settings of a quick test sync: no real waiting between requests or retries. */
export const QUICK_SETTINGS = {
  api_token: 'test-token',
  requests_per_minute: 60_000,
  retry_base_delay: 0.01,
  retry_max_delay: 0.05,
  request_timeout: 5,
} as const;

export interface TapFixture {
  /** The file's fake API (available from beforeAll on). */
  readonly api: FakeApi;
  /** The file's temporary folder. */
  readonly dir: string;
  /** Writes `{...QUICK_SETTINGS, base_url, ...defaults, ...extra}` to a fresh file and returns its path. */
  config(extra?: object): string;
  /** Writes `value` as JSON (a string as it is) to a fresh file named after `name`; returns its path. */
  file(name: string, value: unknown): string;
}

export interface FixtureOptions {
  /** Default: a UTC dataset and a rate limit no test reaches. */
  api?: FakeApiOptions;
  /** Settings of every config() of this file, over QUICK_SETTINGS (base_url comes from the API). */
  defaults?: object;
}

let files = 0;

/** Registers the hooks of a file's fake API and temporary folder, and returns them. */
export function useTapFixture(options: FixtureOptions = {}): TapFixture {
  let api: FakeApi | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    api = await startFakeApi(options.api ?? { dataset: { zone: 'UTC' }, rateLimit: { limit: 1_000_000, windowMs: 60_000 } });
    dir = tempDir();
  });
  afterAll(() => api?.close());
  beforeEach(() => api?.reset());
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is set up in beforeAll: use it inside a test or hook`);
    return value;
  };
  const fixture: TapFixture = {
    get api() {
      return need(api, 'the fake API');
    },
    get dir() {
      return need(dir, 'the temporary folder');
    },
    config: (extra = {}) => fixture.file('config.json', { ...QUICK_SETTINGS, base_url: fixture.api.url, ...options.defaults, ...extra }),
    file: (name, value) => writeJson(fixture.dir, `${++files}-${name}`, value),
  };
  return fixture;
}

export interface CountingListener {
  /** Its port (from beforeAll on). */
  readonly port: number;
  /** Connections it has accepted (and dropped at once). */
  readonly connections: number;
}

/** A TCP listener for the file that drops every connection and counts them: proof that nothing connected. */
export function useCountingListener(host: string): CountingListener {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  beforeAll(() => new Promise<void>((resolve) => server.listen(0, host, resolve)));
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    get port() {
      return (server.address() as { port: number }).port;
    },
    get connections() {
      return connections;
    },
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { tempDir, writeJson } from '../helpers/run-tap.js';
import { airbyteMessages, configuredCatalogOf, SOURCE_BIN, type AirbyteStream } from './helpers.js';

/** The built `source-wemasy` as Airbyte runs it: a process, its stdout, its exit code. */

const TOKEN = 'airbyte-bin-token-93c4';
let api: FakeApi;
let dir: string;

function source(args: readonly string[], onStdout?: (text: string, child: ChildProcess) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.LOG_LEVEL;
    const child = spawn(process.execPath, [SOURCE_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      onStdout?.(stdout, child);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(watchdog);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  api = await startFakeApi({ token: TOKEN, rateLimit: { limit: 100_000, windowMs: 60_000 } });
  dir = tempDir();
});
afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('source-wemasy, the process', () => {
  it('spec: one SPEC line, exit 0, nothing on stderr', async () => {
    const run = await source(['spec']);
    expect(run.code).toBe(0);
    expect(airbyteMessages(run.stdout).map((m) => m.type)).toEqual(['SPEC']);
    expect(run.stderr).toBe('');
  });

  it('--help goes to stderr (stdout carries Airbyte messages only), exit 0', async () => {
    const run = await source(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('source-wemasy read');
  });

  it('a usage error: a TRACE error on stdout, exit 2', async () => {
    const run = await source(['discover']);
    expect(run.code).toBe(2);
    expect(airbyteMessages(run.stdout).map((m) => m.trace?.error?.failure_type)).toEqual(['config_error']);
  });

  it('check with a refused token: FAILED, exit 0', async () => {
    const config = writeJson(dir, 'bad.json', { api_token: 'not-the-token-x1', base_url: api.url, start_date: '2026-01-01' });
    const run = await source(['check', '--config', config]);
    expect(run.code).toBe(0);
    expect(airbyteMessages(run.stdout).at(-1)?.connectionStatus?.status).toBe('FAILED');
    expect(run.stdout + run.stderr).not.toContain('not-the-token-x1');
  });

  it('discover then read: exit 0, every line an Airbyte message, the streams COMPLETE', async () => {
    const config = writeJson(dir, 'config.json', { api_token: TOKEN, base_url: api.url, start_date: '2026-01-01', end_date: '2026-01-02', requests_per_minute: 100_000 });
    const discovered = await source(['discover', '--config', config]);
    expect(discovered.code).toBe(0);
    const streams = airbyteMessages(discovered.stdout)[0]?.catalog?.streams as AirbyteStream[];
    const catalog = writeJson(dir, 'catalog.json', configuredCatalogOf(streams, { sessions: 'incremental', visits: 'full_refresh' }));
    const run = await source(['read', '--config', config, '--catalog', catalog]);
    expect(run.code, run.stdout.slice(-1000)).toBe(0);
    const messages = airbyteMessages(run.stdout);
    expect(messages.filter((m) => m.type === 'RECORD').length).toBeGreaterThan(0);
    const statuses = messages.flatMap((m) => (m.trace?.stream_status === undefined ? [] : [`${m.trace.stream_status.stream_descriptor.name} ${m.trace.stream_status.status}`]));
    expect(statuses.filter((s) => s.endsWith('COMPLETE'))).toEqual(['sessions COMPLETE', 'visits COMPLETE']);
    expect(run.stdout + run.stderr).not.toContain(TOKEN);
  });

  it('SIGTERM during read: exit 143, streams INCOMPLETE, a transient_error, no bookmark past what was printed', async () => {
    api.reset();
    // The visits request of the first window hangs: the first STATE (sessions) is printed, then the signal.
    api.inject({ kind: 'slow', endpoint: 'visits', delayMs: 20_000 });
    const config = writeJson(dir, 'config-term.json', { api_token: TOKEN, base_url: api.url, start_date: '2026-01-01', end_date: '2026-01-03', requests_per_minute: 100_000 });
    const discovered = await source(['discover', '--config', config]);
    const streams = airbyteMessages(discovered.stdout)[0]?.catalog?.streams as AirbyteStream[];
    const catalog = writeJson(dir, 'catalog-term.json', configuredCatalogOf(streams, { sessions: 'incremental', visits: 'incremental' }));
    let sent = false;
    const run = await source(['read', '--config', config, '--catalog', catalog], (text, child) => {
      if (!sent && text.includes('"type":"STATE"')) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    expect(sent).toBe(true);
    expect(run.code).toBe(143);
    const messages = airbyteMessages(run.stdout);
    const tail = messages.filter((m) => m.type === 'TRACE').slice(-3);
    expect(tail.map((m) => m.trace?.stream_status?.status ?? m.trace?.error?.failure_type)).toEqual(['INCOMPLETE', 'INCOMPLETE', 'transient_error']);
    expect(tail[2]?.trace?.error?.message).toBe('interrupted by SIGTERM; the last STATE printed is where the next read resumes');
    const states = messages.filter((m) => m.type === 'STATE').map((m) => m.state?.stream.stream_descriptor.name);
    expect(states).toEqual(['sessions']);
  });
});

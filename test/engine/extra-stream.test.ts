import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isJsonObject } from '../../src/json.js';
import { STREAMS } from '../../src/streams/index.js';
import type { WemasyStream } from '../../src/streams/stream.js';
import { toApiRange } from '../../src/time/api-time.js';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { utc } from '../helpers/expected.js';
import { runTap } from '../../src/tap.js';
import { collectingStdout, fakeClock, runInProcess } from '../helpers/in-process.js';
import { tempDir, writeJson } from '../helpers/run-tap.js';

/**
 * Adding a stream is one file, its schema and a line in the list (README, "Development"): a
 * stream that exists only in this test goes through the same engine as the shipped ones, with
 * discovery, catalog selection, windows, bookmarks and resume. It reads list-sessions through the
 * run's API client and keeps two fields of each session, so its records can be checked exactly.
 */
const sessionStarts: WemasyStream = {
  name: 'session_starts',
  keyProperties: ['id'],
  replicationKey: 'created_at',
  description: 'Test only: when each session started.',
  schema: () => ({
    type: 'object',
    properties: {
      id: { type: 'integer' },
      created_at: { type: 'string', format: 'date-time' },
      browser: { type: ['null', 'string'] },
    },
  }),
  open: ({ api, settings }) => ({
    async *read(window) {
      for await (const page of api.listSessions(toApiRange(window, settings.timezone))) {
        yield page.map((item) => (isJsonObject(item) ? { id: item.id ?? null, created_at: item.created_at ?? null, browser: item.browser ?? null } : item));
      }
    },
  }),
};
const WITH_TEST_STREAM = [...STREAMS, sessionStarts];

const ZONE = 'Europe/Amsterdam';
const START = '2026-02-01T00:00:00Z';
const END = '2026-02-04T00:00:00Z';

let api: FakeApi;
let dir: string;
const clock = fakeClock('2026-03-01T00:00:00Z');

beforeAll(async () => {
  api = await startFakeApi({ dataset: { zone: ZONE, sessionIntervalSeconds: 3600 }, rateLimit: { limit: 1_000_000, windowMs: 60_000 } });
  dir = tempDir();
});
afterAll(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A catalog from the tap's own discovery, with only `session_starts` selected and its `browser` field deselected. */
async function catalogSelectingTestStream(): Promise<string> {
  const stdout = collectingStdout();
  const code = await runTap(['--discover'], { stdout, writeStderr: () => undefined, env: {}, clock }, WITH_TEST_STREAM);
  expect(code).toBe(0);
  const catalog = JSON.parse(stdout.text()) as { streams: { tap_stream_id: string; metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[] }[] };
  expect(catalog.streams.map((s) => s.tap_stream_id)).toEqual(['sessions', 'visits', 'conversions', 'session_starts']);
  for (const entry of catalog.streams) {
    for (const m of entry.metadata) {
      if (m.breadcrumb.length === 0) m.metadata.selected = entry.tap_stream_id === 'session_starts';
      if (m.breadcrumb[1] === 'browser') m.metadata.selected = false;
    }
  }
  return writeJson(dir, 'catalog.json', catalog);
}

function expectedStarts(fromIso: string, toIso: string): { id: number; created_at: string }[] {
  return api.dataset
    .sessionsCreatedIn(Date.parse(fromIso), Date.parse(toIso))
    .map((s) => ({ id: s.id, created_at: utc(String((s.item as { created_at: string }).created_at), ZONE) }))
    .sort((a, b) => a.id - b.id);
}

describe('a stream defined only in the test, through the same engine', () => {
  it('is discovered, selected, synced window by window with exact records and bookmarks, and resumed', async () => {
    const catalog = await catalogSelectingTestStream();
    const settings = {
      api_token: 'test-token',
      base_url: api.url,
      start_date: START,
      end_date: END,
      timezone: ZONE,
      window_size: 'P1D',
      adaptive_windows: false,
      requests_per_minute: 1_000_000,
    };
    const config = writeJson(dir, 'config.json', settings);
    api.reset();
    const first = await runInProcess(['--config', config, '--catalog', catalog], { clock, streams: WITH_TEST_STREAM });
    expect(first.code, first.stderr).toBe(0);
    expect(first.messages.filter((m) => m.type === 'SCHEMA').map((m) => m.stream)).toEqual(['session_starts']);
    expect(first.records('session_starts').sort((a, b) => Number(a.id) - Number(b.id))).toEqual(expectedStarts(START, END));
    // One STATE per P1D window, each the window's end, then the final one.
    const bookmarks = first.messages
      .filter((m) => m.type === 'STATE')
      .map((m) => (m.value as { bookmarks: Record<string, { replication_key_value: string }> }).bookmarks.session_starts?.replication_key_value);
    expect(bookmarks).toEqual(['2026-02-02T00:00:00Z', '2026-02-03T00:00:00Z', '2026-02-04T00:00:00Z', '2026-02-04T00:00:00Z']);
    // Only list-sessions was asked: a fourth stream calls nothing but what its reader reads.
    expect(new Set(api.requests.map((r) => r.endpoint))).toEqual(new Set(['sessions']));

    // Resume from the first run's state, one more day: only that day (and the lookback) is read.
    const state = writeJson(dir, 'state.json', first.lastState());
    const later = writeJson(dir, 'config-later.json', { ...settings, end_date: '2026-02-05T00:00:00Z', lookback_window: 'PT0S' });
    const second = await runInProcess(['--config', later, '--catalog', catalog, '--state', state], { clock, streams: WITH_TEST_STREAM });
    expect(second.code, second.stderr).toBe(0);
    expect(second.records('session_starts').sort((a, b) => Number(a.id) - Number(b.id))).toEqual(expectedStarts(END, '2026-02-05T00:00:00Z'));
    expect(second.lastState()).toEqual({ bookmarks: { session_starts: { replication_key: 'created_at', replication_key_value: '2026-02-05T00:00:00Z' } } });
  });
});

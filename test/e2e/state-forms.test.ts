import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { STACK_TRACE } from '../helpers/checks.js';
import { byId, expectedRecords } from '../helpers/expected.js';
import { runInProcess } from '../helpers/in-process.js';
import { tempDir, writeJson, type TapRun } from '../helpers/run-tap.js';

/**
 * `--state` in the forms users have (issue 9): the state value, a STATE message saved with
 * `tail -n 1`, a whole tap output or a target's output (JSON lines: the last state counts),
 * `meltano state get` output; an empty file and another tap's state warn that a full sync follows.
 * Each case runs the CLI and checks the exit code, the one line on stderr that says what happened,
 * and what stdout carries.
 */

let api: FakeApi;
let dir: string;
/** A complete first run over [2026-01-01, 2026-01-03) in UTC. */
let first: TapRun;
let config: string;

const END = '2026-01-03T00:00:00Z';
const complete = { replication_key: 'created_at', replication_key_value: END };
const completeState = { bookmarks: { sessions: complete, visits: complete, conversions: complete } };

beforeAll(async () => {
  api = await startFakeApi({ dataset: { zone: 'UTC' }, rateLimit: { limit: 1_000_000, windowMs: 60_000 } });
  dir = tempDir();
  config = writeJson(dir, 'config.json', {
    api_token: 'test-token',
    base_url: api.url,
    start_date: '2026-01-01',
    end_date: '2026-01-03',
    requests_per_minute: 6_000_000,
    // A resumed run of a complete range reads nothing (no lookback before its bookmarks).
    lookback_window: 'PT0S',
  });
  first = await runInProcess(['--config', config]);
  expect(first.code, first.stderr).toBe(0);
  expect(first.lastState()).toEqual(completeState);
});
afterAll(() => api.close());
beforeEach(() => api.reset());

/** stderr lines without their timestamp, METRIC lines left out. */
const lines = (stderr: string): string[] =>
  stderr
    .split('\n')
    .filter((line) => line !== '' && !line.includes('METRIC:'))
    .map((line) => line.replace(/^\S+ /, ''));
const levelLines = (run: TapRun, level: string): string[] => lines(run.stderr).filter((line) => line.startsWith(`${level} `));
const recordCount = (run: TapRun): number => run.messages.filter((m) => m.type === 'RECORD').length;
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** A resumed run: exit 0, the incoming state echoed as is, no RECORD (the range is complete), no request. */
function expectResumed(run: TapRun): void {
  expect(run.code, run.stderr).toBe(0);
  expect(run.messages[0]).toEqual({ type: 'STATE', value: completeState });
  for (const state of run.states()) expect(state).toEqual(completeState);
  expect(recordCount(run)).toBe(0);
  expect(levelLines(run, 'WARN')).toEqual([]);
  expect(api.requests).toEqual([]);
}

describe('--state forms that resume', () => {
  it('the state value itself (what a target echoes, or Meltano keeps)', async () => {
    const run = await runInProcess(['--config', config, '--state', writeJson(dir, 'value.json', completeState)]);
    expectResumed(run);
  });

  it('a STATE message saved with `tail -n 1 out.jsonl`: unwrapped, with one INFO line, never nested', async () => {
    const path = file('message.json', `${first.stdout.trimEnd().split('\n').at(-1) ?? ''}\n`);
    const run = await runInProcess(['--config', config, '--state', path]);
    expectResumed(run);
    expect(levelLines(run, 'INFO')).toContain(`INFO state ${path}: reading the value of the STATE message it holds`);
  });

  it('a whole tap output (JSON lines): the last STATE message in it', async () => {
    const path = file('out.jsonl', first.stdout);
    const run = await runInProcess(['--config', config, '--state', path]);
    expectResumed(run);
    const count = first.stdout.trimEnd().split('\n').length;
    expect(levelLines(run, 'INFO')).toContain(`INFO state ${path}: reading the last state of its ${count} JSON lines (line ${count})`);
  });

  it("a target's output (one state value per line): the last line", async () => {
    const older = { bookmarks: { sessions: { replication_key: 'created_at', replication_key_value: '2026-01-02T00:00:00Z' } } };
    const path = file('target.out.jsonl', `${JSON.stringify(older)}\n${JSON.stringify(completeState)}\n\n`);
    const run = await runInProcess(['--config', config, '--state', path]);
    expectResumed(run);
    expect(levelLines(run, 'INFO')).toContain(`INFO state ${path}: reading the last state of its 2 JSON lines (line 2)`);
  });

  it('`meltano state get` output, pretty-printed: its singer_state', async () => {
    const path = file('meltano.json', JSON.stringify({ singer_state: completeState }, null, 2));
    const run = await runInProcess(['--config', config, '--state', path]);
    expectResumed(run);
    expect(levelLines(run, 'INFO')).toContain(`INFO state ${path}: reading "singer_state" of the Meltano state it holds`);
  });

  it('a state an earlier version corrupted (a STATE message nested into it): the envelope goes, its own bookmarks count', async () => {
    const stale = { bookmarks: {} };
    const path = writeJson(dir, 'nested.json', { type: 'STATE', value: stale, ...completeState });
    const run = await runInProcess(['--config', config, '--state', path]);
    expectResumed(run);
  });

  it('keys the tap does not own survive, in every STATE it writes', async () => {
    const incoming = { ...completeState, bookmarks: { ...completeState.bookmarks, orders: { cursor: 7 } }, currently_syncing: null, extra: { a: 1 } };
    const path = file('message-extra.json', JSON.stringify({ type: 'STATE', value: incoming }));
    const run = await runInProcess(['--config', config, '--state', path]);
    expect(run.code, run.stderr).toBe(0);
    for (const state of run.states()) expect(state).toEqual(incoming);
  });
});

describe('--state that holds no bookmark for the selected streams: a WARN, then a full sync', () => {
  const fullSync = (run: TapRun): void => {
    expect(run.code, run.stderr).toBe(0);
    for (const stream of ['sessions', 'visits', 'conversions'] as const) {
      expect(byId(run.records(stream)), stream).toEqual(expectedRecords(api.dataset, stream, '2026-01-01T00:00:00Z', END));
    }
    expect(levelLines(run, 'WARN')).toHaveLength(1);
  };

  it('an empty file', async () => {
    const path = file('empty.json', '\n');
    const run = await runInProcess(['--config', config, '--state', path]);
    fullSync(run);
    expect(levelLines(run, 'WARN')).toEqual([`WARN state ${path} is empty, so no stream has a bookmark: a full sync from start_date 2026-01-01T00:00:00Z follows`]);
  });

  it("another tap's state: its bookmarks are kept", async () => {
    const other = { bookmarks: { orders: { replication_key: 'updated_at', replication_key_value: '2026-01-01T00:00:00Z' } } };
    const path = writeJson(dir, 'other-tap.json', other);
    const run = await runInProcess(['--config', config, '--state', path]);
    fullSync(run);
    expect(levelLines(run, 'WARN')).toEqual([
      `WARN state ${path} has no bookmark for sessions, visits, conversions (it has bookmarks for orders only: the state of another tap?): a full sync from start_date 2026-01-01T00:00:00Z follows`,
    ]);
    expect(run.lastState()?.bookmarks.orders).toEqual(other.bookmarks.orders);
  });

  it('a state without bookmarks', async () => {
    const path = writeJson(dir, 'no-bookmarks.json', { bookmarks: {} });
    const run = await runInProcess(['--config', config, '--state', path]);
    fullSync(run);
    expect(levelLines(run, 'WARN')).toEqual([
      `WARN state ${path} has no bookmark for sessions, visits, conversions (it has no bookmarks): a full sync from start_date 2026-01-01T00:00:00Z follows`,
    ]);
  });

  it('no warning when one selected stream has a bookmark (a stream newly selected starts from start_date)', async () => {
    const path = writeJson(dir, 'one.json', { bookmarks: { sessions: complete } });
    const run = await runInProcess(['--config', config, '--state', path]);
    expect(run.code, run.stderr).toBe(0);
    expect(levelLines(run, 'WARN')).toEqual([]);
    expect(run.records('sessions')).toEqual([]);
    expect(run.records('visits').length).toBeGreaterThan(0);
  });
});

describe('--state that is malformed: exit 2, one CRITICAL line, no RECORD, no request', () => {
  const cases: [string, () => string, (path: string) => string][] = [
    ['JSON lines without any state', () => file('records.jsonl', first.stdout.split('\n').filter((l) => l.includes('"RECORD"')).slice(0, 3).join('\n')), (p) => `state ${p}: none of its 3 JSON lines is a STATE message or a state`],
    ['JSON lines with a line cut short', () => file('cut.jsonl', `${first.stdout}{"type": "STA`), (p) => `state ${p}: line ${first.stdout.trimEnd().split('\n').length + 1} is not valid JSON`],
    ['JSON lines with a line that is not an object', () => file('number.jsonl', `${JSON.stringify(completeState)}\n42\n`), (p) => `state ${p}: line 2 is not a JSON object`],
    ['a SCHEMA message', () => file('schema.json', first.stdout.split('\n')[0] ?? ''), (p) => `state ${p}: holds a SCHEMA message, not a state or a STATE message`],
    ['a STATE message whose value is not an object', () => writeJson(dir, 'bad-message.json', { type: 'STATE', value: [] }), (p) => `state ${p}: must be a JSON object like {"bookmarks": {...}}`],
    ['a pretty-printed document that is not JSON', () => file('pretty.json', '{\n  "bookmarks": {\n'), (p) => `state ${p}: is not valid JSON (Expected property name or '}' at line 2 column 17)`],
  ];
  it.each(cases)('%s', async (_name, make, says) => {
    const path = make();
    const run = await runInProcess(['--config', config, '--state', path]);
    expect(run.code, run.stderr).toBe(2);
    expect(lines(run.stderr)).toEqual([`CRITICAL ${says(path)}`]);
    expect(run.stderr).not.toMatch(STACK_TRACE);
    expect(run.stdout).toBe('');
    expect(api.requests).toEqual([]);
  });
});

import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApi, type FakeApi } from '../fake-api/server.js';
import { TAP_BIN, tempDir } from '../helpers/run-tap.js';

/**
 * The README's shell blocks, run as written against the test server, so that the README cannot
 * drift from the code. Conventions (checked below):
 * - every ```sh block runs, in order, in one folder (a block may use the files of the ones
 *   before), with `bash -e -o pipefail`, and must exit 0;
 * - a block that cannot run here is marked on the line before it with
 *   `<!-- readme-test: skip (the reason) -->`; a block that runs may say why with
 *   `<!-- readme-test: run (...) -->`; the quick start is `<!-- readme-test: quick-start -->`;
 * - the README's test server address, 127.0.0.1:8787 (what `npm run server` listens on), is
 *   replaced by the address of the server started here (a free port: tests run in parallel);
 * - `tap-wemasy` is the built dist/main.js; `target-postgres` is a stand-in that reads the tap's
 *   messages and echoes each STATE's value on stdout, as target-postgres does once it has
 *   written the records before it (it writes nothing to a database).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const README_ADDRESS = '127.0.0.1:8787';

interface Block {
  readonly code: string;
  readonly marker: string;
  readonly line: number;
}

/** Every ```sh block with the marker comment on the line before it ('' when there is none). */
function shellBlocks(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i] !== '```sh') continue;
    const end = lines.indexOf('```', i + 1);
    const marker = /^<!-- readme-test: (.*) -->$/.exec(lines[i - 1] ?? '')?.[1] ?? '';
    blocks.push({ code: lines.slice(i + 1, end).join('\n'), marker, line: i + 1 });
    i = end;
  }
  return blocks;
}

const blocks = shellBlocks(README);
const runnable = blocks.filter((b) => !b.marker.startsWith('skip'));

let api: FakeApi;
let work: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  // As `npm run server` starts it (scripts/server.ts).
  api = await startFakeApi({ dataset: { zone: 'Europe/Amsterdam' }, rateLimit: { limit: 60, windowMs: 60_000 } });
  work = tempDir();
  const bin = join(work, '.bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'tap-wemasy'), `#!/bin/sh\nexec "${process.execPath}" "${TAP_BIN}" "$@"\n`);
  writeFileSync(
    join(bin, 'target-postgres'),
    `#!${process.execPath}\n` +
      `const rl = require('node:readline').createInterface({ input: process.stdin });\n` +
      `rl.on('line', (line) => { const m = JSON.parse(line); if (m.type === 'STATE') process.stdout.write(JSON.stringify(m.value) + '\\n'); });\n`,
  );
  chmodSync(join(bin, 'tap-wemasy'), 0o755);
  chmodSync(join(bin, 'target-postgres'), 0o755);
  env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
  delete env.LOG_LEVEL;
});
afterAll(() => api.close());

interface Shell {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs shell code in the README's folder (asynchronously: the test server lives in this process). */
function sh(code: string): Promise<Shell> {
  const address = new URL(api.url).host;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', code.replaceAll(README_ADDRESS, address)], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const watchdog = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (exit) => {
      clearTimeout(watchdog);
      resolve({ code: exit, stdout, stderr });
    });
  });
}

const file = (name: string): string => readFileSync(join(work, name), 'utf8');
/** stderr lines at a level, without their timestamp. */
const logLines = (stderr: string, level: string): string[] =>
  stderr
    .split('\n')
    .filter((line) => line.includes(` ${level} `))
    .map((line) => line.replace(/^\S+ /, ''));
const STREAMS = ['sessions', 'visits', 'conversions'];
const bookmarksOf = (state: { bookmarks?: Record<string, unknown>; value?: { bookmarks: Record<string, unknown> } }): string[] =>
  Object.keys(state.value?.bookmarks ?? state.bookmarks ?? {}).sort();

describe('README conventions', () => {
  it('every shell block is marked run, skip (with a reason) or quick-start, or runs by default', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const block of blocks) {
      expect(block.marker === '' || /^(run\b.*|quick-start|skip \(.+\))$/.test(block.marker), `README line ${block.line}: ${block.marker}`).toBe(true);
    }
    expect(blocks.filter((b) => b.marker === 'quick-start')).toHaveLength(1);
    expect(runnable.length).toBeGreaterThanOrEqual(3);
  });

  it('the quick start comes first and is at most 15 lines', () => {
    expect(/^## (.*)$/m.exec(README)?.[1]).toBe('Quick start');
    expect(blocks[0]?.marker).toBe('quick-start');
    expect(blocks[0]?.code.split('\n').length).toBeLessThanOrEqual(15);
  });
});

describe('the README, run against the test server', () => {
  it('every runnable block, in order, exits 0', { timeout: 240_000 }, async () => {
    for (const block of runnable) {
      const run = await sh(block.code);
      expect(run.code, `README line ${block.line}:\n${run.stderr}`).toBe(0);
      expect(logLines(run.stderr, 'CRITICAL'), `README line ${block.line}`).toEqual([]);

      if (block.marker === 'quick-start') {
        // The first sync says why it is a full one; the second resumes; state.json holds the last STATE.
        expect(logLines(run.stderr, 'WARN')).toEqual(['WARN state state.json is empty, so no stream has a bookmark: a full sync from start_date 2026-11-01T00:00:00+01:00 follows']);
        expect(run.stderr).toContain('INFO state state.json: reading the value of the STATE message it holds');
        const saved = JSON.parse(file('state.json')) as { type: string; value: { bookmarks: Record<string, unknown> } };
        expect(saved.type).toBe('STATE');
        expect(bookmarksOf(saved)).toEqual([...STREAMS].sort());
      }
    }
    // The Usage block's catalog is the shipped one; the PostgreSQL block saved the target's state.
    expect(file('catalog.json')).toBe(readFileSync(join(ROOT, 'catalog.json'), 'utf8'));
    const targetState = JSON.parse(file('state.json')) as { bookmarks: Record<string, unknown> };
    expect(bookmarksOf(targetState)).toEqual([...STREAMS].sort());
    expect(file('target.out.jsonl').trim().split('\n').at(-1)).toBe(file('state.json').trim());
  });

  describe("the quick start's sync after a failed run", () => {
    const quickStart = blocks.find((b) => b.marker === 'quick-start')?.code ?? '';
    const syncFunction = quickStart.slice(quickStart.indexOf('sync() {'), quickStart.indexOf('\n}\n') + 2);

    it('a refused token: exit 1, one CRITICAL line, state.json keeps the good state', { timeout: 60_000 }, async () => {
      const good = JSON.parse(file('state.json')) as object;
      writeFileSync(join(work, 'config.json'), JSON.stringify({ api_token: 'wrong-token', base_url: api.url, start_date: '2026-11-01', timezone: 'Europe/Amsterdam' }));
      const run = await sh(`${syncFunction}\nsync`);
      expect(run.code).toBe(1);
      expect(logLines(run.stderr, 'CRITICAL')).toEqual([
        'CRITICAL Wemasy refused the API token (401) on POST /services/analytics/v1/project/sessions: Unauthenticated.',
      ]);
      // The STATE echoed before the failure is the incoming one: state.json holds the same state.
      const after = JSON.parse(file('state.json')) as { type: string; value: unknown };
      expect(after.value ?? after).toEqual((good as { value?: unknown }).value ?? good);
    });

    it('a config error before any STATE: exit 2, state.json untouched', async () => {
      const before = file('state.json');
      writeFileSync(join(work, 'config.json'), JSON.stringify({ api_token: 'test-token', base_url: api.url, start_date: '2026-11-01', time_zone: 'Europe/Amsterdam' }));
      const run = await sh(`${syncFunction}\nsync`);
      expect(run.code).toBe(2);
      expect(logLines(run.stderr, 'CRITICAL')).toEqual(['CRITICAL invalid config: time_zone: unknown setting (did you mean timezone?)']);
      expect(file('out.jsonl')).toBe('');
      expect(file('state.json')).toBe(before);
    });
  });
});

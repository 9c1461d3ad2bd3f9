import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built executable: tests run the real CLI as a child process (`npm test` builds first). */
export const TAP_BIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface SingerMessage {
  type: string;
  stream?: string;
  record?: Record<string, unknown>;
  schema?: Record<string, unknown>;
  key_properties?: string[];
  bookmark_properties?: string[];
  value?: { bookmarks: Record<string, { replication_key: string; replication_key_value: string }> } & Record<string, unknown>;
  time_extracted?: string;
}

export interface TapRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed line by line (on first use); a line that is not JSON fails the test that reads it. */
  readonly messages: SingerMessage[];
  records(stream: string): Record<string, unknown>[];
  states(): NonNullable<SingerMessage['value']>[];
  lastState(): NonNullable<SingerMessage['value']> | undefined;
  schemas(): SingerMessage[];
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Kill the child after this long (a watchdog: no test may hang). */
  timeoutMs?: number;
  /** Called with the child once it is spawned (to send signals, read streams). */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void;
  stdin?: string;
}

export function parseMessages(stdout: string): SingerMessage[] {
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      try {
        return JSON.parse(line) as SingerMessage;
      } catch {
        throw new Error(`stdout line is not JSON: ${line.slice(0, 200)}`);
      }
    });
}

/** Runs `node dist/main.js ...args` and collects everything it printed. */
export function runTap(args: readonly string[], options: RunOptions = {}): Promise<TapRun> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: undefined, ...options.env };
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
    const child = spawn(process.execPath, [TAP_BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.end(options.stdin ?? '');
    const watchdog = setTimeout(() => {
      child.kill('SIGKILL');
      // A test may have paused stdout: let the pipes drain so that 'close' comes and the run ends.
      child.stdout.resume();
      child.stderr.resume();
    }, options.timeoutMs ?? 25_000);
    options.onSpawn?.(child);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      resolve(tapRun(code, signal, stdout, stderr));
    });
  });
}

/** A run's outcome and output, with stdout parsed on first use. */
export function tapRun(code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string): TapRun {
  let parsed: SingerMessage[] | undefined;
  const messages = (): SingerMessage[] => (parsed ??= parseMessages(stdout));
  const states = () => messages().filter((m) => m.type === 'STATE').map((m) => m.value as NonNullable<SingerMessage['value']>);
  return {
    code,
    signal,
    stdout,
    stderr,
    get messages() {
      return messages();
    },
    records: (stream) => messages().filter((m) => m.type === 'RECORD' && m.stream === stream).map((m) => m.record as Record<string, unknown>),
    states,
    lastState: () => states().at(-1),
    schemas: () => messages().filter((m) => m.type === 'SCHEMA'),
  };
}

/** The folders tempDir made in this test file; test/setup.ts removes them after the file's tests. */
const madeDirs: string[] = [];

/** A fresh temporary folder for one test's files, removed after the test file (test/setup.ts). */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tap-wemasy-test-'));
  madeDirs.push(dir);
  return dir;
}

/** Removes every folder tempDir made so far (test/setup.ts calls it after each test file). */
export function removeTempDirs(): void {
  for (const dir of madeDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Writes `value` as JSON into `dir/name` and returns the path. */
export function writeJson(dir: string, name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

/** The stderr lines at CRITICAL level (the one-line reason of a failed run). */
export function criticalLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => / CRITICAL /.test(line));
}

/** Runs the built tap (dist/main.js) as a child process and parses its output. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MAIN = path.join(ROOT, 'dist/main.js');

export interface Bookmark {
  replication_key: string;
  replication_key_value: string;
}

export interface StateValue {
  bookmarks: Record<string, Bookmark | undefined>;
}

export interface Message {
  type: string;
  stream?: string;
  record?: Record<string, unknown>;
  schema?: Record<string, unknown>;
  value?: StateValue;
  [k: string]: unknown;
}

export interface TapRun {
  code: number | null;
  stdout: string;
  stderr: string;
  messages: Message[];
}

export async function runTap(config: Record<string, unknown>, state?: unknown): Promise<TapRun> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tap-indep-'));
  const args = [MAIN, '--config', path.join(dir, 'config.json')];
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  if (state !== undefined) {
    writeFileSync(path.join(dir, 'state.json'), JSON.stringify(state));
    args.push('--state', path.join(dir, 'state.json'));
  }
  let stdout = '';
  let stderr = '';
  let code: number | null;
  try {
    const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, LOG_LEVEL: 'info' } });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const messages = stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Message);
  return { code, stdout, stderr, messages };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/checks.js';
import { runTap, tempDir, writeJson } from '../helpers/run-tap.js';

/**
 * `npm run server`: the test server on its own, as the README tells a reader to start it. The
 * command of package.json's "server" script is spawned in a process group of its own (as a
 * terminal runs it), and Ctrl-C is SIGINT to that whole group. (`npm run` itself, when it gets
 * the Ctrl-C too, reports the interruption with its own status; the server underneath exits 0.)
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.server ?? '';

let child: ChildProcess | undefined;
afterAll(() => {
  if (child?.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
});

describe('npm run server', () => {
  it('prints its base_url and token, answers the tap, and stops on Ctrl-C with exit 0', async () => {
    // `node --import tsx`, not the tsx CLI: tsx relays a Ctrl-C to its child and kills it (exit
    // 130) when the child does not acknowledge within 30 ms, which happens on a busy machine.
    const [command, ...args] = script.split(' ');
    expect(command).toBe('node');
    const server = spawn(process.execPath, [...args, '--port', '0'], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = server;
    let stdout = '';
    server.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    server.stderr?.resume();
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    await waitFor(() => stdout.includes('Ctrl-C'), 'the server to print its address');

    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('Wemasy test server (no account needed; project zone Europe/Amsterdam, 60 requests a minute like the API)');
    expect(lines[1]).toMatch(/^base_url: {2}http:\/\/127\.0\.0\.1:\d+\/api$/);
    expect(lines.slice(2)).toEqual(['api_token: test-token', 'Press Ctrl-C to stop it.']);
    const baseUrl = lines[1]?.split(/\s+/)[1] ?? '';

    // It answers: the tap's connection test passes with the printed base_url and token.
    const config = writeJson(tempDir(), 'config.json', { api_token: 'test-token', base_url: baseUrl, start_date: '2026-11-01', timezone: 'Europe/Amsterdam' });
    const test = await runTap(['--config', config, '--test']);
    expect(test.code, test.stderr).toBe(0);
    expect(test.stderr).toContain(`connection test passed: ${baseUrl} accepted the token`);

    process.kill(-(server.pid ?? 0), 'SIGINT');
    expect(await exited).toBe(0);
  });

  it('says so in one line when the port is taken', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    const [, ...args] = script.split(' ');
    const run = spawn(process.execPath, [...args, '--port', String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    run.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    run.stdout.resume();
    const code = await new Promise<number | null>((resolve) => run.on('exit', (c) => resolve(c)));
    blocker.close();
    expect(code).toBe(1);
    expect(stderr).toBe('npm run server: the port is in use (is a test server already running? or pass -- --port N)\n');
  });
});

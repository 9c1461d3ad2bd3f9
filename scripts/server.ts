/**
 * `npm run server`: the Wemasy test server on its own, to try every example of the README without
 * a Wemasy account. The same server and data as `npm run demo` and the test suite (project zone
 * Europe/Amsterdam, as in examples/config.sample.json; a session every two hours since 2020, with
 * visits and conversions).
 *
 * Prints its base_url and token on stdout, serves until Ctrl-C (SIGINT) or SIGTERM, then exits 0.
 * `npm run server -- --port 9000` picks another port (0: any free one); `-- --help` lists the
 * other options of test/fake-api/standalone.ts (faults, rate limit, extra fields, ...).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseStandaloneArgs, runStandalone } from '../test/fake-api/standalone.js';

/** The port the README's examples use. */
export const DEFAULT_PORT = 8787;
export const TEST_TOKEN = 'test-token';

const root = fileURLToPath(new URL('..', import.meta.url));
const sample = JSON.parse(readFileSync(join(root, 'examples/config.sample.json'), 'utf8')) as { timezone: string };

// The user's options come last, so they win over these defaults.
const defaults = ['--port', String(DEFAULT_PORT), '--zone', sample.timezone, '--token', TEST_TOKEN, '--rate-limit', '60'];
const args = [...defaults, ...process.argv.slice(2)];
if (args.includes('--help') || args.includes('-h')) {
  process.stderr.write(`npm run server -- [options]: here the defaults are ${defaults.join(' ')}\n`);
}
try {
  const token = parseStandaloneArgs(args).token ?? TEST_TOKEN;
  const api = await runStandalone(args);
  if (api !== undefined) {
    process.stdout.write(
      [
        `Wemasy test server (no account needed; project zone ${api.dataset.zone}, 60 requests a minute like the API)`,
        `base_url:  ${api.url}`,
        `api_token: ${token}`,
        'Press Ctrl-C to stop it.',
        '',
      ].join('\n'),
    );
  }
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  const message = code === 'EADDRINUSE' ? 'the port is in use (is a test server already running? or pass -- --port N)' : error instanceof Error ? error.message : String(error);
  process.stderr.write(`npm run server: ${message}\n`);
  process.exitCode = 1;
}

/**
 * `npm run demo`: the built tap against the bundled Wemasy test server, no account needed.
 *
 * Starts the test server on 127.0.0.1 (project zone Europe/Amsterdam), writes
 * examples/config.sample.json with the server's URL and token into a temporary file, and runs
 * `node dist/main.js --config <that file>`: Singer messages on stdout, logs on stderr, exactly
 * as in a real run. Try `npm run demo | tail -n 3` to see the final STATE, and
 * `npm run -s demo -- --estimate` for what the sync would cost.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeApi } from '../test/fake-api/server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const sample = JSON.parse(readFileSync(join(root, 'examples/config.sample.json'), 'utf8')) as Record<string, unknown>;
const api = await startFakeApi({ dataset: { zone: String(sample.timezone) }, rateLimit: { limit: 600, windowMs: 60_000 } });
const dir = mkdtempSync(join(tmpdir(), 'tap-wemasy-demo-'));
const configPath = join(dir, 'config.json');
writeFileSync(configPath, JSON.stringify({ ...sample, api_token: 'test-token', base_url: api.url, requests_per_minute: 600 }));
process.stderr.write(`demo: Wemasy test server at ${api.url}; running tap-wemasy --config ${configPath}\n`);

// Arguments after `npm run demo --` go to the tap, e.g. `npm run demo -- --estimate`.
const child = spawn(process.execPath, [join(root, 'dist/main.js'), '--config', configPath, ...process.argv.slice(2)], { stdio: ['ignore', 'inherit', 'inherit'] });
const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
await api.close();
rmSync(dir, { recursive: true, force: true });
process.stderr.write(`demo: tap-wemasy exited with ${code} after ${api.requests.length} API requests\n`);
process.exitCode = code;

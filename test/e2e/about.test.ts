import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/in-process.js';
import { tempDir, writeJson } from '../helpers/run-tap.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const configSchema = JSON.parse(readFileSync(new URL('../../schemas/config.json', import.meta.url), 'utf8')) as {
  properties: Record<string, { default?: unknown }>;
};
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; description: string };

/** Recognisable secrets: none may appear in any --about output. */
const TOKEN = 'wmsy_ABOUT_SECRET_7c1e9a';
const ENV_TOKEN = 'wmsy_ABOUT_ENV_SECRET_55d2';

/** The lines between the README's settings markers. */
function readmeTable(): string[] {
  const lines = readme.split('\n');
  const start = lines.indexOf('<!-- settings:start -->');
  const end = lines.indexOf('<!-- settings:end -->');
  expect(start, 'README has <!-- settings:start -->').toBeGreaterThanOrEqual(0);
  expect(end, 'README has <!-- settings:end -->').toBeGreaterThan(start);
  return lines.slice(start + 1, end);
}

describe('--about', () => {
  it("README's settings table is the table of --about --format markdown (run `npm run readme` when this fails)", async () => {
    const run = await runInProcess(['--about', '--format', 'markdown']);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    const settingsAt = lines.indexOf('## Settings');
    expect(settingsAt).toBeGreaterThan(0);
    const table = lines.slice(settingsAt + 1).filter((line) => line.startsWith('|'));
    expect(table.length).toBe(2 + Object.keys(configSchema.properties).length);
    expect(readmeTable()).toEqual(table);
  });

  it('--format json: name, description, version, sdk_version, capabilities, and settings = schemas/config.json', async () => {
    const dir = tempDir();
    const config = writeJson(dir, 'config.json', { api_token: TOKEN, start_date: '2026-01-01' });
    const run = await runInProcess(['--about', '--format', 'json', '--config', config, '--config', 'ENV'], {
      env: { TAP_WEMASY_API_TOKEN: ENV_TOKEN, MELTANO_EXTRACT_API_TOKEN: ENV_TOKEN },
    });
    expect(run.code).toBe(0);
    const about = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(about).toMatchObject({
      name: 'tap-wemasy',
      description: pkg.description,
      version: pkg.version,
      capabilities: ['catalog', 'discover', 'state', 'about', 'test'],
    });
    expect(about.sdk_version).toEqual(expect.any(String));
    expect(about.settings).toEqual(configSchema);
    expect(about.settings).not.toHaveProperty('properties.api_token.default');
    for (const format of ['text', 'json', 'markdown']) {
      const out = await runInProcess(['--about', '--format', format, '--config', config, '--config', 'ENV'], { env: { TAP_WEMASY_API_TOKEN: ENV_TOKEN } });
      expect(out.code).toBe(0);
      expect(`${out.stdout}${out.stderr}`).not.toContain(TOKEN);
      expect(`${out.stdout}${out.stderr}`).not.toContain(ENV_TOKEN);
    }
  });
});

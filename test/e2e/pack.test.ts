import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Installing as users do: `npm pack` and `npm install -g` of the tarball into a temporary prefix,
 * then the installed `tap-wemasy` command. Uses the dist/ that `npm test` built; scripts are
 * skipped while packing so that the build is not redone under the feet of other tests.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const catalogJson = readFileSync(join(root, 'catalog.json'), 'utf8');
const TIMEOUT_MS = 120_000;

/** The environment without what an enclosing `npm test` put there for its own script. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(lifecycle|package|command)/i.test(key)) continue;
    env[key] = value;
  }
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
  return env;
}

function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync('npm', args, { cwd, encoding: 'utf8', env: cleanEnv(), timeout: TIMEOUT_MS });
}

function srcModules(dir = join(root, 'src')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? srcModules(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [relative(join(root, 'src'), join(dir, entry.name))] : [],
  );
}

describe('npm pack', () => {
  it('ships dist/, schemas/, catalog.json, README.md and package.json, and nothing of the sources or tests', () => {
    const run = npm(['pack', '--dry-run', '--json', '--ignore-scripts'], root);
    expect(run.status, run.stderr).toBe(0);
    const [packed] = JSON.parse(run.stdout) as { name: string; version: string; files: { path: string }[] }[];
    expect(packed).toMatchObject({ name: pkg.name, version: pkg.version });
    const files = (packed?.files ?? []).map((f) => f.path);
    for (const required of ['package.json', 'README.md', 'catalog.json', 'dist/main.js', 'schemas/config.json', 'schemas/sessions.json', 'schemas/visits.json', 'schemas/conversions.json']) {
      expect(files).toContain(required);
    }
    // Every module of src/ is there, built.
    for (const module of srcModules()) expect(files, module).toContain(`dist/${module.replace(/\.ts$/, '.js')}`);
    expect(files.filter((f) => !/^(dist|schemas)\//.test(f) && !['package.json', 'README.md', 'catalog.json', 'LICENSE'].includes(f))).toEqual([]);
  });
});

describe('installed from the tarball', () => {
  let work: string;
  let bin: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'tap-wemasy-pack-'));
    const pack = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], root);
    expect(pack.status, pack.stderr).toBe(0);
    const tarball = join(work, (JSON.parse(pack.stdout) as { filename: string }[])[0]?.filename ?? '');
    const prefix = join(work, 'prefix');
    // The dependencies are in npm's cache (npm ci put them there); the registry is the fallback.
    const install = npm(['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], work);
    expect(install.status, `${install.stdout}\n${install.stderr}`).toBe(0);
    bin = join(prefix, 'bin', 'tap-wemasy');
  }, TIMEOUT_MS);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const tap = (args: string[]): SpawnSyncReturns<string> =>
    spawnSync(bin, args, { cwd: work, encoding: 'utf8', env: cleanEnv(), timeout: 30_000 });

  it('tap-wemasy --about and --version describe the package', () => {
    const about = tap(['--about']);
    expect(about.status, about.stderr).toBe(0);
    expect(about.stdout).toMatch(/^Name: tap-wemasy$/m);
    expect(about.stdout).toContain(`Version: ${pkg.version}`);
    const json = tap(['--about', '--format', 'json']);
    expect((JSON.parse(json.stdout) as { settings: unknown }).settings).toEqual(JSON.parse(readFileSync(join(root, 'schemas/config.json'), 'utf8')));
    expect(tap(['--version']).stdout.trim()).toBe(pkg.version);
  });

  it('tap-wemasy --discover prints catalog.json', () => {
    const run = tap(['--discover']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(catalogJson);
  });
});

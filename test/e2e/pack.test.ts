import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Installing as users do, each into a clean prefix, then the installed `tap-wemasy` with the
 * source it came from moved away (an install that links back to a checkout breaks then):
 * - the packed tarball: `npm pack`, `npm install -g ./tap-wemasy-*.tgz`;
 * - a git URL: `npm install -g --install-links git+file://<clone>`, as from GitHub.
 * Dependencies come from npm's cache (`npm ci` put them there; the registry is the fallback).
 * The tarball is packed from the dist/ that `npm test` built (scripts skipped, so that the build
 * is not redone under the feet of other tests); the git install builds its own clone.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
const catalogJson = readFileSync(join(root, 'catalog.json'), 'utf8');
const TIMEOUT_MS = 300_000;

/** The environment without what an enclosing `npm test` put there for its own script and config. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_(lifecycle|package|command|config)/i.test(key)) continue;
    env[key] = value;
  }
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
  return env;
}

function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync('npm', args, { cwd, encoding: 'utf8', env: cleanEnv(), timeout: TIMEOUT_MS });
}

/** Runs the installed command from a folder that has nothing to do with the checkout. */
function installedTap(bin: string, cwd: string) {
  return (args: string[]): SpawnSyncReturns<string> => spawnSync(bin, args, { cwd, encoding: 'utf8', env: cleanEnv(), timeout: 30_000 });
}

/** `--about` and `--discover` of an installed copy: the package's, in full. */
function expectWorkingInstall(tap: (args: string[]) => SpawnSyncReturns<string>): void {
  const about = tap(['--about']);
  expect(about.status, about.stderr).toBe(0);
  expect(about.stdout).toMatch(/^Name: tap-wemasy$/m);
  expect(about.stdout).toContain(`Version: ${pkg.version}`);
  const json = tap(['--about', '--format', 'json']);
  expect((JSON.parse(json.stdout) as { settings: unknown }).settings).toEqual(JSON.parse(readFileSync(join(root, 'schemas/config.json'), 'utf8')));
  expect(tap(['--version']).stdout.trim()).toBe(pkg.version);
  const discover = tap(['--discover']);
  expect(discover.status, discover.stderr).toBe(0);
  expect(discover.stdout).toBe(catalogJson);
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

describe('installed from the tarball, into a clean prefix', () => {
  let work: string;
  let bin: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'tap-wemasy-pack-'));
    // Pack from a copy of the package, then move the copy away: nothing may point back to it.
    const copy = join(work, 'checkout');
    mkdirSync(copy);
    for (const part of ['package.json', 'README.md', 'catalog.json', 'dist', 'schemas']) cpSync(join(root, part), join(copy, part), { recursive: true });
    const pack = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], copy);
    expect(pack.status, pack.stderr).toBe(0);
    const tarball = join(work, (JSON.parse(pack.stdout) as { filename: string }[])[0]?.filename ?? '');
    const prefix = join(work, 'prefix');
    const install = npm(['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], work);
    expect(install.status, `${install.stdout}\n${install.stderr}`).toBe(0);
    renameSync(copy, join(work, 'moved-away'));
    rmSync(tarball);
    bin = join(prefix, 'bin', 'tap-wemasy');
  }, TIMEOUT_MS);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('tap-wemasy --about, --version and --discover run from the installed copy', () => {
    expectWorkingInstall(installedTap(bin, tmpdir()));
  });
});

describe('installed from a git URL, into a clean prefix', () => {
  let work: string;
  let bin: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'tap-wemasy-git-'));
    const clone = join(work, 'tap-wemasy');
    const cloned = spawnSync('git', ['clone', '--quiet', root, clone], { encoding: 'utf8' });
    expect(cloned.status, cloned.stderr).toBe(0);
    const prefix = join(work, 'prefix');
    // --install-links: without it npm 11 links the global package to its temporary clone, which
    // it deletes (npm/cli#4148, #9406). The clone's `prepare` builds dist/ (scripts/prepare.mjs).
    const install = npm(['install', '--global', '--install-links', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', `git+file://${clone}`], work);
    expect(install.status, `${install.stdout}\n${install.stderr}`).toBe(0);
    renameSync(clone, join(work, 'moved-away'));
    bin = join(prefix, 'bin', 'tap-wemasy');
  }, TIMEOUT_MS);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('tap-wemasy --about, --version and --discover run from the installed copy', () => {
    expectWorkingInstall(installedTap(bin, tmpdir()));
  });
});

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The Dockerfile cannot be built on these machines (no Docker): what can be checked without
 * building is that its entrypoint runs a file the packed package ships (the one package.json
 * names as the source-wemasy bin), that AIRBYTE_ENTRYPOINT says the same, and that the labels
 * Airbyte reads match package.json.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { name: string; version: string; bin: Record<string, string> };
/** Where the final stage's `npm install <tarball>` puts the package. */
const INSTALLED = `/airbyte/integration_code/node_modules/${pkg.name}/`;

/** The final stage's instructions (after the last FROM), one per line. */
function finalStage(): string[] {
  const lines = dockerfile.split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
  const from = lines.findLastIndex((line) => /^FROM\s/i.test(line));
  return lines.slice(from);
}

describe('Dockerfile', () => {
  const stage = finalStage();

  it('runs on the Node 20 slim image and installs the packed package', () => {
    expect(stage[0]).toBe('FROM node:20-slim');
    expect(stage.some((line) => /^RUN npm install --omit=dev .*\/pkg\/tap-wemasy-\*\.tgz/.test(line))).toBe(true);
  });

  it('ENTRYPOINT and AIRBYTE_ENTRYPOINT run the source-wemasy bin of the package as npm pack ships it', () => {
    const entry = stage.find((line) => line.startsWith('ENTRYPOINT '));
    const command = JSON.parse(entry?.slice('ENTRYPOINT '.length) ?? '[]') as string[];
    expect(command[0]).toBe('node');
    const script = command[1] ?? '';
    expect(script.startsWith(INSTALLED)).toBe(true);
    const shipped = script.slice(INSTALLED.length);
    expect(shipped).toBe(pkg.bin['source-wemasy']);

    // Without what an enclosing `npm test` put in the environment for its own script and config.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_(lifecycle|package|command|config)/i.test(key)));
    const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', env });
    expect(pack.status, pack.stderr).toBe(0);
    const files = (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path);
    expect(files).toContain(shipped);

    expect(stage).toContain(`ENV AIRBYTE_ENTRYPOINT="${command.join(' ')}"`);
  });

  it('labels io.airbyte.name and io.airbyte.version match package.json', () => {
    expect(stage).toContain('LABEL io.airbyte.name=airbyte/source-wemasy');
    expect(stage).toContain(`LABEL io.airbyte.version=${pkg.version}`);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { aboutInfo, CAPABILITIES, renderAbout } from '../../src/about.js';
import { configSchema, envVarName, settingNames } from '../../src/config/spec.js';

const schemaOnDisk: unknown = JSON.parse(readFileSync(new URL('../../schemas/config.json', import.meta.url), 'utf8'));
const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
  description: string;
};

describe('aboutInfo', () => {
  it('describes the tap from package.json and the settings schema', () => {
    const info = aboutInfo();
    expect(info.name).toBe('tap-wemasy');
    expect(info.version).toBe(packageJson.version);
    expect(info.description).toBe(packageJson.description);
    expect(info.sdk_version).toBe(`tap-wemasy-ts/${packageJson.version}`);
    expect(info.supported_python_versions).toBeNull();
    expect(info.capabilities).toEqual(['catalog', 'discover', 'state', 'about', 'test']);
    expect(info.settings).toEqual(configSchema());
  });
});

describe('renderAbout', () => {
  it('json: the SDK keys, and settings equal to schemas/config.json', () => {
    const text = renderAbout('json');
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual([
      'name',
      'description',
      'version',
      'sdk_version',
      'supported_python_versions',
      'capabilities',
      'settings',
    ]);
    expect(parsed.settings).toEqual(schemaOnDisk);
    expect(parsed.capabilities).toEqual(CAPABILITIES);
    expect(text.startsWith('{\n  "name": "tap-wemasy",')).toBe(true);
  });

  it('text: Meltano SDK layout, one Name/Type/Default/Environment Variable/Description block per setting', () => {
    const lines = renderAbout('text').trimEnd().split('\n');
    expect(lines.slice(0, 5)).toEqual([
      'Name: tap-wemasy',
      `Description: ${packageJson.description}`,
      `Version: ${packageJson.version}`,
      `SDK Version: tap-wemasy-ts/${packageJson.version}`,
      'Capabilities:',
    ]);
    expect(lines.slice(5, 10)).toEqual(['  - catalog', '  - discover', '  - state', '  - about', '  - test']);
    expect(lines[10]).toBe('Settings:');
    const blocks = lines.slice(11);
    expect(blocks).toHaveLength(settingNames().length * 5);
    settingNames().forEach((name, index) => {
      const setting = configSchema().properties[name];
      const block = blocks.slice(index * 5, index * 5 + 5);
      expect(block.slice(0, 2)).toEqual([`  - Name: ${name}`, `    Type: ${String(setting?.type)}`]);
      expect(block[2]).toMatch(/^ {4}Default: \S/);
      expect(block[3]).toBe(`    Environment Variable: ${envVarName(name)}`);
      // The description's first sentence: a prefix of it, on one line.
      const description = block[4]?.replace(/^ {4}Description: /, '') ?? '';
      expect(description.length, name).toBeGreaterThan(10);
      expect(setting?.description.replace(/\s+/g, ' ').startsWith(description), name).toBe(true);
    });
    expect(blocks).toContain('    Environment Variable: TAP_WEMASY_API_TOKEN');
    const block = (name: string) => blocks.slice(settingNames().indexOf(name) * 5, settingNames().indexOf(name) * 5 + 5);
    expect(block('api_token')[2]).toBe('    Default: (required)');
    expect(block('timezone')[2]).toBe('    Default: UTC');
    expect(block('session_filters')[2]).toBe('    Default: {}');
    expect(block('end_date')[2]).toBe('    Default: None');
    expect(block('window_size')[4]).toBe('    Description: ISO 8601 duration of one date window (one request range), e.g. P1D or PT6H.');
  });

  it('markdown: title, capabilities, one table row per setting, closing line', () => {
    const markdown = renderAbout('markdown');
    const lines = markdown.trimEnd().split('\n');
    expect(lines[0]).toBe('# `tap-wemasy`');
    expect(lines).toContain(packageJson.description);
    expect(lines).toContain('Built with TypeScript on Node.js.');
    expect(lines).toContain('## Capabilities');
    for (const capability of CAPABILITIES) expect(lines).toContain(`* \`${capability}\``);
    const header = lines.indexOf('| Setting | Required | Default | Description |');
    expect(header).toBeGreaterThan(lines.indexOf('## Settings'));
    expect(lines[header + 1]).toBe('|:---|:---:|:---:|:---|');
    const rows = lines.slice(header + 2).filter((line) => line.startsWith('| '));
    expect(rows).toHaveLength(settingNames().length);
    const cells = (row: string): string[] =>
      row
        .slice(2, -2)
        .split(/(?<!\\) \| /)
        .map((cell) => cell.trim());
    const byName = new Map(rows.map((row) => [cells(row)[0], cells(row)]));
    expect([...byName.keys()]).toEqual(settingNames());
    for (const row of rows) expect(cells(row)).toHaveLength(4);
    expect(byName.get('api_token')?.slice(1, 3)).toEqual(['True', 'None']);
    expect(byName.get('start_date')?.slice(1, 3)).toEqual(['True', 'None']);
    expect(byName.get('end_date')?.slice(1, 3)).toEqual(['False', 'None']);
    expect(byName.get('timezone')?.slice(1, 3)).toEqual(['False', 'UTC']);
    expect(byName.get('session_filters')?.[2]).toBe('{}');
    expect(byName.get('session_batch_size')?.[2]).toBe('1000');
    expect(byName.get('base_url')?.[2]).toBe('https://api.wemasy.nl/api');
    expect(byName.get('window_size')?.[3]).toBe(configSchema().properties.window_size?.description);
    expect(lines.at(-1)).toBe(
      'A full list of supported settings and capabilities is available by running: `tap-wemasy --about`',
    );
  });

  it('no format prints anything that looks like a token, and secrets have no default', () => {
    for (const name of ['api_token']) {
      expect(configSchema().properties[name]?.secret).toBe(true);
      expect(configSchema().properties[name]?.writeOnly).toBe(true);
      expect(configSchema().properties[name]?.default).toBeUndefined();
    }
    for (const format of ['text', 'json', 'markdown'] as const) {
      const text = renderAbout(format);
      expect(text.replace(/TAP_WEMASY_[A-Z0-9_]+/g, 'ENV')).not.toMatch(/[A-Za-z0-9_|-]{32,}/);
      expect(text.endsWith('\n')).toBe(false);
    }
  });
});

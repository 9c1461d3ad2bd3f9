/**
 * `npx tsx scripts/sync-meltano.ts` (also part of `npm run readme`): rewrites the extractor's
 * `settings` list in examples/meltano/meltano.yml, between `# settings:start` and
 * `# settings:end`, from schemas/config.json (name, kind, value, label, description, sensitive),
 * after a setting was added or changed. test/meltano.test.ts fails while they differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { configSchema, settingNames, typesOf, type SettingSchema } from '../src/config/spec.js';

const root = fileURLToPath(new URL('..', import.meta.url));
export const MELTANO_YML_PATH = `${root}examples/meltano/meltano.yml`;

/**
 * The Meltano `kind` of a setting: from its JSON type; strings named `*_date` are dates.
 *
 * A `number` (a value that may have a fraction) is `kind: string`, never `decimal`: Meltano 2.15
 * rejects `decimal` outright, and Meltano 4.x turns a decimal setting given through the
 * environment into a Python Decimal that crashes `meltano run` ("Object of type Decimal is not
 * JSON serializable"; ../shared/singer/meltano-invocation.md). The tap reads a numeric string
 * ("30", "2.5") for a number setting, from a config file and from the environment.
 */
export function meltanoKind(name: string, setting: SettingSchema): string {
  const types = typesOf(setting).filter((type) => type !== 'null');
  const type = types[0] ?? 'string';
  if (type === 'string') return name.endsWith('_date') ? 'date_iso8601' : 'string';
  if (type === 'number') return 'string';
  return type;
}

/** The default as meltano.yml gives it: a number setting of `kind: string` gets a string. */
function meltanoValue(setting: SettingSchema): unknown {
  const types = typesOf(setting);
  return types[0] === 'number' && typeof setting.default === 'number' ? String(setting.default) : setting.default;
}

/** The extractor's `settings` list as meltano.yml lines, indented for the plugin entry. */
export function meltanoSettingsYaml(indent = '    '): string[] {
  const settings = settingNames().map((name) => {
    const setting = configSchema().properties[name] as SettingSchema;
    const secret = setting.secret === true || setting.writeOnly === true;
    return {
      name,
      kind: meltanoKind(name, setting),
      ...(setting.default === undefined || secret ? {} : { value: meltanoValue(setting) }),
      label: setting.title,
      description: setting.description,
      ...(secret ? { sensitive: true } : {}),
    };
  });
  return stringify(settings, { lineWidth: 0 })
    .trimEnd()
    .split('\n')
    .map((line) => `${indent}${line}`);
}

/** `text` with the lines strictly between the marker lines replaced by `lines`. */
export function replaceBetween(text: string, start: string, end: string, lines: readonly string[]): string {
  const all = text.split('\n');
  const from = all.findIndex((line) => line.trim() === start);
  const to = all.findIndex((line, i) => i > from && line.trim() === end);
  if (from < 0 || to < 0) throw new Error(`markers ${start} / ${end} not found`);
  return [...all.slice(0, from + 1), ...lines, ...all.slice(to)].join('\n');
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const before = readFileSync(MELTANO_YML_PATH, 'utf8');
  const after = replaceBetween(before, '# settings:start', '# settings:end', meltanoSettingsYaml());
  if (after !== before) writeFileSync(MELTANO_YML_PATH, after);
  process.stderr.write(after === before ? 'meltano.yml settings already up to date\n' : 'meltano.yml settings updated\n');
}

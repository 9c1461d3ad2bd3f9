import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// ajv-formats is CommonJS: under NodeNext its default export arrives as the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/**
 * examples/meltano/meltano.yml: a Meltano project that must stay valid for Meltano and in step with
 * schemas/config.json (regenerate its settings with `npm run readme`).
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const projectDir = join(root, 'examples/meltano');
const meltanoYml = readFileSync(join(projectDir, 'meltano.yml'), 'utf8');
const project = parse(meltanoYml) as MeltanoProject;
const configSchema = JSON.parse(readFileSync(join(root, 'schemas/config.json'), 'utf8')) as ConfigSchema;

/**
 * Meltano's own JSON Schema of meltano.yml (src/meltano/schemas/meltano.schema.json of
 * meltano/meltano at c139d24b2ea4b711569483a93c2f321d05fd93b2, MIT). A copy lives in
 * test/fixtures/; CI also has the shared one beside the repository, and both are checked.
 */
const SCHEMA_COPY = join(root, 'test/fixtures/meltano.schema.json');
const SCHEMA_SHARED = resolve(root, '../shared/meltano/meltano.schema.json');

interface Setting {
  name: string;
  kind?: string;
  value?: unknown;
  label?: string;
  description?: string;
  sensitive?: boolean;
}
interface Extractor {
  name: string;
  namespace?: string;
  executable?: string;
  capabilities?: string[];
  settings?: Setting[];
  settings_group_validation?: string[][];
  select?: string[];
}
interface MeltanoProject {
  default_environment?: string;
  environments?: { name: string; config?: { plugins?: { extractors?: { name: string; config?: Record<string, unknown> }[] } } }[];
  plugins: { extractors: Extractor[]; loaders?: { name: string }[] };
}
interface ConfigSchema {
  required: string[];
  properties: Record<string, { type: string | string[]; title: string; description: string; default?: unknown; secret?: boolean; writeOnly?: boolean }>;
}

const validators = new Map<string, ValidateFunction>();

function validatorFor(path: string): ValidateFunction {
  const cached = validators.get(path);
  if (cached !== undefined) return cached;
  const schema = JSON.parse(readFileSync(path, 'utf8')) as object;
  // Meltano's schema (draft 2020-12) compiles under ajv's strict mode except for two style
  // rules it does not follow: `unevaluatedProperties` in subschemas without `type: "object"`
  // (strictTypes) and `required` naming properties defined in sibling subschemas (strictRequired).
  // Only those two are relaxed, for this meta-validation only; unknown keywords (strictSchema)
  // are still an error, and the tap's own schemas are compiled fully strict elsewhere.
  const ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  validators.set(path, validate);
  return validate;
}

const extractor = (): Extractor => {
  const found = project.plugins.extractors.find((plugin) => plugin.name === 'tap-wemasy');
  if (found === undefined) throw new Error('meltano.yml declares no tap-wemasy extractor');
  return found;
};

/** The Meltano kind each JSON type may have: strings named `*_date` are dates. */
function expectedKind(name: string, type: string | string[]): string {
  const first = (Array.isArray(type) ? type.filter((t) => t !== 'null') : [type])[0];
  switch (first) {
    case 'string':
      return name.endsWith('_date') ? 'date_iso8601' : 'string';
    case 'number':
      return 'string'; // never decimal: Meltano 2.15 rejects it, 4.x crashes on one from the environment
    default:
      return String(first);
  }
}

describe('examples/meltano/meltano.yml', () => {
  it('is valid against Meltano\'s JSON Schema of meltano.yml (the copy in test/fixtures)', () => {
    const validate = validatorFor(SCHEMA_COPY);
    expect(validate(project), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it('is valid against the shared copy too, and the fixture is that copy', () => {
    if (!existsSync(SCHEMA_SHARED)) return; // ../shared is present in CI and on developer machines
    expect(readFileSync(SCHEMA_COPY, 'utf8') === readFileSync(SCHEMA_SHARED, 'utf8'), 'test/fixtures/meltano.schema.json differs from ../shared: copy it again (and its commit into test/fixtures/README.md)').toBe(true);
    const validate = validatorFor(SCHEMA_SHARED);
    expect(validate(project), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it('the validation does catch mistakes (a wrong kind, an unknown capability, a misspelt key)', () => {
    const validate = validatorFor(SCHEMA_COPY);
    const broken = (change: (p: MeltanoProject) => void): boolean => {
      const copy = structuredClone(project);
      change(copy);
      return validate(copy);
    };
    expect(broken((p) => ((p.plugins.extractors[0] as Extractor).settings as Setting[])[0]!.kind = 'number')).toBe(false);
    expect(broken((p) => (p.plugins.extractors[0] as Extractor).capabilities?.push('sync'))).toBe(false);
    expect(broken((p) => Object.assign(p.plugins.extractors[0] as Extractor, { selct: ['x'] }))).toBe(false);
  });

  it('is a runnable project: default environment dev, the extractor as a custom plugin', () => {
    expect(project.default_environment).toBe('dev');
    expect(project.environments?.map((e) => e.name)).toEqual(['dev']);
    const tap = extractor();
    expect(tap.namespace).toBe('tap_wemasy');
    expect(tap.capabilities).toEqual(['catalog', 'discover', 'state', 'about', 'test']);
    expect(tap).not.toHaveProperty('pip_url');
    expect(tap.select).toEqual(['sessions.*', 'visits.*', 'conversions.*']);
    expect(tap.settings_group_validation).toEqual([configSchema.required]);
    const devConfig = project.environments?.[0]?.config?.plugins?.extractors?.find((e) => e.name === 'tap-wemasy')?.config ?? {};
    for (const name of Object.keys(devConfig)) expect(configSchema.properties, name).toHaveProperty(name);
    expect(devConfig).not.toHaveProperty('api_token');
  });

  it('its executable is the built tap, resolved from the project root as Meltano does, and runs', () => {
    const executable = extractor().executable ?? '';
    // Meltano: a name without "/" is looked up on PATH; one with "/" is relative to the project root.
    expect(executable).toContain('/');
    const path = resolve(projectDir, executable);
    expect(path).toBe(join(root, 'dist/main.js'));
    expect(statSync(path).mode & 0o111, 'dist/main.js must be executable (npm run build sets it)').not.toBe(0);
    const run = spawnSync(path, ['--about', '--format', 'json'], {
      cwd: projectDir,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
    });
    expect(run.status, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { name: string }).name).toBe('tap-wemasy');
  });

  it('declares exactly the settings of schemas/config.json, with matching kinds, defaults, labels and descriptions', () => {
    const settings = extractor().settings ?? [];
    expect(settings.map((s) => s.name)).toEqual(Object.keys(configSchema.properties));
    for (const setting of settings) {
      const spec = configSchema.properties[setting.name];
      if (spec === undefined) throw new Error(`unknown setting ${setting.name}`);
      expect(setting.kind, setting.name).toBe(expectedKind(setting.name, spec.type));
      const numberAsText = spec.type === 'number' && typeof spec.default === 'number';
      expect(setting.value, setting.name).toEqual(numberAsText ? String(spec.default) : spec.default);
      expect(setting.label, setting.name).toBe(spec.title);
      expect(setting.description, setting.name).toBe(spec.description);
      expect(setting.sensitive ?? false, setting.name).toBe(spec.secret === true || spec.writeOnly === true);
    }
    expect(settings.find((s) => s.name === 'api_token')?.sensitive).toBe(true);
  });

  it('uses only setting kinds that Meltano 2.15 and 4.x both accept, also from the environment: no decimal', () => {
    // meltano-invocation.md: 2.15.3 rejects `decimal` ("'decimal' is not a valid SettingKind"); 4.2.2
    // accepts it but crashes on a decimal given through the environment. These kinds are the ones
    // the example ran with on 2.15.3 (besides decimal); integer works from the environment in both.
    const kinds = new Set((extractor().settings ?? []).map((s) => s.kind));
    expect(kinds.has('decimal')).toBe(false);
    expect(meltanoYml).not.toMatch(/kind:\s*decimal/);
    for (const kind of kinds) expect(['string', 'integer', 'boolean', 'date_iso8601', 'array', 'object']).toContain(kind);
  });

  it('describes only installs that work today: the executable built in this checkout, no npm registry install, no pip_url', () => {
    expect(meltanoYml).not.toMatch(/npm install -g tap-wemasy\b/);
    expect(extractor()).not.toHaveProperty('pip_url');
  });

  it('is byte for byte what scripts/sync-meltano.ts generates (run `npm run readme` after changing a setting)', async () => {
    const { meltanoSettingsYaml, replaceBetween } = await import('../scripts/sync-meltano.js');
    expect(replaceBetween(meltanoYml, '# settings:start', '# settings:end', meltanoSettingsYaml())).toBe(meltanoYml);
  });
});

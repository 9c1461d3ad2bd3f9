/**
 * The settings specification: `schemas/config.json`, read at runtime.
 *
 * That one file drives config validation (config/settings.ts), `--config ENV` casting
 * (config/load.ts), `--about` in every format (about.ts) and the README's settings table.
 * It is found from the package root (paths.ts), so it resolves the same way from `src/` under
 * vitest and from `dist/` once built.
 */
import { isJsonObject, type JsonValue } from '../json.js';
import { readPackageJson } from '../paths.js';

/** Plugin name as Meltano and the environment variables spell it. */
export const ENV_PREFIX = 'TAP_WEMASY_';

export type JsonSchemaType = 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object' | 'null';

/** The JSON Schema keywords the settings use (the schema file may hold more; ajv sees them all). */
export interface SettingSchema {
  readonly type: JsonSchemaType | readonly JsonSchemaType[];
  /** A short label, e.g. "API token". */
  readonly title: string;
  readonly description: string;
  readonly default?: JsonValue;
  /** Sensitive: never printed, logged or echoed in an error. */
  readonly secret?: boolean;
  readonly writeOnly?: boolean;
  readonly items?: { readonly type: JsonSchemaType | readonly JsonSchemaType[] };
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly minLength?: number;
  readonly minItems?: number;
}

export interface ConfigSchema {
  readonly $schema: string;
  readonly title: string;
  readonly description: string;
  readonly type: 'object';
  readonly required: readonly string[];
  readonly additionalProperties: boolean;
  readonly properties: Readonly<Record<string, SettingSchema>>;
}

const SCHEMA_TYPES: ReadonlySet<string> = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'null']);

function isTypeKeyword(value: unknown): boolean {
  if (typeof value === 'string') return SCHEMA_TYPES.has(value);
  return Array.isArray(value) && value.length > 0 && value.every((t) => typeof t === 'string' && SCHEMA_TYPES.has(t));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Checks the shipped schema file has the shape the tap relies on. A failure here is a packaging
 * bug, not a user error, so it throws a plain Error.
 */
function checkConfigSchema(value: unknown, where: string): ConfigSchema {
  const fail = (what: string): never => {
    throw new Error(`${where}: ${what}`);
  };
  if (!isJsonObject(value)) return fail('not a JSON object');
  if (value.type !== 'object') fail('top-level "type" must be "object"');
  const properties = value.properties;
  if (!isJsonObject(properties)) return fail('"properties" must be an object');
  for (const [name, setting] of Object.entries(properties)) {
    if (!isJsonObject(setting)) return fail(`setting ${name} must be an object`);
    if (!isTypeKeyword(setting.type)) fail(`setting ${name} has no valid "type"`);
    if (typeof setting.title !== 'string' || typeof setting.description !== 'string') {
      fail(`setting ${name} needs a "title" and a "description"`);
    }
    if (setting.items !== undefined && !(isJsonObject(setting.items) && isTypeKeyword(setting.items.type))) {
      fail(`setting ${name} has "items" without a valid "type"`);
    }
  }
  const required = value.required;
  if (!Array.isArray(required) || !required.every((r) => typeof r === 'string' && r in properties)) {
    fail('"required" must list known settings');
  }
  // The checks above cover every field of ConfigSchema that the code reads.
  return deepFreeze(value) as unknown as ConfigSchema;
}

const CONFIG_SCHEMA_PATH = 'schemas/config.json';

function loadConfigSchema(): ConfigSchema {
  return checkConfigSchema(readPackageJson(CONFIG_SCHEMA_PATH), CONFIG_SCHEMA_PATH);
}

/**
 * The parsed, checked, frozen `schemas/config.json`, read when asked: nothing is read at import
 * time and the module holds no cache (a caller that needs it several times keeps it).
 */
export function configSchema(): ConfigSchema {
  return loadConfigSchema();
}

/** Every known setting, in the schema's order. */
export function settingNames(schema: ConfigSchema = configSchema()): readonly string[] {
  return Object.keys(schema.properties);
}

/** Settings whose values must never be shown: `secret` or `writeOnly` in the schema. */
export function secretSettings(schema: ConfigSchema = configSchema()): readonly string[] {
  return settingNames(schema).filter((name) => {
    const setting = schema.properties[name];
    return setting?.secret === true || setting?.writeOnly === true;
  });
}

/** `api_token` → `TAP_WEMASY_API_TOKEN` (Meltano: uppercased, non-alphanumerics → `_`). */
export function envVarName(setting: string): string {
  return `${ENV_PREFIX}${setting.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The schema of one known setting, or undefined for an unknown name. */
export function settingSchema(name: string, schema: ConfigSchema = configSchema()): SettingSchema | undefined {
  return Object.hasOwn(schema.properties, name) ? schema.properties[name] : undefined;
}

/** The type keyword as a list: `"string"` → `["string"]`. */
export function typesOf(schema: { readonly type: JsonSchemaType | readonly JsonSchemaType[] }): readonly JsonSchemaType[] {
  return typeof schema.type === 'string' ? [schema.type] : schema.type;
}

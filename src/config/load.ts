/**
 * Reads the `--config` sources into one plain JSON object (validation is config/settings.ts).
 *
 * Each source is a JSON file, merged left to right (later files win, shallow), or the literal
 * `ENV`, which reads `TAP_WEMASY_<SETTING>` for every known setting. Environment values win over
 * every file whatever the order of the flags (Meltano SDK, singer_sdk/configuration/_dict_config.py).
 *
 * Messages name files, variables and settings, never contents or values: either may hold the token.
 */
import { readFile } from 'node:fs/promises';
import { TapError } from '../errors.js';
import { isJsonObject, safeJsonErrorMessage, type JsonObject, type JsonValue } from '../json.js';
import type { Logger } from '../log.js';
import { nearestSettings, orList } from './names.js';
import { ENV_PREFIX, configSchema, envVarName, settingNames, typesOf, type SettingSchema } from './spec.js';

/** The `--config` value that means "read settings from the environment". */
export const ENV_SOURCE = 'ENV';

const TRUE_WORDS: ReadonlySet<string> = new Set(['true', '1', 'yes', 'on']);

// Lives in json.ts (state and catalog parsing use it too); re-exported for the config's users.
export { safeJsonErrorMessage };

async function readConfigFile(path: string): Promise<JsonObject> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') throw new TapError('config', `config file ${path} not found`);
    if (code === 'EISDIR') throw new TapError('config', `config file ${path} is a directory, not a file`);
    throw new TapError('config', `config file ${path} could not be read (${code ?? 'unknown error'})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a BOM left by some Windows editors
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = text.trim() === '' ? 'the file is empty' : safeJsonErrorMessage(error, text);
    throw new TapError('config', `config file ${path} is not valid JSON: ${detail}`);
  }
  if (!isJsonObject(value)) throw new TapError('config', `config file ${path} must hold a JSON object`);
  return value;
}

function parseJsonVariable(variable: string, text: string, expected: 'array' | 'object'): JsonValue {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TapError(
      'config',
      `environment variable ${variable} is not a valid JSON ${expected}: ${safeJsonErrorMessage(error, text)}`,
    );
  }
  const ok = expected === 'array' ? Array.isArray(value) : isJsonObject(value);
  if (!ok) throw new TapError('config', `environment variable ${variable} must hold a JSON ${expected}`);
  return value as JsonValue;
}

/** One scalar from its text, by the first of `types` it fits; the text itself when none fits. */
function castScalar(variable: string, text: string, types: readonly string[], strict: boolean): JsonValue {
  for (const type of types) {
    if (type === 'integer' || type === 'number') {
      const trimmed = text.trim();
      const number = trimmed === '' ? Number.NaN : Number(trimmed);
      if (Number.isFinite(number) && (type === 'number' || Number.isSafeInteger(number))) return number;
    } else if (type === 'boolean') {
      return TRUE_WORDS.has(text.trim().toLowerCase());
    } else if (type === 'string') {
      return text;
    }
  }
  if (strict) {
    const expected = types.map((type) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`)).join(' or ');
    throw new TapError('config', `environment variable ${variable} must be ${expected}`);
  }
  return text;
}

/** The value of one setting's variable, cast by the setting's schema type. */
function castEnvValue(variable: string, text: string, setting: SettingSchema, log: Logger): JsonValue {
  const types = typesOf(setting);
  if (types.includes('array')) {
    const trimmed = text.trim();
    if (trimmed.startsWith('[')) return parseJsonVariable(variable, trimmed, 'array');
    log.warn(
      `environment variable ${variable}: comma-separated lists are deprecated; give a JSON array such as ["a","b"]`,
    );
    const itemTypes = setting.items === undefined ? ['string'] : typesOf(setting.items);
    return trimmed
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '')
      .map((item) => castScalar(variable, item, itemTypes, false));
  }
  if (types.includes('object')) return parseJsonVariable(variable, text.trim(), 'object');
  // Strings are kept as given: the token, dates and names need no casting.
  return castScalar(variable, text, types, true);
}

/**
 * `TAP_WEMASY_<NAME>` variables that name no setting: a near miss of a setting's variable is an
 * error (the run would silently use the default); others are only mentioned. Meltano's extras
 * (`TAP_WEMASY__SELECT`, `__METADATA`, ...: two underscores) are not settings and are skipped.
 */
function checkUnknownVariables(env: NodeJS.ProcessEnv, log: Logger): void {
  const known = new Set(settingNames().map(envVarName));
  const ignored: string[] = [];
  for (const variable of Object.keys(env).sort()) {
    if (!variable.startsWith(ENV_PREFIX) || known.has(variable)) continue;
    const rest = variable.slice(ENV_PREFIX.length);
    if (rest === '' || rest.startsWith('_')) continue;
    const near = nearestSettings(rest.toLowerCase(), settingNames());
    if (near.length > 0) {
      throw new TapError('config', `environment variable ${variable} is not a setting (did you mean ${orList(near.map(envVarName))}?)`);
    }
    ignored.push(variable);
  }
  if (ignored.length > 0) log.info(`ignoring environment variables that name no setting: ${ignored.join(', ')}`);
}

/** Every known setting found in `env`, cast by type. Empty variables count as unset. */
export function readEnvConfig(env: NodeJS.ProcessEnv, log: Logger): JsonObject {
  const out: JsonObject = {};
  const used: string[] = [];
  const schema = configSchema();
  for (const name of settingNames(schema)) {
    const variable = envVarName(name);
    const text = env[variable];
    const setting = schema.properties[name];
    if (text === undefined || text === '' || setting === undefined) continue;
    out[name] = castEnvValue(variable, text, setting, log);
    used.push(variable);
  }
  checkUnknownVariables(env, log);
  if (used.length > 0) log.info(`reading settings from environment variables: ${used.join(', ')}`);
  else log.info(`--config ENV: no ${ENV_PREFIX}<SETTING> variables are set`);
  return out;
}

/**
 * Merges the `--config` sources: files left to right (later wins, shallow), then the environment
 * on top when any source is `ENV`.
 */
export async function loadRawConfig(
  sources: readonly string[],
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<JsonObject> {
  let merged: JsonObject = {};
  let fromEnv: JsonObject | undefined;
  for (const source of sources) {
    if (source === ENV_SOURCE) {
      fromEnv ??= readEnvConfig(env, log);
      continue;
    }
    merged = { ...merged, ...(await readConfigFile(source)) };
    log.debug('read config file', { path: source });
  }
  return fromEnv === undefined ? merged : { ...merged, ...fromEnv };
}

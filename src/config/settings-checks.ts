/**
 * Checks and conversions of single settings that the JSON Schema cannot express: the API root,
 * numbers Meltano passes as strings, unknown keys (typos), duplicate ids.
 */
import type { JsonObject } from '../json.js';
import type { Logger } from '../log.js';
import { nearestSettings } from './names.js';
import { settingNames, settingSchema, typesOf } from './spec.js';
import type { SessionId } from './settings-types.js';
import { show } from './settings-messages.js';

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** The API root without a trailing slash, or the reason it cannot be used. */
export function checkBaseUrl(text: string): { readonly url: string } | { readonly problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: `${show(text)} is not a valid URL` };
  }
  if (url.username !== '' || url.password !== '') {
    return { problem: 'must not contain a user name or password (the token is sent in a header)' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { problem: `${show(text)} must be an https:// URL` };
  }
  if (url.search !== '' || url.hash !== '') {
    return { problem: `${show(text)} must not have a query string or a fragment` };
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return {
      problem:
        `${show(text)} uses plain http:// to a host that is not loopback; use https:// ` +
        '(the API token must not cross a network in clear text)',
    };
  }
  return { url: url.href.replace(/\/+$/, '') };
}

/**
 * Unknown keys: those close to a known setting (a typo: did you mean ...) and the others
 * (extras an orchestrator may pass), which are only a warning.
 */
export function unknownSettings(data: JsonObject, log: Logger): [string, string[]][] {
  const unknown = Object.keys(data).filter((name) => settingSchema(name) === undefined);
  const typos: [string, string[]][] = [];
  const far: string[] = [];
  for (const name of unknown) {
    const near = nearestSettings(name, settingNames);
    if (near.length > 0) typos.push([name, near]);
    else far.push(name);
  }
  if (far.length > 0) log.warn(`ignoring unknown settings: ${far.join(', ')}`);
  return typos;
}

/**
 * A `number` setting given as a numeric string ("30", "2.5") becomes that number: Meltano passes
 * such settings as strings (they are `kind: string` in meltano.yml, because Meltano 2.15 has no
 * decimal kind and 4.x crashes on a decimal from the environment). Integer settings are `kind:
 * integer`, which Meltano passes as numbers. Anything else is left for the schema check to report.
 */
export function numbersFromStrings(data: JsonObject): void {
  for (const name of settingNames) {
    const value = data[name];
    const setting = settingSchema(name);
    if (typeof value !== 'string' || setting === undefined) continue;
    const types = typesOf(setting);
    if (types.includes('string') || !types.includes('number')) continue;
    const text = value.trim();
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) continue;
    const number = Number(text);
    if (Number.isFinite(number)) data[name] = number;
  }
}

/** Ids in the order given, each once (`1` and `"1"` are the same session). */
export function uniqueIds<T extends SessionId>(ids: readonly T[]): T[] {
  const seen = new Set<string>();
  return ids.filter((id) => {
    const key = String(id);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Which known setting an unknown key was meant to be.
 *
 * A misspelt setting is worse than a missing one: the run goes on with the default (a whole sync
 * in UTC instead of the project's zone). So a key that is close to a known name is an error with a
 * did-you-mean; a key far from every known name is only a warning, because orchestrators pass
 * extras of their own. The rule works from the names in schemas/config.json, whatever they are.
 *
 * "Close": equal once case, separators and camelCase are ignored (`Start-Date`, `startDate`,
 * `time_zone`), or within a small edit distance of it (`timzone`, `api_tokn`): at most 1 edit for
 * names of up to 7 letters, 2 for longer ones. Edit distance is fastest-levenshtein's.
 */
import { distance } from 'fastest-levenshtein';

/** `startDate`, `Start-Date`, ` start date ` → `start_date`. */
export function normaliseName(name: string): string {
  return name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** The letters and digits of a name, lower case: what is left to misspell. */
function squash(name: string): string {
  return normaliseName(name).replace(/_/g, '');
}

/** Edits allowed between a key and a known name of this many letters. */
function allowedEdits(letters: number): number {
  return letters >= 8 ? 2 : 1;
}

/**
 * The known names `key` is probably a misspelling of (the closest ones; several only on a tie),
 * or an empty list when it is far from all of them. `key` itself must not be a known name.
 */
export function nearestSettings(key: string, known: readonly string[]): string[] {
  const typed = squash(key);
  if (typed === '') return [];
  let best = Number.POSITIVE_INFINITY;
  let found: string[] = [];
  for (const name of known) {
    const target = squash(name);
    const edits = distance(typed, target);
    if (edits > allowedEdits(target.length)) continue;
    if (edits < best) {
      best = edits;
      found = [name];
    } else if (edits === best) {
      found.push(name);
    }
  }
  return found;
}

/** `a`, `a or b`, `a, b or c`. */
export function orList(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} or ${names.at(-1) ?? ''}`;
}

import { readFileSync } from 'node:fs';

/**
 * Reads and parses a JSON file shipped with the package (schemas, package.json). This module
 * lives at `src/paths.ts` (tests) or `dist/paths.js` (built), one level below the package root
 * in both layouts, so files resolve the same way from a checkout, an `npm pack` tarball or a
 * global install.
 */
export function readPackageJson(relativePath: string): unknown {
  return JSON.parse(readFileSync(new URL(`../${relativePath}`, import.meta.url), 'utf8'));
}

interface PackageManifest {
  readonly name: string;
  readonly version: string;
  readonly description: string;
}

/**
 * name, version and description from package.json, read when asked (a few times a run; no cache
 * held in the module, which keeps no state).
 */
export function packageManifest(): PackageManifest {
  return readPackageJson('package.json') as PackageManifest;
}

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The package root: this module lives at `src/paths.ts` (tests) or `dist/paths.js` (built), one
 * level below the root in both layouts, so `schemas/`, `catalog.json` and `package.json` resolve
 * the same way from a checkout, an `npm pack` tarball or a global install.
 */
export const packageRoot = fileURLToPath(new URL('../', import.meta.url));

/** Reads and parses a JSON file shipped with the package (schemas, package.json). */
export function readPackageJson(relativePath: string): unknown {
  return JSON.parse(readFileSync(new URL(`../${relativePath}`, import.meta.url), 'utf8'));
}

interface PackageManifest {
  readonly name: string;
  readonly version: string;
  readonly description: string;
}

let manifest: PackageManifest | undefined;

/** name, version and description from package.json. */
export function packageManifest(): PackageManifest {
  manifest ??= readPackageJson('package.json') as PackageManifest;
  return manifest;
}

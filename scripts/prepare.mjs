// `prepare` (npm runs it after `npm install` / `npm ci` in a checkout, before `npm pack`, and when
// it installs this package from a git URL): builds dist/ with TypeScript.
//
// `npm install -g git+<url>` prepares the clone with `npm install --include=dev`, but that child
// npm inherits the parent's config through the environment, `npm_config_global=true` included
// (observed with npm 11.19): it installs globally, the clone gets no devDependencies, and the
// build fails with `tsc: not found`. So when TypeScript is missing here, the devDependencies are
// installed into this folder first, with the global flag and prefix taken out of the environment
// (and scripts off, so that this script is not run again).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';

const TSC = 'node_modules/typescript/bin/tsc';

function run(command, args, env = process.env) {
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (!existsSync(TSC)) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_config_(global|global_prefix|prefix|local_prefix|location|allow_scripts)$/i.test(key)) delete env[key];
  }
  const npm = process.env.npm_execpath;
  const [command, prefixArgs] = npm !== undefined && npm.endsWith('.js') ? [process.execPath, [npm]] : ['npm', []];
  process.stderr.write('prepare: TypeScript is not installed here (an install from a git URL?): installing the devDependencies into this folder\n');
  run(command, [...prefixArgs, 'install', '--global=false', '--include=dev', '--ignore-scripts', '--no-save', '--no-audit', '--no-fund'], env);
}
run(process.execPath, [TSC, '-p', 'tsconfig.build.json']);
// The bin must be executable wherever npm links it.
chmodSync('dist/main.js', 0o755);

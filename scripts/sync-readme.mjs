// Rewrites the settings table in README.md from `tap-wemasy --about --format markdown`
// (run after changing schemas/config.json; a test fails while they differ).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const about = execFileSync(process.execPath, ['dist/main.js', '--about', '--format', 'markdown'], { encoding: 'utf8' });
const table = about.split('\n').filter((line, i, lines) => line.startsWith('|') && lines.slice(0, i).some((l) => l.startsWith('## Settings')));
const readme = readFileSync('README.md', 'utf8');
const next = readme.replace(/(<!-- settings:start -->\n)[\s\S]*?(<!-- settings:end -->)/, `$1${table.join('\n')}\n$2`);
writeFileSync('README.md', next);
console.error(next === readme ? 'README settings table already up to date' : 'README settings table updated');

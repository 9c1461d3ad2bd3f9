/** Section 4: `node dist/main.js --about` against `node -e 0`. */
import { ROOT, TAP_BIN } from '../lib/fixtures.js';
import { median, timeSync } from '../lib/measure.js';
import { ratio, table } from '../lib/table.js';
import { bench, crashes, goal, print, progress } from '../lib/context.js';

export function startUp(): void {
  const runs = bench.quick ? 5 : 15;
  progress(`start-up: ${runs} runs each`);
  const about: number[] = [];
  const bare: number[] = [];
  // One unmeasured run of each warms the file cache; then they alternate.
  timeSync(process.execPath, [TAP_BIN, '--about'], 30_000, ROOT);
  timeSync(process.execPath, ['-e', '0'], 30_000, ROOT);
  for (let i = 0; i < runs; i += 1) {
    const a = timeSync(process.execPath, [TAP_BIN, '--about'], 30_000, ROOT);
    if (a.code !== 0) crashes.push(`start-up: dist/main.js --about exited with ${a.code}`);
    about.push(a.wallMs);
    bare.push(timeSync(process.execPath, ['-e', '0'], 30_000, ROOT).wallMs);
  }
  const a = median(about);
  const b = median(bare);
  print();
  print(`## 4. Start-up: median of ${runs} runs each, alternating`);
  print();
  print(
    table(
      ['command', 'median ms', 'min ms', 'max ms'],
      [
        ['node dist/main.js --about', a.toFixed(1), Math.min(...about).toFixed(1), Math.max(...about).toFixed(1)],
        ['node -e 0', b.toFixed(1), Math.min(...bare).toFixed(1), Math.max(...bare).toFixed(1)],
        ['ratio', ratio(a / b), '', ''],
        ['tap minus node', (a - b).toFixed(1), '', ''],
      ],
    ),
  );
  goal('4 start-up', '--about vs node -e 0 (no goal)', `${a.toFixed(0)} ms vs ${b.toFixed(0)} ms (${ratio(a / b)})`, undefined);
}

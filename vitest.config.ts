import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // Vitest's default is one worker fewer than the cores: one file at a time on a 2-core machine.
    // Two: files that wait on real time (npm install in pack, the independent server's rate
    // windows, README blocks) overlap with files that compute.
    maxWorkers: 2,
    // Watchdogs, not assertions: no test may hang, but on a 2-core machine shared by several
    // suites a test may take several times what it takes alone.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    restoreMocks: true,
    // `npm run coverage`: v8 coverage of src/ as the in-process tests run it (spawned children are not seen).
    coverage: { provider: 'v8', include: ['src/**'], reporter: ['text', 'text-summary'] },
  },
});

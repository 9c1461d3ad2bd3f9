// Import rules (npm run lint:deps, part of npm test). Issue 10: imports go one way, zero cycles.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle (type-only imports included) means two modules cannot be understood, or reused, apart.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'time-not-wemasy',
      severity: 'error',
      comment: 'time/ could serve another tap: it imports nothing from api/, streams/ or config/.',
      from: { path: '^src/time/' },
      to: { path: '^src/(api|streams|config)/' },
    },
    {
      name: 'http-not-wemasy',
      // A warning until http/client.ts stops importing api/exact-json.ts (generic JSON parsing
      // that belongs beside src/json.ts); then an error like time-not-wemasy. Issue 10 item 2.
      severity: 'warn',
      comment: 'http/ could serve another tap: it imports nothing from api/, streams/ or config/.',
      from: { path: '^src/http/' },
      to: { path: '^src/(api|streams|config)/' },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A module nothing imports and that is no entry point is dead code.',
      from: {
        orphan: true,
        pathNot: ['\\.d\\.ts$', '(^|/)tsconfig\\.json$', '^src/main\\.ts$', '^src/airbyte/main\\.ts$', '^scripts/', '^bench/[^/]+\\.(ts|mjs)$', '\\.test\\.ts$', '^test/fixtures/'],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    // Type-only imports count: the rules are about how modules depend on each other, not only at run time.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};

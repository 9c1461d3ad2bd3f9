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
    // Layers, top to bottom (each imports only from layers below it):
    //   main.ts → tap.ts, cli.ts, commands.ts, discover.ts, estimate.ts, about.ts, airbyte/ (the faces)
    //   → streams/ (one file per Wemasy stream) → api/ (the Wemasy client) → config/ (Wemasy settings)
    //   → sync/ (the engine) → singer/ (messages, catalog, state) → time/, http/
    //   → the kernel: json.ts, exact-json.ts, errors.ts, log.ts, clock.ts, io.ts, paths.ts, line-output.ts.
    // sync/, singer/, http/ and time/ know nothing of Wemasy: they could serve another tap.
    {
      name: 'core-not-wemasy',
      severity: 'error',
      comment: 'sync/, singer/, http/ and time/ import nothing from api/, streams/, config/ or the faces: they could serve another tap.',
      from: { path: '^src/(sync|singer|http|time)/' },
      to: { path: ['^src/(api|streams|config|airbyte)/', '^src/(tap|cli|commands|discover|estimate|about|main)\\.ts$'] },
    },
    {
      name: 'engine-above-singer',
      severity: 'error',
      comment: 'singer/ (messages, catalog, state) sits below the sync engine.',
      from: { path: '^src/singer/' },
      to: { path: '^src/sync/' },
    },
    {
      name: 'time-and-http-at-the-bottom',
      severity: 'error',
      comment: 'time/ and http/ sit below singer/ and sync/, and apart from each other.',
      from: { path: '^src/(time|http)/' },
      to: { path: '^src/(sync|singer)/' },
    },
    {
      name: 'time-http-apart',
      severity: 'error',
      comment: 'time/ and http/ do not need each other.',
      from: { path: '^src/time/' },
      to: { path: '^src/http/' },
    },
    {
      name: 'config-below-api',
      severity: 'error',
      comment: 'config/ (settings) sits below the API client and the streams.',
      from: { path: '^src/config/' },
      to: { path: ['^src/(api|streams|airbyte)/', '^src/(tap|cli|commands|discover|estimate|main)\\.ts$'] },
    },
    {
      name: 'api-below-streams',
      severity: 'error',
      comment: 'api/ (the Wemasy client) knows no stream, no engine, no face.',
      from: { path: '^src/api/' },
      to: { path: ['^src/(streams|sync|airbyte)/', '^src/(tap|cli|commands|discover|estimate|about|main)\\.ts$'] },
    },
    {
      name: 'streams-below-faces',
      severity: 'error',
      comment: 'streams/ are built on the API client and the engine, and know no face (Singer CLI, Airbyte).',
      from: { path: '^src/streams/' },
      to: { path: ['^src/airbyte/', '^src/(tap|cli|commands|discover|estimate|about|main)\\.ts$'] },
    },
    {
      name: 'kernel-imports-no-layer',
      severity: 'error',
      comment: 'json.ts, exact-json.ts, errors.ts, log.ts, clock.ts, io.ts, paths.ts and line-output.ts are the kernel every layer may use: they import no folder.',
      from: { path: '^src/(json|exact-json|errors|log|clock|io|paths|line-output)\\.ts$' },
      to: { path: '^src/[^/]+/' },
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

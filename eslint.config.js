// @ts-check
// Lint rules (npm run lint, part of npm test): ESLint's recommended set plus typescript-eslint's
// recommendedTypeChecked (type-aware: no-floating-promises, no-misused-promises, no-unsafe-*, ...)
// and require-atomic-updates, over src/, scripts/, bench/ and test/. Zero warnings allowed.
// In src/, only src/clock.ts may read the system time or start a timer (one clock, passed in).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const CLOCK_HINT = 'Use the Clock passed in (src/clock.ts: nowMs, now, monotonicMs, sleep, timer); an entry point uses systemClock.';
const TIMERS = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.bench/', '.scratch/'] },
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      globals: globals.node,
      parserOptions: {
        // tsconfig.json covers src, test, scripts, bench; the few plain .mjs/.js files get a default project.
        projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs', 'bench/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'require-atomic-updates': 'error',
      // `const { a: _a, ...rest } = x` is how a key is dropped from a copy.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // An AbortSignal's reason and a caught error are typed any/unknown: passing them on is the
      // point (the caller chose the reason). Literal non-Error values are still reported.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
    },
  },
  {
    // One clock (src/clock.ts), passed in: no other module of the tap reads the system's time or
    // starts a system timer, so that tests and benchmarks control all of it (a fake clock).
    files: ['src/**/*.ts'],
    ignores: ['src/clock.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: CLOCK_HINT },
        { object: 'performance', property: 'now', message: CLOCK_HINT },
        { object: 'DateTime', property: 'now', message: CLOCK_HINT },
        ...TIMERS.map((property) => ({ object: 'globalThis', property, message: CLOCK_HINT })),
      ],
      'no-restricted-globals': ['error', ...TIMERS.map((name) => ({ name, message: CLOCK_HINT }))],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: `new Date() reads the system time. ${CLOCK_HINT}` },
        { selector: "CallExpression[callee.name='Date']", message: `Date() reads the system time. ${CLOCK_HINT}` },
        {
          selector: "CallExpression[callee.object.name='DateTime'][callee.property.name=/^(utc|local)$/][arguments.length=0]",
          message: `luxon's DateTime.utc() and DateTime.local() without arguments read the system time. ${CLOCK_HINT}`,
        },
      ],
      'no-restricted-imports': [
        'error',
        { paths: ['timers', 'node:timers', 'timers/promises', 'node:timers/promises'].map((name) => ({ name, message: CLOCK_HINT })) },
      ],
    },
  },
  {
    // Plain JavaScript has no type annotations, so everything from JSON.parse or an untyped
    // import is `any`: the no-unsafe-* family would only restate that. The promise rules stay on.
    files: ['**/*.mjs', '**/*.js'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
);

import { afterAll } from 'vitest';
import { removeTempDirs } from './helpers/run-tap.js';

// Every test file: the temporary folders its tests made (helpers/run-tap.ts tempDir) go when it ends.
afterAll(() => removeTempDirs());

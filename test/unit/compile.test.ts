import { describe } from 'vitest';
import { compileSuite } from '../shared/compile.suite.ts';

describe('compile (cpu)', () => compileSuite('cpu'));

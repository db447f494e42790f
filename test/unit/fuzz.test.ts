import { describe } from 'vitest';
import { fuzzSuite } from '../shared/fuzz.suite.ts';

describe('fuzzing on the float64 CPU backend', () => fuzzSuite('cpu'));

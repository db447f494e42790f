import { describe } from 'vitest';
import { fuzzSuite } from '../shared/fuzz.suite.ts';

describe('fuzzing on WebGPU (against the float64 backend)', () => fuzzSuite('webgpu'));

import { describe } from 'vitest';
import { edgeReductionsSuite } from '../shared/edge-reductions.suite.ts';

// The same suite runs on WebGPU in test/gpu/edge-reductions.test.ts.
describe('reduction edge values on the float64 CPU backend', () => edgeReductionsSuite('cpu'));

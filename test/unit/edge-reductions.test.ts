import { describe } from 'vitest';
import { edgeReductionsSuite } from '../shared/edge-reductions.suite.ts';

// No test/gpu twin yet: the WebGPU reductions belong to the fusing compiler (issue 14's reduction items).
describe('reduction edge values on the float64 CPU backend', () => edgeReductionsSuite('cpu'));

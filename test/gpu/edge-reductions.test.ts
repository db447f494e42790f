import { describe } from 'vitest';
import { edgeReductionsSuite } from '../shared/edge-reductions.suite.ts';

describe('reduction edge values on WebGPU (the scheduler\'s reductions)', () => edgeReductionsSuite('webgpu'));

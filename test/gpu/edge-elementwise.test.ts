import { describe } from 'vitest';
import { edgeElementwiseSuite } from '../shared/edge-elementwise.suite.ts';

describe('elementwise edge values on WebGPU', () => edgeElementwiseSuite('webgpu'));

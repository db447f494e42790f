import { describe } from 'vitest';
import { convSuite } from '../shared/conv.suite.ts';

describe('conv2d, pooling and filters on WebGPU', () => convSuite('webgpu'));

import { describe } from 'vitest';
import { matmulSoftmaxSuite } from '../shared/matmul-softmax.suite.ts';

describe('matmul and softmax on the CPU reference backend', () => matmulSoftmaxSuite('cpu'));

import { describe } from 'vitest';
import { convSuite } from '../shared/conv.suite.ts';

describe('conv2d, pooling and filters on the float64 CPU backend', () => convSuite('cpu'));

import { describe } from 'vitest';
import { higherOrderSuite } from '../shared/higher-order.suite.ts';

describe('higher-order gradients on the float64 CPU backend', () => higherOrderSuite('cpu'));

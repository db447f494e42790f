import { describe } from 'vitest';
import { edgeElementwiseSuite } from '../shared/edge-elementwise.suite.ts';

describe('elementwise edge values on the float64 CPU backend', () => edgeElementwiseSuite('cpu'));

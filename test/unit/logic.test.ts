import { describe } from 'vitest';
import { logicSuite } from '../shared/logic.suite.ts';

describe('comparisons, logic and where on the float64 CPU backend', () => logicSuite('cpu'));

import { describe } from 'vitest';
import { dtypeSuite } from '../shared/dtype.suite.ts';

describe('dtypes on the float64 CPU backend', () => dtypeSuite('cpu'));

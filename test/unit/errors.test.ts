import { describe } from 'vitest';
import { errorsSuite } from '../shared/errors.suite.ts';

describe('bad input on the float64 CPU backend', () => errorsSuite('cpu'));

import { describe } from 'vitest';
import { argumentsSuite } from '../shared/arguments.suite.ts';

describe('argument checks on the float64 CPU backend', () => argumentsSuite('cpu'));

import { describe } from 'vitest';
import { indexingSuite } from '../shared/indexing.suite.ts';

describe('argmax, cumsum, gather and scatter on the float64 CPU backend', () => indexingSuite('cpu'));

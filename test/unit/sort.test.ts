import { describe } from 'vitest';
import { sortSuite } from '../shared/sort.suite.ts';

describe('sort, argsort and topk on the float64 CPU backend', () => sortSuite('cpu'));

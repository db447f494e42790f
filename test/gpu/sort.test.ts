import { describe } from 'vitest';
import { sortSuite } from '../shared/sort.suite.ts';

describe('sort, argsort and topk on WebGPU', () => sortSuite('webgpu'));

import { describe } from 'vitest';
import { dtypeSuite } from '../shared/dtype.suite.ts';

describe('dtypes on WebGPU', () => dtypeSuite('webgpu'));

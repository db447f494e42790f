import { describe } from 'vitest';
import { errorsSuite } from '../shared/errors.suite.ts';

describe('bad input on WebGPU', () => errorsSuite('webgpu'));

import { describe } from 'vitest';
import { formatSuite } from '../shared/format.suite.ts';

describe('printing on WebGPU', () => formatSuite('webgpu'));

import { describe } from 'vitest';
import { argumentsSuite } from '../shared/arguments.suite.ts';

describe('argument checks on WebGPU', () => argumentsSuite('webgpu'));

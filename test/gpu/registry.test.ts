import { describe } from 'vitest';
import { registrySuite } from '../shared/registry.suite.ts';

describe('registry ops on WebGPU', () => registrySuite('webgpu'));

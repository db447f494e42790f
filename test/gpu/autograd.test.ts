import { describe } from 'vitest';
import { autogradSuite } from '../shared/autograd.suite.ts';

describe('autograd on WebGPU', () => autogradSuite('webgpu'));

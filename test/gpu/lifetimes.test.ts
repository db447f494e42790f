import { describe } from 'vitest';
import { lifetimesSuite } from '../shared/lifetimes.suite.ts';

describe('lifetimes across shutdown on WebGPU', () => lifetimesSuite('webgpu'));

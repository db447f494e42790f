import { describe } from 'vitest';
import { colorSpaceSuite } from '../shared/color-space.suite.ts';

describe('colour conversions on WebGPU', () => colorSpaceSuite('webgpu'));

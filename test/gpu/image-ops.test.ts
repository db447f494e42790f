import { describe } from 'vitest';
import { imageOpsSuite } from '../shared/image-ops.suite.ts';

describe('colorMix and mseLoss on WebGPU', () => imageOpsSuite('webgpu'));

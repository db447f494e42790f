import { describe } from 'vitest';
import { safetensorsSuite } from '../shared/safetensors.suite.ts';

describe('safetensors on WebGPU', () => safetensorsSuite('webgpu'));

import { describe } from 'vitest';
import { safetensorsSuite } from '../shared/safetensors.suite.ts';

describe('safetensors on the float64 CPU backend', () => safetensorsSuite('cpu'));

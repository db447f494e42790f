import { describe } from 'vitest';
import { imageOpsSuite } from '../shared/image-ops.suite.ts';

describe('colorMix and mseLoss on the float64 CPU backend', () => imageOpsSuite('cpu'));

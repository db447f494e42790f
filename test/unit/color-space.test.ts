import { describe } from 'vitest';
import { colorSpaceSuite } from '../shared/color-space.suite.ts';

describe('colour conversions on the float64 CPU backend', () => colorSpaceSuite('cpu'));

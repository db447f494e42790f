import { describe } from 'vitest';
import { shapeOpsSuite } from '../shared/shape-ops.suite.ts';

describe('shape ops (cpu float64 reference)', () => shapeOpsSuite('cpu'));

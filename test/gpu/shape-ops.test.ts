import { describe } from 'vitest';
import { shapeOpsSuite } from '../shared/shape-ops.suite.ts';

describe('shape ops (webgpu)', () => shapeOpsSuite('webgpu'));

import { describe } from 'vitest';
import { movementSuite } from '../shared/movement.suite.ts';

describe('flip, roll, pad, resize (webgpu)', () => movementSuite('webgpu'));

import { describe } from 'vitest';
import { movementSuite } from '../shared/movement.suite.ts';

describe('flip, roll, pad, resize (cpu float64 reference)', () => movementSuite('cpu'));

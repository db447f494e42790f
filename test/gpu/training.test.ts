import { describe } from 'vitest';
import { trainingSuite } from '../shared/training.suite.ts';

describe('training (webgpu)', () => trainingSuite('webgpu'));

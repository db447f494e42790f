import { describe } from 'vitest';
import { optimSuite } from '../shared/optim.suite.ts';

describe('optim (webgpu)', () => optimSuite('webgpu'));

import { describe } from 'vitest';
import { registrySuite } from '../shared/registry.suite.ts';

describe('registry ops on the float64 CPU backend', () => registrySuite('cpu'));

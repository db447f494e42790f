import { describe } from 'vitest';
import { autogradSuite } from '../shared/autograd.suite.ts';

describe('autograd on the float64 CPU backend', () => autogradSuite('cpu'));

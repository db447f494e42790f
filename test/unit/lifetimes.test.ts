import { describe } from 'vitest';
import { lifetimesSuite } from '../shared/lifetimes.suite.ts';

describe('lifetimes across shutdown on the float64 CPU backend', () => lifetimesSuite('cpu'));

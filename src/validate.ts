/**
 * Checking what users pass to the public API, with messages that name the function, the argument
 * and the value. Every check throws InvalidArgumentError; none of them can itself throw something
 * else while writing its message (a Symbol, `Object.create(null)` or a bigint cannot be put in a
 * template string as they are, so `repr` formats every value).
 */
import { InvalidArgumentError } from './errors.ts';

/** A short description of any value for an error message; never throws. */
export function repr(v: unknown): string {
  try {
    if (v === null) return 'null';
    switch (typeof v) {
      case 'undefined':
        return 'undefined';
      case 'number':
        return Object.is(v, -0) ? '-0' : String(v);
      case 'bigint':
        return `${v.toString()}n (a bigint)`;
      case 'string':
        return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
      case 'symbol':
        return v.toString();
      case 'boolean':
        return String(v);
      case 'function':
        return 'a function';
    }
    if (Array.isArray(v)) {
      if (v.length > 8) return `an array of length ${v.length}`;
      const items: string[] = [];
      for (let i = 0; i < v.length; i++) items.push(i in v ? (Array.isArray(v[i]) ? 'array' : repr(v[i])) : 'empty');
      return `[${items.join(', ')}]`;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto === null) return 'an object with no prototype';
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== 'Object' ? `a ${name}` : 'an object';
  } catch {
    return 'an unprintable value';
  }
}

/**
 * An options argument: undefined gives `{}`; anything but a plain object (null, a number, an array)
 * is an error.
 */
export function checkOptions<T extends object>(fn: string, v: T | undefined, what = 'options'): Partial<T> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new InvalidArgumentError(`${fn}: ${what} must be an object (or left out), got ${repr(v)}`);
  }
  return v;
}

/** An optional boolean: undefined gives `fallback`; anything but true or false is an error (a string 'false' is not false). */
export function checkBool(fn: string, what: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`${fn}: ${what} must be true or false, got ${repr(v)}`);
  return v;
}

export interface NumberRule {
  /** Smallest allowed value (inclusive). */
  readonly min?: number;
  readonly integer?: boolean;
}

/** An optional finite number (undefined gives `fallback`), at least `min`, an integer if asked. */
export function checkFinite(fn: string, what: string, v: unknown, fallback: number, rule: NumberRule = {}): number {
  if (v === undefined) return fallback;
  const { min, integer } = rule;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || (min !== undefined && v < min)) {
    const want = `a finite ${integer ? 'integer' : 'number'}${min !== undefined ? ` >= ${min}` : ''}`;
    throw new InvalidArgumentError(`${fn}: ${what} must be ${want}, got ${repr(v)}`);
  }
  return v;
}

/** A function argument. */
export function checkFunction(fn: string, what: string, v: unknown): void {
  if (typeof v !== 'function') throw new InvalidArgumentError(`${fn}: ${what} must be a function, got ${repr(v)}`);
}

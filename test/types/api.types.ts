/**
 * Type tests: `npm run typecheck` compiles this file (strict, noUncheckedIndexedAccess) and never
 * runs it. Each `@ts-expect-error` line must fail to compile, or the typecheck fails.
 */
import * as pg from 'pixelgrad';

declare const a: pg.Tensor;
declare const b: pg.Tensor;

// grad and valueAndGrad give a tuple of fn's arity: no undefined checks under noUncheckedIndexedAccess.
const [ga, gb] = pg.grad((x, y) => x.mul(y).sum())(a, b);
void ga.data();
void gb.data();
// @ts-expect-error: a two-argument fn gives two gradients
pg.grad((x, y) => x.mul(y).sum())(a, b)[2];
// @ts-expect-error: the gradient function takes fn's arguments
pg.grad((x, y) => x.mul(y).sum())(a);
const { value, grads } = pg.valueAndGrad((x: pg.Tensor) => x.square().sum())(a);
const [gx] = grads;
void value.item();
void gx.data();

// The README's compile example compiles under noUncheckedIndexedAccess.
const grads2 = pg.compile(pg.grad((c1, c2) => c1.mul(0.6).add(c2.mul(0.4)).sub(0.5).pow(2)));
const [g1, g2] = grads2(a, b);
void Promise.all([g1.data(), g2.data()]);

// tidy and compile take synchronous functions only.
const kept: pg.Tensor = pg.tidy(() => a.add(1));
const pair: [pg.Tensor, number] = pg.tidy((): [pg.Tensor, number] => [a, 1]);
void kept;
void pair;
// @ts-expect-error: tidy rejects a function returning a Promise
pg.tidy(async () => a.add(1));
// @ts-expect-error: compile rejects a function returning a Promise
pg.compile(async (x: pg.Tensor) => x.add(1));
// @ts-expect-error: also when the Promise is not from an async function
pg.tidy(() => Promise.resolve(1));

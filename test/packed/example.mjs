// Run by test/unit/packed.test.ts in a temporary project that installed the packed tarball: the
// README example on Node WebGPU (the webgpu package), and the error classes' names. Prints one
// JSON line with what it found.
import * as pg from 'pixelgrad';
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
await pg.init({ gpu: create([]) });
const c1 = pg.tensor([0.2], { requiresGrad: true });
const c2 = pg.tensor([0.7], { requiresGrad: true });
const mixed = c1.mul(0.6).add(c2.mul(0.4));
const loss = mixed.sub(0.5).pow(2);
loss.backward();
const grads = [(await c1.grad.data())[0], (await c2.grad.data())[0]];

let thrown;
try {
  pg.tensor([1, 2]).add(pg.tensor([1, 2, 3]));
} catch (e) {
  thrown = {
    name: e.name,
    stack: e.stack.split('\n')[0],
    string: String(e).split(':')[0],
    isShapeError: e instanceof pg.ShapeError,
    isPixelgradError: e instanceof pg.PixelgradError,
    isError: e instanceof Error,
  };
}
// Every exported error class: the name its instances carry (arguments every constructor accepts).
const names = {};
for (const [key, value] of Object.entries(pg)) {
  if (typeof value === 'function' && value.prototype instanceof Error) names[key] = new value('x', [], '').name;
}
const printed = await pg.format(pg.tensor([[1, 2.5], [-3, 4]]));
const inspected = (await import('node:util')).inspect(c1);
const roundTrip = Object.keys(pg.loadSafetensors(await pg.saveSafetensors({ c1, c2 })));
const backendKind = pg.backend().kind;
// A read still waiting at shutdown rejects with DeviceLostError (not an unhandled rejection).
const pending = loss.add(1).data().then(() => 'resolved', (e) => e.name);
pg.shutdown();
const pendingAtShutdown = await pending;
console.log(JSON.stringify({ backendKind, grads, thrown, names, printed, inspected, roundTrip, pendingAtShutdown }));
// No process.exit: the process must end by itself, with status 0 (README: shutdown lets it exit).

// Run by test/unit/packed.test.ts: require() of the ES module package (Node 20.19+ can).
const pg = require('pixelgrad');

const main = async () => {
  await pg.init({ backend: 'cpu' });
  const x = pg.tensor([1, 2, 3]);
  let name = '';
  try {
    x.reshape([2, 2]);
  } catch (e) {
    name = e instanceof pg.ShapeError ? e.name : 'not a ShapeError';
  }
  console.log(JSON.stringify({ sum: await x.sum().item(), name, tensor: typeof pg.Tensor }));
};
main();

/** Entry of the device kit's bundle (bench/device/pack.mjs): the Node runner as a command. */
import { main } from './node-run.ts';

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
}

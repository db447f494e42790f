// `npm run fuzz [runs] [seed]`: the fuzz properties of test/shared/fuzz.suite.ts with many more
// cases (default 5,000 each) than CI runs, in Node (float64 vs finite differences) and in headless
// Chromium (WebGPU vs float64). A failure prints the shrunk program as code and its seed.
import { spawnSync } from 'node:child_process';

const [runs = '5000', seed = ''] = process.argv.slice(2);
const env = { ...process.env, VITE_FUZZ_RUNS: runs, ...(seed ? { VITE_FUZZ_SEED: seed } : {}) };
let status = 0;
for (const [project, file] of [
  ['unit', 'test/unit/fuzz.test.ts'],
  ['browser', 'test/gpu/fuzz.test.ts'],
]) {
  console.log(`\n$ VITE_FUZZ_RUNS=${runs} vitest run --project ${project} ${file}`);
  const r = spawnSync('npx', ['vitest', 'run', '--project', project, file], { stdio: 'inherit', env });
  status ||= r.status ?? 1;
}
process.exit(status);

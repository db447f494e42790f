// `npm test`: every suite (vitest in Node and in headless Chromium on WebGPU, then the Playwright
// end-to-end tests of the demo), then one closing line "N passed, N failed, N skipped" summed from
// the runners' JSON reports. Exits non-zero on any failure, or when nothing ran.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';

const reports = 'reports';
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });
const extra = process.argv.slice(2);

const run = (cmd, args, env = {}) => {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status ?? 1;
};

const statuses = [];
statuses.push(run('node', ['scripts/ensure-chromium.mjs']));
statuses.push(run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${reports}/vitest.json`, ...extra]));
if (existsSync('playwright.config.ts') && !extra.length) {
  statuses.push(run('npx', ['playwright', 'test', '--reporter=line,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: `${reports}/playwright.json` }));
}

let passed = 0;
let failed = 0;
let skipped = 0;
const read = (f) => (existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null);
const vitest = read(`${reports}/vitest.json`);
if (vitest) {
  passed += vitest.numPassedTests;
  failed += vitest.numFailedTests;
  skipped += (vitest.numPendingTests ?? 0) + (vitest.numTodoTests ?? 0);
  // A test file that failed to load has no failed tests but is a failure.
  const brokenFiles = (vitest.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'));
  failed += brokenFiles.length;
} else {
  console.error('vitest wrote no report');
  failed++;
}
const pw = read(`${reports}/playwright.json`);
if (pw) {
  passed += (pw.stats?.expected ?? 0) + (pw.stats?.flaky ?? 0);
  failed += pw.stats?.unexpected ?? 0;
  skipped += pw.stats?.skipped ?? 0;
  failed += (pw.errors ?? []).length;
}
const runnerFailed = statuses.some((s) => s !== 0);
if (runnerFailed && failed === 0) failed = 1;
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);

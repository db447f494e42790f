// Runs before `npm test` / `npm run demo`: finds a Chromium or says exactly how to get one.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const optional = process.argv.includes('--optional');
const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter(Boolean);
if (process.env.CHROMIUM_PATH && !existsSync(process.env.CHROMIUM_PATH)) {
  console.error(`CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist.`);
  process.exit(1);
}
let found = candidates.find((p) => existsSync(p));
const canApt = !optional && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
// The Node WebGPU test loads Vulkan through the webgpu package (Dawn); Chromium does not bring libvulkan1.
let hasVulkan = true;
try {
  hasVulkan = execSync('ldconfig -p', { encoding: 'utf8' }).includes('libvulkan.so.1');
} catch {}
const packages = [...(found ? [] : ['chromium']), ...(hasVulkan ? [] : ['libvulkan1'])];
if (packages.length && canApt) {
  console.log(`Installing Debian packages: ${packages.join(' ')} (apt-get install -y)...`);
  execSync(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${packages.join(' ')}`, { stdio: 'inherit' });
  found = candidates.find((p) => existsSync(p));
}
if (!found && !optional) {
  let playwrightHasOne = false;
  try {
    const { chromium } = await import('playwright');
    playwrightHasOne = existsSync(chromium.executablePath());
  } catch {}
  if (!playwrightHasOne) {
    console.error('No Chromium found. Install one (`apt-get install chromium`), set CHROMIUM_PATH to a Chromium binary, or run `npx playwright install chromium` where downloads are possible.');
    process.exit(1);
  }
}

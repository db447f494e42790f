#!/usr/bin/env node
// Packs the device kit into .devkit/ (git-ignored; the device tool carries it): the bench's Node
// runner bundled into one file, this machine's node binary and the webgpu package's Dawn binary
// (both xz-compressed), the Vulkan loader's Debian package, and run.sh, which a GPU machine with
// no Chromium and no network runs. See bench/device/README.md.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));
const kit = join(root, '.devkit');
rmSync(kit, { recursive: true, force: true });
mkdirSync(join(kit, 'node_modules', 'webgpu', 'dist', 'linux-x64'), { recursive: true });

console.log('bundling the Node runner...');
await build({
  configFile: false,
  logLevel: 'warn',
  root,
  resolve: { alias: { pixelgrad: join(root, 'src', 'index.ts') } },
  ssr: { noExternal: true, external: ['webgpu'] },
  build: {
    ssr: join(root, 'bench', 'node', 'node-cli.ts'),
    outDir: kit,
    emptyOutDir: false,
    target: 'node20',
    minify: true,
    // package.json says pixelgrad has no side effects; the bench's page modules do (they install globals).
    rollupOptions: { treeshake: { moduleSideEffects: true }, output: { entryFileNames: 'bench-node.mjs', codeSplitting: false } },
  },
});

// The kit carries this machine's node: it must be a self-contained build (libc and libstdc++ only),
// not a distribution's that links libnode.so, or it will not start there.
if (execFileSync('ldd', [process.execPath], { encoding: 'utf8' }).includes('libnode')) {
  throw new Error(`${process.execPath} links libnode.so: pack with a self-contained node (nodejs.org's build)`);
}
if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('the kit is for x86-64 Linux GPU machines: pack it on x86-64 Linux');
const xz = (src, dst) => writeFileSync(dst, execFileSync('xz', ['-6', '-T2', '-c', src], { maxBuffer: 1 << 30 }));
console.log(`compressing ${process.execPath} (node ${process.version})...`);
xz(process.execPath, join(kit, 'node.xz'));
const webgpuDir = dirname(createRequire(import.meta.url).resolve('webgpu/package.json'));
for (const f of ['package.json', 'index.js']) copyFileSync(join(webgpuDir, f), join(kit, 'node_modules', 'webgpu', f));
xz(join(webgpuDir, 'dist', 'linux-x64', 'dawn.node'), join(kit, 'node_modules', 'webgpu', 'dist', 'linux-x64', 'dawn.node.xz'));

console.log('downloading the Vulkan loader (libvulkan1) from the Debian mirror...');
mkdirSync(join(kit, 'debs'), { recursive: true });
try {
  execFileSync('apt-get', ['download', 'libvulkan1'], { cwd: join(kit, 'debs'), stdio: 'inherit' });
} catch {
  console.log('  apt-get download failed: run.sh will use the device machine\'s own libvulkan.so.1, if it has one');
}
copyFileSync(join(root, 'bench', 'device', 'run.sh'), join(kit, 'run.sh'));

let bytes = 0;
const walk = (d) => {
  for (const e of readdirSync(d)) {
    const p = join(d, e);
    if (statSync(p).isDirectory()) walk(p);
    else bytes += statSync(p).size;
  }
};
walk(kit);
console.log(`.devkit/: ${(bytes / 2 ** 20).toFixed(1)} MiB${existsSync(join(kit, 'bench-node.mjs')) ? '' : ' (bundle missing!)'}`);

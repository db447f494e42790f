import { readFileSync } from 'node:fs';
import type { Plugin } from 'vite';

/**
 * A shader file without its comments, indentation and blank lines, which cost 3.3 KB of the whole
 * library's 51 KB brotli. WGSL has no string literals, so every `//` starts a comment, and
 * whitespace only separates tokens, so keeping one newline per line leaves the same token stream.
 * The `//# name` lines stay: section() in src/gpu/wgsl.ts splits the file at them.
 */
export function minifyWgsl(source: string): string {
  if (source.includes('/*')) throw new Error('minifyWgsl: block comments are not supported; use // comments');
  const lines: string[] = [];
  for (const line of source.split(/\r?\n/)) {
    if (line.startsWith('//# ')) {
      lines.push(line.trimEnd());
      continue;
    }
    const comment = line.indexOf('//');
    const code = (comment < 0 ? line : line.slice(0, comment)).trim();
    if (code) lines.push(code);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Serves `*.wgsl?raw` imports minified, ahead of Vite's own `?raw` loader, in the library build
 * and in the tests alike, so the suites run the shader text that ships.
 */
export function wgslMinify(): Plugin {
  return {
    name: 'pixelgrad:wgsl-minify',
    enforce: 'pre',
    load(id) {
      const [file, query] = id.split('?', 2);
      if (!file?.endsWith('.wgsl') || query !== 'raw') return null;
      this.addWatchFile(file);
      return `export default ${JSON.stringify(minifyWgsl(readFileSync(file, 'utf8')))};`;
    },
  };
}

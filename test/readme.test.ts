// The README's runnable parts run here, so the docs cannot rot:
// - every `npx superstep run ...` line in a ```sh block runs (as `node bin/superstep.mjs run ...`);
// - every ```ts block preceded by `<!-- test: run -n P [--backend B] -->` is saved as a script
//   inside the repo (so `import ... from 'superstep'` resolves) and run on P ranks.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const tmp = join(root, 'test', '.readme-tmp');

interface Runnable {
  title: string;
  args: string[];
  /** Run with `node --import tsx` instead of the superstep command. */
  plain?: boolean;
}

function runnables(md: string): Runnable[] {
  const out: Runnable[] = [];
  const blocks = md.matchAll(/(<!--\s*test:\s*(run\s+[^>]*?|node)\s*-->\s*\n)?```(\w+)\n([\s\S]*?)```/g);
  let n = 0;
  for (const m of blocks) {
    const [, marker, flags, lang, body] = m;
    if (lang === 'sh' || lang === 'bash') {
      for (const raw of body!.split('\n')) {
        const line = raw.replace(/\s+#.*$/, '').trim();
        const cmd = line.match(/(?:^|&&\s*)npx superstep run (.+)$/);
        if (cmd) out.push({ title: line, args: ['run', ...cmd[1]!.split(/\s+/)] });
      }
    } else if ((lang === 'ts' || lang === 'js') && marker) {
      const file = join(tmp, `block${n++}.${lang}`);
      mkdirSync(tmp, { recursive: true });
      writeFileSync(file, body!);
      const title = `${lang} block ${n}: ${body!.split('\n')[0]}`;
      // `run -n P ...`: a script on P ranks; `node`: a plain program (e.g. one that calls run()).
      out.push(flags === 'node' ? { title, args: [file], plain: true } : { title, args: [...flags!.split(/\s+/), file] });
    }
  }
  return out;
}

// The same command twice (the set-up line repeats an example) runs once.
const all = runnables(readme).filter((r, i, xs) => xs.findIndex((x) => x.args.join(' ') === r.args.join(' ')) === i);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('README', () => {
  it('opens with the two set-up commands: run an example, run the tests', () => {
    const head = readme.slice(0, 1500);
    expect(head).toMatch(/npm ci && npx superstep run -n 4 examples\/\S+\.ts/);
    expect(head).toMatch(/npm test/);
  });

  it('has runnable blocks', () => {
    expect(all.length).toBeGreaterThan(3);
  });

  it.each(all.map((r) => [r.title, r] as const))('%s', (_title, r) => {
    const argv = r.plain ? ['--import', 'tsx', ...r.args] : ['bin/superstep.mjs', ...r.args];
    const res = spawnSync(process.execPath, argv, { cwd: root, encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
    expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
  });
});

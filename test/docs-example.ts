// A docs section and the example code a fixture runs for it: the code between the fixture's
// `// docs:begin` and `// docs:end` lines (unindented once), so a test can check the docs show
// exactly what the ranks run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export function docsExample(doc: string, heading: string, fixture: string): { section: string; code: string } {
  const text = readFileSync(join(root, doc), 'utf8');
  const at = text.indexOf(`## ${heading}`);
  const section = text.slice(at, text.indexOf('\n## ', at + 1));
  const src = readFileSync(join(root, 'test/fixtures', fixture), 'utf8');
  const code = src.slice(src.indexOf('// docs:begin\n') + 14, src.indexOf('  // docs:end')).replace(/^ {2}/gm, '');
  return { section, code };
}

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of reference events and scikit-learn results beside the repository (`../shared`), for
 * the tests. Found from the repository root because the tests run from `dist/`, not from here.
 */
export function stabilityFixturesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return resolve(dir, '../shared/fixtures/stability');
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json above this file: cannot find ../shared/fixtures/stability');
    dir = parent;
  }
}

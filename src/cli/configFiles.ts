import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SourceFile } from '../registry/configDocuments.js';

/** Reads every .yaml/.yml file under a directory, in a stable order, with paths relative to where the user stands. */
export function readConfigDirectory(dir: string): SourceFile[] {
  let stat;
  try {
    stat = statSync(dir);
  } catch {
    throw new Error(`${dir}: no such directory`);
  }
  if (!stat.isDirectory()) throw new Error(`${dir} is not a directory: pass the directory holding your YAML files`);
  const files: SourceFile[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.')) continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ya?ml$/i.test(entry.name)) files.push({ path: relative(process.cwd(), path) || path, text: readFileSync(path, 'utf8') });
    }
  };
  walk(dir);
  return files;
}

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';

const INTRO = `# Benchmarks

Each benchmark in \`bench/\` measures modelfleet against a peer in the same run (for the registry:
the same SQL through the database driver, without modelfleet in between), on the machine named in
its section, and rewrites its own section below. Run them with \`npm run bench\`
(\`npm run bench -- --quick\` for a smaller, shorter run that does not touch this file).
Numbers from different machines are not comparable; ratios to the peer travel better.
`;

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
}

export function machine(): Machine {
  const all = cpus();
  return { cpu: all[0]?.model.trim() ?? 'unknown', cores: all.length, memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10, node: process.version };
}

export const machineLine = (m: Machine) => `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Node ${m.node}`;

/** Writes or replaces the section named `id` (between marker comments), creating the file with an intro. */
export function writeSection(file: string, id: string, markdown: string): void {
  const start = `<!-- bench:${id}:start -->`;
  const end = `<!-- bench:${id}:end -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : INTRO;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next = from >= 0 && to > from ? `${current.slice(0, from)}${block}${current.slice(to + end.length)}` : `${current.trimEnd()}\n\n${block}\n`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, next);
}

/** A markdown table; cells are written as given. */
export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

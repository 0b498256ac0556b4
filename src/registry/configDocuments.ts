import { closest, distance } from 'fastest-levenshtein';
import { Document, LineCounter, isAlias, isMap, isNode, isScalar, isSeq, parseAllDocuments, visit } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import { pathSegments } from '../core/schemaFields.js';
import type { RegistryKind } from './entry.js';
import { splitModelId } from './modelTypeName.js';
import type { RegistrySettings } from './settings.js';
import { checkSpec, inputKey, inputSchemas, keyField, kindLabel } from './specs.js';
import { Criticality, ModelRole, criticalityRank, isLiveRole } from './vocabulary.js';

/**
 * "Config as code": registry entries declared as multi-document YAML files, one entry per document,
 * each `kind: Team | ModelType | Model` plus the same fields the API takes. This module only turns
 * text into documents and documents into problems with `file:line`; reading the directory and talking
 * to the server are the CLI's business.
 */

/** The `kind:` values config files use, and the registry kind each one declares. */
export const ConfigKind = { Team: 'team', ModelType: 'modelType', Model: 'model' } as const satisfies Record<string, RegistryKind>;
export type ConfigKind = keyof typeof ConfigKind;

const configKindNames = Object.keys(ConfigKind) as ConfigKind[];

/** The YAML `kind:` written for each registry kind. */
export const configKindOf: Record<RegistryKind, ConfigKind> = { team: 'Team', modelType: 'ModelType', model: 'Model' };

/** One config file's path (as it should appear in messages) and its contents. */
export interface SourceFile {
  path: string;
  text: string;
}

/** One registry entry declared in a config file. */
export interface ConfigDocument {
  kind: RegistryKind;
  /** The entry's name (teams, model types) or id (models); '' when the document does not give one. */
  key: string;
  /** The document's fields without `kind`, exactly as written: what the API would receive. */
  input: Record<string, unknown>;
  file: string;
  /** 1-based line where the document's content starts. */
  line: number;
  /**
   * The 1-based line of a field path like `tasks[0].name` or `thresholds.PLIKE.neMax`; when the path
   * does not exist in the document, the line of its nearest existing ancestor, then the document's line.
   */
  locate(path: string): number;
}

/** One problem found in the config files, at one place. */
export interface ConfigProblem {
  file: string;
  line: number;
  /** The field path inside the document, or `(root)` / `(yaml)` for the document or its syntax. */
  path: string;
  message: string;
}

/** `file:line: path: message`, the form editors and CI logs turn into links. */
export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}: ${p.path}: ${p.message}`;
}

// ---------------------------------------------------------------------------------------------------
// Parsing

/** Hints for the YAML errors people actually make, keyed by the yaml package's error codes. */
const yamlHints: Partial<Record<string, string>> = {
  DUPLICATE_KEY: 'a field appears twice in one mapping: keep one of them',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  BAD_INDENT: 'check the indentation: fields of one mapping line up in the same column',
  MISSING_CHAR: 'a closing quote or bracket is missing',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line; check for a missing ":" or an unclosed quote on the line before',
  BLOCK_AS_IMPLICIT_KEY: 'check for a missing ":" or bad indentation',
  UNEXPECTED_TOKEN: 'check for a stray character, or quote the value',
};

/**
 * Parses config files into documents. Syntax errors are reported with their line; documents that
 * are empty are skipped; documents that are not a mapping or lack a known `kind` become problems.
 * Field values are not checked here: see {@link validateConfigDocuments}.
 */
export function parseConfigFiles(files: SourceFile[]): { documents: ConfigDocument[]; problems: ConfigProblem[] } {
  const documents: ConfigDocument[] = [];
  const problems: ConfigProblem[] = [];
  for (const file of files) {
    const lineCounter = new LineCounter();
    const docs = parseAllDocuments(file.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
    const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
    for (const doc of docs) {
      if (doc.errors.length) {
        for (const error of doc.errors) {
          // An unclosed quote or bracket is only noticed at the end of the input; the line where the
          // unclosed value starts is the one to fix.
          const atEnd = file.text.slice(error.pos[0]).trim() === '';
          const opener = atEnd ? innermostNodeAt(doc, error.pos[0]) : null;
          const hint = opener !== null ? 'the value starting on this line runs to the end of the file: close its quote or bracket' : yamlHints[error.code];
          problems.push({
            file: file.path,
            line: lineAt(opener ?? error.pos[0]),
            path: '(yaml)',
            message: `YAML syntax error: ${error.message}${hint ? `: ${hint}` : ''}`,
          });
        }
        continue;
      }
      const contents = doc.contents;
      if (contents === null || (isScalar(contents) && contents.value === null)) continue;
      const line = lineAt(contents.range[0]);
      const problem = (at: number, path: string, message: string) => problems.push({ file: file.path, line: at, path, message });
      if (!isMap(contents)) {
        problem(line, '(root)', `a config document must be a mapping that starts with 'kind: ${configKindNames.join(' | ')}', not ${isSeq(contents) ? 'a list' : 'a single value'}: write one entry per document and separate documents with '---'`);
        continue;
      }
      const locate = locator(contents, lineAt, line, doc);
      const js: unknown = doc.toJS({ maxAliasCount: 100 });
      const { kind: written, ...input } = js as Record<string, unknown>;
      const kind = registryKindOf(written);
      if (!kind) {
        problem(written === undefined ? line : locate('kind'), 'kind', kindMessage(written));
        continue;
      }
      documents.push({ kind, key: inputKey(kind, input) ?? '', input, file: file.path, line, locate });
    }
  }
  return { documents, problems };
}

/** Start offset of the innermost node whose range contains an offset, or null. */
function innermostNodeAt(doc: Document.Parsed, offset: number): number | null {
  let start: number | null = null;
  visit(doc, (_key, node) => {
    const range = isNode(node) ? node.range : undefined;
    if (range && range[0] <= offset && offset <= range[2] && (start === null || range[0] >= start)) start = range[0];
  });
  return start;
}

function registryKindOf(value: unknown): RegistryKind | null {
  return typeof value === 'string' && Object.hasOwn(ConfigKind, value) ? ConfigKind[value as ConfigKind] : null;
}

function kindMessage(written: unknown): string {
  const allowed = `kind must be one of ${configKindNames.join(', ')}`;
  if (written === undefined) return `${allowed}, but the document has no kind: add e.g. 'kind: ModelType' as its first line`;
  if (typeof written !== 'string') return `${allowed}, not ${JSON.stringify(written)}`;
  const folded = written.toLowerCase().replace(/[\s_-]/g, '');
  const sameButCase = configKindNames.find((k) => k.toLowerCase() === folded);
  if (sameButCase) return `${allowed}, not '${written}': did you mean '${sameButCase}'? (kinds are case-sensitive)`;
  const best = closest(written, configKindNames);
  const near = best !== undefined && distance(written, best) <= 2 ? `: did you mean '${best}'?` : '';
  return `${allowed}, not '${written}'${near}`;
}

function locator(root: YamlNode, lineAt: (offset: number) => number, documentLine: number, doc: Document.Parsed): (path: string) => number {
  return (path) => {
    const segments = pathSegments(path);
    let node: unknown = root;
    let line = documentLine;
    let i = 0;
    while (i < segments.length) {
      if (isAlias(node)) node = node.resolve(doc);
      const segment = segments[i]!;
      if (isMap(node)) {
        const map = node;
        // Keys may themselves contain dots (extended attributes, tags): try the longest match first.
        let found = false;
        for (let take = segments.length - i; take >= 1 && !found; take--) {
          const parts = segments.slice(i, i + take);
          if (parts.some((p) => typeof p === 'number') && take > 1) continue;
          const key = parts.join('.');
          const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
          if (!pair) continue;
          const keyNode = pair.key as YamlNode;
          if (keyNode.range) line = lineAt(keyNode.range[0]);
          node = pair.value;
          i += take;
          found = true;
        }
        if (!found) break;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item: unknown = node.items[segment];
        if (item === undefined) break;
        const range = (item as Partial<YamlNode> | null)?.range;
        if (range) line = lineAt(range[0]);
        node = item;
        i += 1;
      } else break;
    }
    return line;
  };
}

// ---------------------------------------------------------------------------------------------------
// Validation

/** Same tolerance the server applies to summed shares (see invariants.ts). */
const SHARE_EPSILON = 1e-9;

const where = (doc: ConfigDocument, path?: string) => `${doc.file}:${path === undefined ? doc.line : doc.locate(path)}`;

/**
 * Checks every document on its own (types, unknown fields, names, criticality obligations) and the
 * rules across documents that need no server: duplicates, one baseline and one holdout per model type,
 * live traffic at most 1 per model type, and thresholds only for tasks of a model type declared here.
 * A model whose type is not declared in these files is fine: the type may already be on the server.
 */
export function validateConfigDocuments(documents: ConfigDocument[], settings: RegistrySettings): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const report = (doc: ConfigDocument, path: string, message: string) =>
    problems.push({ file: doc.file, line: doc.locate(path), path, message });

  for (const doc of documents) {
    // The details already name each unknown or missing field at its own path (see core/zodIssues):
    // all that is left is the line of that path.
    for (const { path, message } of checkSpec(doc.kind, doc.input, settings).problems) report(doc, path, message);
  }

  // Duplicates: the later declaration is the one reported, pointing back at the first.
  const first = new Map<string, ConfigDocument>();
  for (const doc of documents) {
    if (!doc.key) continue;
    const id = `${doc.kind}\u0000${doc.key}`;
    const earlier = first.get(id);
    if (!earlier) {
      first.set(id, doc);
      continue;
    }
    const field = keyField[doc.kind];
    report(
      doc,
      field,
      `${kindLabel[doc.kind]} '${doc.key}' is declared twice, at ${where(earlier, field)} and at ${where(doc, field)}: each entry is declared once in the config files, so merge the two documents or delete one`,
    );
  }

  // Model types declared here, by name (the first declaration wins; a duplicate is reported above).
  const types = new Map<string, { doc: ConfigDocument; tasks: Set<string> | null; criticality: Criticality | null }>();
  for (const doc of documents) {
    if (doc.kind !== 'modelType' || !doc.key || types.has(doc.key)) continue;
    types.set(doc.key, { doc, tasks: taskNames(doc.input['tasks']), criticality: enumValue(Criticality, doc.input['criticality']) });
  }

  // Models here, grouped by their model type; fields are read leniently so that a model with an
  // unrelated mistake (already reported) still takes part in the checks across documents.
  const byType = new Map<string, { doc: ConfigDocument; role: ModelRole; share: number }[]>();
  const seenModels = new Set<string>();
  for (const doc of documents) {
    if (doc.kind !== 'model' || !doc.key || seenModels.has(doc.key)) continue;
    seenModels.add(doc.key);
    const split = splitModelId(doc.key);
    const role = enumValue(ModelRole, doc.input['role']);
    if (!split || !role) continue;
    const rawShare = doc.input['trafficShare'];
    const share = rawShare === undefined ? 0 : typeof rawShare === 'number' && Number.isFinite(rawShare) ? rawShare : null;
    if (share === null) continue;
    const list = byType.get(split.modelType) ?? [];
    list.push({ doc, role, share });
    byType.set(split.modelType, list);

    if (!isLiveRole(role) && share > 0) {
      report(doc, 'trafficShare', `retired model '${doc.key}' has traffic share ${share}: a retired model serves no traffic, so set trafficShare to 0 or give it a live role`);
    }
    const type = types.get(split.modelType);
    if (!type) continue;
    const thresholds = doc.input['thresholds'];
    if (type.tasks && isRecord(thresholds)) {
      for (const task of Object.keys(thresholds)) {
        if (type.tasks.has(task)) continue;
        report(
          doc,
          `thresholds.${task}`,
          `task '${task}' is not a task of model type '${split.modelType}' (declared at ${where(type.doc, 'tasks')}; its tasks: ${[...type.tasks].join(', ')}): add the task to the model type or remove this threshold`,
        );
      }
    }
    const criticality = enumValue(Criticality, doc.input['criticality']);
    if (criticality && type.criticality && criticalityRank(criticality) < criticalityRank(type.criticality)) {
      report(
        doc,
        'criticality',
        `model '${doc.key}' cannot be more critical (${criticality}) than its model type '${split.modelType}' (${type.criticality}, at ${where(type.doc, 'criticality')}): raise the type's criticality instead, or omit the model's`,
      );
    }
  }

  for (const [typeName, models] of byType) {
    for (const role of ['baseline', 'holdout'] as const) {
      const holders = models.filter((m) => m.role === role);
      for (const extra of holders.slice(1)) {
        report(
          extra.doc,
          'role',
          `model type '${typeName}' has ${holders.length} ${role} models in the config files (${holders.map((m) => `${m.doc.key} at ${where(m.doc, 'role')}`).join(', ')}): a model type has at most one ${role}, so give the others another role, e.g. experiment or retired`,
        );
      }
    }
    const live = models.filter((m) => isLiveRole(m.role) && m.share > 0);
    const total = live.reduce((sum, m) => sum + m.share, 0);
    const last = live[live.length - 1];
    if (last && total > 1 + SHARE_EPSILON) {
      report(
        last.doc,
        'trafficShare',
        `traffic shares of the live models of '${typeName}' in the config files sum to ${Number(total.toFixed(6))}, more than 1 (${live.map((m) => `${m.doc.key}=${m.share} at ${where(m.doc, 'trafficShare')}`).join(', ')}): lower some shares so they sum to at most 1, or retire a model`,
      );
    }
  }

  return problems.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

function enumValue<T extends string>(values: readonly T[], value: unknown): T | null {
  return typeof value === 'string' && (values as readonly string[]).includes(value) ? (value as T) : null;
}

/** The task names of a model type's raw `tasks`, or null when they are too malformed to check against. */
function taskNames(tasks: unknown): Set<string> | null {
  if (!Array.isArray(tasks)) return null;
  const names = new Set<string>();
  for (const task of tasks) {
    if (!isRecord(task) || typeof task['name'] !== 'string') return null;
    names.add(task['name']);
  }
  return names;
}

// ---------------------------------------------------------------------------------------------------
// Rendering

/**
 * Renders entries as multi-document YAML that {@link parseConfigFiles} reads back to the same inputs:
 * `kind` first, then the fields in the order the schema declares them (fields the schema does not know
 * come last, so validation can still point at them).
 */
export function renderConfigDocuments(entries: { kind: RegistryKind; input: Record<string, unknown> }[]): string {
  return entries
    .map(({ kind, input }) => {
      const ordered: Record<string, unknown> = { kind: configKindOf[kind] };
      const schemaOrder = Object.keys(inputSchemas[kind].shape);
      for (const field of [...schemaOrder, ...Object.keys(input).filter((f) => !schemaOrder.includes(f))]) {
        if (field !== 'kind' && Object.hasOwn(input, field) && input[field] !== undefined) ordered[field] = input[field];
      }
      return new Document(ordered, { aliasDuplicateObjects: false }).toString({ lineWidth: 0 });
    })
    .join('---\n');
}

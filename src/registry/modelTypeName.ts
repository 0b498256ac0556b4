import { closest, distance } from 'fastest-levenshtein';
import type { ErrorDetail } from '../core/errors.js';
import type { RegistrySettings } from './settings.js';

/** The parts of `<app>_<surface>[_<subsurface>...]_<architecture>`. */
export interface ParsedModelTypeName {
  app: string;
  surface: string;
  subsurfaces: string[];
  architecture: string;
}

export const MODEL_TYPE_NAME_PATTERN = /^[a-z0-9]+(_[a-z0-9]+){2,}$/;
export const MODEL_VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export type NameParse = { ok: true; parsed: ParsedModelTypeName } | { ok: false; problems: ErrorDetail[] };

function suggestion(token: string, known: readonly string[]): string {
  const best = closest(token, [...known]);
  const hint = best && distance(token, best) <= Math.max(2, Math.floor(token.length / 2)) ? `did you mean '${best}'? ` : '';
  return `${hint}known: ${known.join(', ')} (admins can add more in the registry settings)`;
}

/** Checks a model type name against the grammar and the known apps and architectures. */
export function parseModelTypeName(name: string, settings: RegistrySettings, path = 'name'): NameParse {
  if (!MODEL_TYPE_NAME_PATTERN.test(name)) {
    return {
      ok: false,
      problems: [
        {
          path,
          message: `'${name}' is not a model type name: use <app>_<surface>[_<subsurface>...]_<architecture>, lower-case letters and digits joined by '_', at least three parts (e.g. ig_stories_tray_mtml)`,
        },
      ],
    };
  }
  const { app, architecture } = splitModelTypeName(name);
  const problems: ErrorDetail[] = [];
  if (!settings.apps.includes(app)) {
    problems.push({ path, message: `unknown app '${app}' in '${name}': ${suggestion(app, settings.apps)}` });
  }
  if (!settings.architectures.includes(architecture)) {
    problems.push({
      path,
      message: `unknown architecture '${architecture}' in '${name}': ${suggestion(architecture, settings.architectures)}`,
    });
  }
  if (problems.length) return { ok: false, problems };
  return { ok: true, parsed: splitModelTypeName(name) };
}

/** The parts of a name already known to follow the grammar (stored names were checked when written). */
export function splitModelTypeName(name: string): ParsedModelTypeName {
  const tokens = name.split('_');
  return { app: tokens[0]!, surface: tokens[1]!, subsurfaces: tokens.slice(2, -1), architecture: tokens[tokens.length - 1]! };
}

/** Splits a model id `<modelType>:<version>`; null when it does not have that shape. */
export function splitModelId(id: string): { modelType: string; version: string } | null {
  const at = id.lastIndexOf(':');
  if (at <= 0) return null;
  const modelType = id.slice(0, at);
  const version = id.slice(at + 1);
  if (!MODEL_TYPE_NAME_PATTERN.test(modelType) || !MODEL_VERSION_PATTERN.test(version)) return null;
  return { modelType, version };
}

import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ErrorDetail } from '../core/errors.js';
import type { ExtensionSchemaSpec, ExtensionTarget } from './extensionSchema.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** Compiles the registered extension schemas once and checks `extended` attributes against them. */
export class ExtensionValidator {
  private readonly compiled: Array<{ spec: ExtensionSchemaSpec; validate: ValidateFunction }>;

  constructor(schemas: ExtensionSchemaSpec[]) {
    this.compiled = schemas.map((spec) => ({ spec, validate: compileExtensionSchema(spec) }));
  }

  /** Problems of `extended` for an entry of `target` owned by `team`, with paths under `extended`. */
  check(target: ExtensionTarget, team: string, extended: Record<string, unknown>): ErrorDetail[] {
    const problems: ErrorDetail[] = [];
    for (const { spec, validate } of this.compiled) {
      if (spec.appliesTo !== target || (spec.team !== null && spec.team !== team)) continue;
      if (validate(extended)) continue;
      for (const error of validate.errors ?? []) {
        const pointer = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
        const missing = error.keyword === 'required' ? `.${String(error.params['missingProperty'])}` : '';
        problems.push({
          path: `extended${pointer ? `.${pointer}` : ''}${missing}`,
          message: `${error.message ?? 'is invalid'} (extension schema '${spec.name}')`,
        });
      }
    }
    return problems;
  }
}

/** Throws ajv's own message when the schema itself is not a valid JSON Schema. */
export function compileExtensionSchema(spec: Pick<ExtensionSchemaSpec, 'schema'>): ValidateFunction {
  const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }));
  return ajv.compile(spec.schema);
}

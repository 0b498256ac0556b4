import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { invalidInput, notFound } from '../core/errors.js';
import { assertCanWriteOwned } from '../registry/access.js';
import type { Actor } from '../registry/actor.js';
import type { Clock, RegistryService } from '../registry/registryService.js';
import { parseRecordingOrThrow, type ReplayRequest } from './recording.js';
import type { RecordingInfo, RecordingStore } from './recordingStore.js';

const NAME = /^[a-z0-9][a-z0-9_.-]{0,99}$/;

/**
 * Recorded traffic per model type: checked line by line on import, written to the data directory
 * atomically (a temporary file renamed into place), then described in the store. A recording that
 * fails any check leaves nothing behind.
 */
export class RecordingService {
  constructor(
    private readonly store: RecordingStore,
    private readonly registry: RegistryService,
    private readonly dataDir: string,
    private readonly clock: Clock,
  ) {}

  async import(actor: Actor, modelType: string, text: string, options: { name?: string | undefined; source?: string } = {}): Promise<RecordingInfo> {
    const type = await this.registry.getModelType(modelType);
    assertCanWriteOwned(actor, `model type '${modelType}'`, type.ownerTeam, type.ownerTeam);
    const at = this.clock.now().toISOString();
    const name = options.name ?? `recording-${at.slice(0, 19).replace(/[:T]/g, '-')}`;
    if (!NAME.test(name)) throw invalidInput(`recording name '${name}' must be lower-case letters, digits, _ . - (at most 100)`, [{ path: 'name', message: 'not a recording name' }]);
    const requests = parseRecordingOrThrow(text, name);
    const id = randomUUID();
    const file = join('recordings', modelType, `${id}.ndjson`);
    const path = join(this.dataDir, file);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, text, { mode: 0o600 });
    await rename(temporary, path);
    const info: RecordingInfo = {
      id,
      modelType,
      name,
      file,
      requests: requests.length,
      bytes: Buffer.byteLength(text),
      sha256: createHash('sha256').update(text).digest('hex'),
      source: options.source ?? 'import',
      createdBy: actor.name,
      createdAt: at,
    };
    await this.store.insert(info);
    return info;
  }

  async list(modelType: string, limit = 100): Promise<RecordingInfo[]> {
    await this.registry.getModelType(modelType);
    return this.store.listOfType(modelType, limit);
  }

  async get(id: string): Promise<RecordingInfo> {
    const info = await this.store.get(id);
    if (!info) throw notFound(`recording '${id}' does not exist; list a model type's recordings with GET /api/v1/model-types/{name}/recordings`);
    return info;
  }

  async content(id: string): Promise<string> {
    const info = await this.get(id);
    try {
      return await readFile(join(this.dataDir, info.file), 'utf8');
    } catch (error) {
      throw notFound(`recording '${id}' is described but its file ${info.file} is missing from the data directory (${(error as Error).message}): import it again`);
    }
  }

  /** The requests to replay. */
  async requests(id: string): Promise<{ info: RecordingInfo; requests: ReplayRequest[] }> {
    const info = await this.get(id);
    return { info, requests: parseRecordingOrThrow(await this.content(id), info.name) };
  }
}

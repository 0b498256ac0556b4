/** A stored recording's metadata; its requests are in `file` under the data directory. */
export interface RecordingInfo {
  id: string;
  modelType: string;
  name: string;
  /** Path relative to the data directory. */
  file: string;
  requests: number;
  bytes: number;
  sha256: string;
  /** Where it came from: `import` (a file) or, later, `router` (captured live). */
  source: string;
  createdBy: string;
  createdAt: string;
}

/** Recordings' port to storage: the metadata; the file system holds the requests. */
export interface RecordingStore {
  insert(info: RecordingInfo): Promise<void>;
  get(id: string): Promise<RecordingInfo | null>;
  listOfType(modelType: string, limit: number): Promise<RecordingInfo[]>;
}

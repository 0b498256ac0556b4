import type { Generated } from 'kysely';

/** Table shapes. JSON documents are stored as text so both databases hold them the same way. */
export interface Database {
  settings: { key: string; value: string };
  teams: { name: string; version: number; doc: string; created_at: string; updated_at: string };
  model_types: {
    name: string;
    version: number;
    app: string;
    surface: string;
    architecture: string;
    funnel_stage: string;
    owner_team: string;
    criticality: string;
    baseline_model_id: string | null;
    holdout_model_id: string | null;
    search: string;
    doc: string;
    created_at: string;
    updated_at: string;
  };
  models: {
    id: string;
    version: number;
    model_type: string;
    role: string;
    criticality: string | null;
    /** Copied from the model's type so lists filter on one table's indexes; kept in step on every write. */
    app: string | null;
    surface: string | null;
    architecture: string | null;
    funnel_stage: string | null;
    owner_team: string | null;
    effective_criticality: string | null;
    search: string;
    doc: string;
    created_at: string;
    updated_at: string;
  };
  entity_tags: { entity: string; entity_id: string; tag: string };
  assets: { model_id: string; model_type: string; name: string; kind: string; uri: string };
  changes: {
    seq: Generated<number>;
    entity: string;
    entity_id: string;
    version: number;
    action: string;
    actor: string;
    at: string;
    reason: string | null;
    before: string | null;
    after: string | null;
    patch: string;
  };
  approvals: {
    id: Generated<number>;
    model_type: string;
    from_criticality: string;
    requested_criticality: string;
    status: string;
    requested_by: string;
    requested_at: string;
    request_reason: string | null;
    decided_by: string | null;
    decided_at: string | null;
    decision_reason: string | null;
  };
  extension_schemas: {
    name: string;
    version: number;
    applies_to: string;
    team: string | null;
    doc: string;
    created_at: string;
    updated_at: string;
  };
  tokens: {
    id: string;
    name: string;
    hash: string;
    role: string;
    team: string | null;
    created_at: string;
    revoked_at: string | null;
  };
  stability_buckets: {
    model_id: string;
    task: string;
    /** Minutes per bucket: 1 or 60. */
    resolution: number;
    bucket_start: number;
    count: number;
    weight: number;
    weight_c: number;
    positives: number;
    positives_c: number;
    weighted_p: number;
    weighted_p_c: number;
    log_loss: number;
    log_loss_c: number;
  };
  ingest_requests: { actor: string; idempotency_key: string; body_hash: string; response: string; received_at: number };
  /** Event-stream messages whose sums are stored: (stream, sequence) is counted once. */
  stream_messages: { stream: string; seq: number; consumed_at: number };
  stability_evaluations: { model_id: string; minute: number; status: string; doc: string };
  stability_hours: { model_id: string; hour: number; stable: number; unstable: number; insufficient: number };
  alerts: {
    fingerprint: string;
    model_id: string;
    kind: string;
    state: string;
    severity: string;
    starts_at: string;
    ends_at: string | null;
    updated_at: string;
    /** The state receivers last accepted: an alert is open until they have heard it resolved. */
    notified_state: string | null;
    doc: string;
  };
  job_state: { name: string; value: string };
  leases: { name: string; holder: string; expires_at: number };
  capacity_estimates: { id: string; model_id: string; status: string; requested_by: string; created_at: string; finished_at: string | null; doc: string };
  recordings: {
    id: string;
    model_type: string;
    name: string;
    file: string;
    requests: number;
    bytes: number;
    sha256: string;
    source: string;
    created_by: string;
    created_at: string;
  };
  launches: {
    id: string;
    model_type: string;
    candidate: string;
    team: string;
    executor: string;
    phase: string;
    /** 1 while not finished, else null: a unique index allows one unfinished launch per model type. */
    active: number | null;
    version: number;
    doc: string;
    created_by: string;
    created_at: string;
    updated_at: string;
  };
  launch_events: { launch_id: string; seq: number; at: string; actor: string; from_phase: string | null; to_phase: string; reason: string; detail: string };
  replicas: {
    executor: string;
    id: string;
    model_id: string;
    model_type: string;
    endpoint: string | null;
    pid: number | null;
    state: string;
    doc: string;
    created_at: string;
    updated_at: string;
  };
  router_traffic: { model_id: string; model_type: string; bucket_start: number; router: string; requests: number; errors: number; latency: string };
}

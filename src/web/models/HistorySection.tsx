import type { ApiState } from '../api/useApi.js';
import { fmt } from '../components/format.js';
import { ErrorBox, Loading } from '../components/PageState.js';
import type { ChangeRecord } from './apiTypes.js';
import { fieldChanges, showValue, type FieldChange } from './patchDiff.js';

/** Field lists longer than this (a creation, say) are folded so the list of changes stays scannable. */
const FOLD_AFTER = 6;

/** Every change to the model, newest first: who, when, why, and each field's old and new value. */
export function HistorySection({ history }: { history: ApiState<{ items: ChangeRecord[] }> }) {
  const items = [...(history.data?.items ?? [])].sort((a, b) => b.seq - a.seq);
  return (
    <section class="panel model-section" aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      {history.error && <ErrorBox error={history.error} title="Could not read the history" />}
      {history.loading && !history.data && <Loading what="history" />}
      {history.data && (
        <ol class="history" aria-label="Changes, newest first">
          {items.map((change) => (
            <HistoryEntry key={change.seq} change={change} />
          ))}
        </ol>
      )}
    </section>
  );
}

function HistoryEntry({ change }: { change: ChangeRecord }) {
  const fields = fieldChanges(change);
  const list = (
    <ul class="diff">
      {fields.map((f) => (
        <FieldLine key={f.path} field={f} />
      ))}
    </ul>
  );
  return (
    <li class="history-entry">
      <div class="history-head">
        <span class="badge">{change.action}</span> <strong>version {change.version}</strong> by <strong>{change.actor}</strong>{' '}
        <time dateTime={change.at} class="muted">
          {fmt.time(change.at)} ({fmt.ago(change.at)})
        </time>
      </div>
      <p class="reason">{change.reason ? <>Reason: “{change.reason}”</> : <span class="muted">No reason given.</span>}</p>
      {fields.length === 0 ? (
        <p class="muted">No field changed.</p>
      ) : fields.length > FOLD_AFTER ? (
        <details>
          <summary>
            {fields.length} fields {change.action === 'create' ? 'set' : 'changed'}
          </summary>
          {list}
        </details>
      ) : (
        list
      )}
    </li>
  );
}

function FieldLine({ field }: { field: FieldChange }) {
  const had = 'from' in field;
  const has = 'to' in field;
  return (
    <li>
      <code>{field.path}</code>:{' '}
      {had && has ? (
        <>
          <span class="old">{showValue(field.from)}</span> <span aria-hidden="true">→</span>
          <span class="visually-hidden">changed to</span> <span class="new">{showValue(field.to)}</span>
        </>
      ) : has ? (
        <>
          <span class="muted">set to</span> <span class="new">{showValue(field.to)}</span>
        </>
      ) : (
        <>
          <span class="muted">removed (was</span> <span class="old">{showValue(field.from)}</span>
          <span class="muted">)</span>
        </>
      )}
    </li>
  );
}

import { useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';

export interface ConfirmDialogProps {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  /** A reason is asked for, and recorded with the change in history. */
  askReason?: boolean;
  danger?: boolean;
  onConfirm: (reason: string) => Promise<void>;
  onClose: () => void;
}

/**
 * A modal confirmation (the native <dialog>: focus is trapped and Escape closes it) for actions that
 * move traffic or stop a launch; the reason typed here goes into the registry's history.
 */
export function ConfirmDialog(props: ConfirmDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const el = dialog.current!;
    el.showModal();
    const onClose = () => props.onClose();
    el.addEventListener('close', onClose);
    return () => el.removeEventListener('close', onClose);
  }, []);

  const confirm = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm(reason.trim());
      dialog.current?.close();
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };

  return (
    <dialog ref={dialog} aria-labelledby="confirm-title" class="confirm">
      <form onSubmit={confirm}>
        <h2 id="confirm-title">{props.title}</h2>
        <div>{props.children}</div>
        {props.askReason && (
          <>
            <label for="confirm-reason">Reason (recorded in history)</label>
            <textarea id="confirm-reason" required rows={3} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} />
          </>
        )}
        {error && (
          <p role="alert" class="error-text">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="button" class="secondary" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
          <button type="submit" class={props.danger ? 'danger' : ''} disabled={busy || (props.askReason && !reason.trim())}>
            {busy ? 'Working…' : props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

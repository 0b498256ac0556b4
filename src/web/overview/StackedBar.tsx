/** One part of a {@link StackedBar}: its size, its colour class and what it is. */
export interface BarSegment {
  value: number;
  /** A `seg-*` class from the stylesheet. */
  cls: string;
  label: string;
}

/**
 * A horizontal bar split into parts, scaled to `total` (default: the sum of the parts). The numbers are
 * always printed beside it, so the bar is decoration for sighted readers and hidden from screen readers
 * unless `label` names it.
 */
export function StackedBar({ segments, total, label, thin }: { segments: BarSegment[]; total?: number; label?: string; thin?: boolean }) {
  const sum = segments.reduce((s, seg) => s + Math.max(0, seg.value), 0);
  const scale = Math.max(total ?? sum, sum);
  return (
    <div class={`stacked-bar${thin ? ' thin' : ''}`} {...(label ? { role: 'img', 'aria-label': label } : { 'aria-hidden': 'true' })}>
      {scale > 0 &&
        segments.map((seg) =>
          seg.value > 0 ? <span key={seg.label} class={seg.cls} style={{ width: `${(100 * seg.value) / scale}%` }} title={`${seg.label}: ${seg.value}`} /> : null,
        )}
    </div>
  );
}

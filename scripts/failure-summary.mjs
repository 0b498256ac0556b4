// A node:test reporter that writes, once every file has run, each failure with its error and where it
// happened, hooks included: the TAP stream buries a failed `before` under its cancelled subtests.
export default async function* failureSummary(source) {
  const failures = [];
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const error = event.data.details?.error;
    if (error?.failureType === 'cancelledByParent') continue;
    const cause = error?.cause ?? error;
    failures.push(`${event.data.file ?? '?'}:${event.data.line ?? '?'} ${event.data.name}\n  ${error?.failureType ?? ''} ${String(cause?.stack ?? cause?.message ?? cause).split('\n').slice(0, 8).join('\n  ')}`);
  }
  yield failures.length ? `\n# failures and the errors behind them (${failures.length}):\n${failures.join('\n')}\n` : '';
}

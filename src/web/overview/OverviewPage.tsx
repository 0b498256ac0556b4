export function OverviewPage() {
  return (
    <section>
      <h1>OverviewPage</h1>
    </section>
  );
}

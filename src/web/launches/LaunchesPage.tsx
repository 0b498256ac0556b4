export function LaunchesPage() {
  return (
    <section>
      <h1>LaunchesPage</h1>
    </section>
  );
}

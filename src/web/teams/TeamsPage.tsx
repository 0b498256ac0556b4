export function TeamsPage() {
  return (
    <section>
      <h1>TeamsPage</h1>
    </section>
  );
}

export function LaunchPage() {
  return (
    <section>
      <h1>LaunchPage</h1>
    </section>
  );
}

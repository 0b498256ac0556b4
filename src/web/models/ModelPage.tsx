export function ModelPage() {
  return (
    <section>
      <h1>ModelPage</h1>
    </section>
  );
}

export function RegistryPage() {
  return (
    <section>
      <h1>RegistryPage</h1>
    </section>
  );
}

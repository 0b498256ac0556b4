export function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No console page lives at this address. Start from the <a href="/">fleet overview</a> or the <a href="/registry">registry</a>.
      </p>
    </section>
  );
}

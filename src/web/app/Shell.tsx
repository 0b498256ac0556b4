import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { useSession } from './session.js';

const NAV = [
  { href: '/', label: 'Overview' },
  { href: '/registry', label: 'Registry' },
  { href: '/launches', label: 'Launches' },
  { href: '/teams', label: 'Teams' },
] as const;

const isCurrent = (path: string, href: string) => (href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`));

/** The frame of every page: a skip link, the navigation, who is signed in, and the page itself. */
export function Shell({ children }: { children: ComponentChildren }) {
  const { path } = useLocation();
  const { actor, signOut } = useSession();
  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/">
          modelfleet
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.href}>
                <a href={item.href} aria-current={isCurrent(path, item.href) ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="whoami">
          <span data-testid="whoami">
            {actor?.name} <span class="muted">({actor?.role}{actor?.team ? `, ${actor.team}` : ''})</span>
          </span>
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

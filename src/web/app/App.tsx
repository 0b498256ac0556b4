import { ErrorBoundary, LocationProvider, Route, Router, lazy } from 'preact-iso';
import { SessionProvider, useSession } from './session.js';
import { SignIn } from './SignIn.js';
import { Shell } from './Shell.js';
import { OverviewPage } from '../overview/OverviewPage.js';
import { NotFound } from './NotFound.js';

// The overview loads with the shell; the other pages (and uPlot, which only they need) load on first visit.
const RegistryPage = lazy(() => import('../registry/RegistryPage.js').then((m) => m.RegistryPage));
const ModelPage = lazy(() => import('../models/ModelPage.js').then((m) => m.ModelPage));
const LaunchesPage = lazy(() => import('../launches/LaunchesPage.js').then((m) => m.LaunchesPage));
const LaunchPage = lazy(() => import('../launches/LaunchPage.js').then((m) => m.LaunchPage));
const TeamsPage = lazy(() => import('../teams/TeamsPage.js').then((m) => m.TeamsPage));

function Routes() {
  const session = useSession();
  if (session.checking) return <p class="loading" role="status">Checking your token…</p>;
  if (!session.actor) return <SignIn />;
  return (
    <Shell>
      <ErrorBoundary>
        <Router>
          <Route path="/" component={OverviewPage} />
          <Route path="/registry" component={RegistryPage} />
          <Route path="/models/:id" component={ModelPage} />
          <Route path="/launches" component={LaunchesPage} />
          <Route path="/launches/:id" component={LaunchPage} />
          <Route path="/teams" component={TeamsPage} />
          <Route path="/teams/:name" component={TeamsPage} />
          <Route default component={NotFound} />
        </Router>
      </ErrorBoundary>
    </Shell>
  );
}

export function App() {
  return (
    <LocationProvider>
      <SessionProvider>
        <Routes />
      </SessionProvider>
    </LocationProvider>
  );
}

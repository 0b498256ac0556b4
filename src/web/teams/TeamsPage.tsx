import { useRoute } from 'preact-iso';
import { TeamDetail } from './TeamDetail.js';
import { TeamList } from './TeamList.js';

/** `/teams` lists every team; `/teams/:name` shows one (the router has decoded the name). */
export function TeamsPage() {
  const { params } = useRoute();
  const name = params['name'];
  return name ? <TeamDetail key={name} name={name} /> : <TeamList />;
}

import type { RecordedRequestInput } from '../capacity/recording.js';
import type { Rng } from './random.js';

const COUNTRIES = ['us', 'br', 'in', 'id', 'mx', 'gb', 'de', 'jp', 'tr', 'ph'];
const DEVICES = ['ios', 'android', 'web'];
const AGE_BUCKETS = ['13-17', '18-24', '25-34', '35-44', '45-54', '55+'];
const TOPICS = ['sports', 'music', 'food', 'travel', 'fashion', 'gaming', 'pets', 'news', 'comedy', 'art', 'fitness', 'tech'];
const FORMATS = ['photo', 'video', 'carousel', 'reel'];

/**
 * Recorded ranking requests as a serving host would log them: one user with a few features and a
 * list of candidates (how many varies per request, as real feeds do), each with an author, topics and
 * counts. Replayed by capacity estimates against `modelfleet model-server`.
 */
export function simulateRecording(rng: Rng, options: { requests: number; candidates?: [min: number, max: number]; startTs?: number }): RecordedRequestInput[] {
  const [min, max] = options.candidates ?? [20, 200];
  const start = options.startTs ?? Date.UTC(2026, 10, 25, 12);
  const lines: RecordedRequestInput[] = [];
  for (let i = 0; i < options.requests; i++) {
    const user = `u${rng.int(1, 5_000_000)}`;
    const candidates = Array.from({ length: rng.int(min, max) }, () => ({
      id: `m${rng.int(1, 50_000_000)}`,
      features: {
        author: `a${rng.int(1, 200_000)}`,
        topic: rng.pick(TOPICS),
        format: rng.pick(FORMATS),
        likes: rng.int(0, 100_000),
        age_hours: rng.int(0, 72),
      },
    }));
    lines.push({
      method: 'POST',
      path: '/predict',
      headers: { 'content-type': 'application/json', 'x-request-id': `r${i}` },
      body: { user: { id: user, features: { country: rng.pick(COUNTRIES), device: rng.pick(DEVICES), age_bucket: rng.pick(AGE_BUCKETS), follows: rng.int(0, 2000) } }, candidates },
      ts: start + i * 50,
    });
  }
  return lines;
}

import type { Command } from 'commander';
import type { ClientOptions } from './client.js';

/** `--server` and `--token` on every command that talks to a server. */
export function withServerOptions(command: Command): Command {
  return command
    .option('--server <url>', 'modelfleet server (default: $MODELFLEET_SERVER or http://127.0.0.1:8080)')
    .option('--token <token>', 'bearer token (default: $MODELFLEET_TOKEN, or .modelfleet/admin-token)');
}

export function clientOptions(options: Record<string, unknown>): ClientOptions {
  return { server: options['server'] as string | undefined, token: options['token'] as string | undefined };
}

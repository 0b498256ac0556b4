import type { Command } from 'commander';
import { ApiClient } from './client.js';
import { printJson, printTable } from './output.js';
import { clientOptions, withServerOptions } from './serverOptions.js';

/** Tokens and approvals: the platform admin's commands. */
export function registerAdminCommands(program: Command): void {
  const tokens = program.command('tokens').description('bearer tokens (admins)');
  withServerOptions(tokens.command('list').option('--json', 'print JSON')).action(async (options: Record<string, unknown>) => {
    const { body } = await new ApiClient(clientOptions(options)).request<{ items: Array<Record<string, unknown>> }>('GET', '/tokens');
    if (options['json']) printJson(body.items);
    else printTable(body.items, ['name', 'role', 'team', 'createdAt', 'revokedAt']);
  });
  withServerOptions(
    tokens
      .command('create')
      .argument('<name>')
      .requiredOption('--role <role>', 'admin | member | viewer | ingest')
      .option('--team <team>', 'the team of a member token')
      .description('issue a token; its secret is printed once'),
  ).action(async (name: string, options: Record<string, unknown>) => {
    const { body } = await new ApiClient(clientOptions(options)).request<{ token: string }>('POST', '/tokens', {
      body: { name, role: options['role'], team: options['team'] ?? null },
    });
    process.stdout.write(`${body.token}\n`);
    process.stderr.write('This secret is shown once; store it now.\n');
  });
  withServerOptions(tokens.command('revoke').argument('<name>')).action(async (name: string, options: Record<string, unknown>) => {
    await new ApiClient(clientOptions(options)).request('DELETE', `/tokens/${encodeURIComponent(name)}`);
    process.stdout.write(`revoked ${name}\n`);
  });

  const approvals = program.command('approvals').description('criticality elevations waiting for a platform admin');
  withServerOptions(approvals.command('list').option('--status <status>', 'pending | approved | rejected | superseded', 'pending').option('--json', 'print JSON')).action(
    async (options: Record<string, unknown>) => {
      const { body } = await new ApiClient(clientOptions(options)).request<{ items: Array<Record<string, unknown>> }>('GET', `/approvals?status=${String(options['status'])}`);
      if (options['json']) printJson(body.items);
      else printTable(body.items, ['id', 'modelType', 'fromCriticality', 'requestedCriticality', 'requestedBy', 'requestedAt', 'status']);
    },
  );
  for (const decision of ['approve', 'reject'] as const) {
    withServerOptions(approvals.command(decision).argument('<id>').option('--reason <text>', decision === 'reject' ? 'why (required)' : 'why')).action(
      async (id: string, options: Record<string, unknown>) => {
        await new ApiClient(clientOptions(options)).request('POST', `/approvals/${encodeURIComponent(id)}/${decision}`, { body: options['reason'] ? { reason: options['reason'] } : {} });
        process.stdout.write(`${decision === 'approve' ? 'approved' : 'rejected'} ${id}\n`);
      },
    );
  }
}

import { Command, CommanderError } from 'commander';
import { registerAdminCommands } from './adminCommands.js';
import { registerCapacityCommands } from './capacityCommands.js';
import { ApiError } from './client.js';
import { registerConfigCommands } from './configCommands.js';
import { registerEntityCommands } from './entityCommands.js';
import { registerMetricsCommand } from './metricsCommand.js';
import { registerModelServerCommand } from './modelServerCommand.js';
import { registerRouterCommand } from './routerCommand.js';
import { registerServeCommands } from './serveCommands.js';
import { registerIngestCommand } from './ingestCommand.js';
import { registerStabilityCommands } from './stabilityCommands.js';
import { registerRecordingCommands } from './recordingCommands.js';
import { registerLaunchCommands } from './launchCommands.js';
import { registerQuotaCommands } from './quotaCommands.js';
import { registerMonitoringCommands } from './monitoringCommands.js';
import { registerWorkerCommand } from './workerCommand.js';
import { DomainError } from '../core/errors.js';

export function buildProgram(): Command {
  const program = new Command('modelfleet')
    .description('control plane for fleets of ML ranking models: registry, launches, model stability')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerServeCommands(program);
  registerConfigCommands(program);
  registerEntityCommands(program);
  registerAdminCommands(program);
  registerMetricsCommand(program);
  registerIngestCommand(program);
  registerModelServerCommand(program);
  registerRouterCommand(program);
  // After the entity commands: it adds end-experiment to their `models` group.
  registerStabilityCommands(program);
  registerRecordingCommands(program);
  registerCapacityCommands(program);
  registerLaunchCommands(program);
  registerQuotaCommands(program);
  registerMonitoringCommands(program);
  registerWorkerCommand(program);
  return program;
}

/** Runs the CLI; errors print as one clear message (with details) and a non-zero exit code. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof ApiError || error instanceof DomainError) {
      process.stderr.write(`modelfleet: ${error.message}\n`);
      for (const detail of error.details) process.stderr.write(`  ${detail.path}: ${detail.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}

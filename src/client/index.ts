/**
 * `modelfleet/client`: log labeled predictions from a serving process to a modelfleet server.
 *
 * ```ts
 * import { PredictionLogger } from 'modelfleet/client';
 * const log = new PredictionLogger({ server: 'http://modelfleet:8080', token: process.env.MODELFLEET_TOKEN });
 * log.log({ model: 'ig_stories_tray_mtml:v42', task: 'PLIKE', p: 0.031, y: 0 });
 * ```
 *
 * @packageDocumentation
 */
export { PredictionLogger, type FlushResult, type PredictionLoggerStats } from './predictionLogger.js';
export { DEFAULTS, type PredictionLoggerOptions } from './loggerOptions.js';
export type { LoggedPrediction, Prediction } from './prediction.js';
export type { Rejection } from './rejection.js';
export { IngestError, IngestErrorKind, type IngestErrorDetail } from './ingestError.js';

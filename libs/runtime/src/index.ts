export { BackOff } from './back-off';
export { describeError } from './logging/describe-error';
export { HealthModule } from './health/health.module';
export type { ReadinessCheck } from './health/readiness-check';
export { createJsonLogger, JsonLogger } from './logging/json-logger';
export {
  addLogFields,
  currentLogFields,
  inCurrentLogContext,
  withLogContext,
  type LogFields,
} from './logging/log-context';
export { runProcess, startApp, type ProcessSpec, type RunnableConfig } from './run-process';

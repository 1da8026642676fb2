export { HealthModule } from './health/health.module';
export type { ReadinessCheck } from './health/readiness-check';
export { nestLogLevels } from './log-levels';
export { runProcess, startApp, type ProcessSpec, type RunnableConfig } from './run-process';

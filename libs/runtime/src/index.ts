export { HealthModule } from './health/health.module';
export type { ReadinessCheck } from './health/readiness-check';
export { nestLogLevels } from './log-levels';
export { runProcess, type ProcessSpec, type RunnableConfig } from './run-process';

export {
  EmbeddedProcess,
  WORKSPACE,
  freePort,
  prepareHome,
  type EmbeddedPorts,
  type MetricsEndpoint,
} from './embedded-process';
export { Scrape, scrape } from './metrics-text';
export { saeClient, saeTls } from './sae-client';

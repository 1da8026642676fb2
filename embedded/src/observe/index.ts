export {
  EmbeddedProcess,
  freePort,
  prepareHome,
  type EmbeddedPorts,
  type MetricsEndpoint,
} from './embedded-process';
export { Scrape, scrape } from './metrics-text';

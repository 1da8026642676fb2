import { createServer } from 'node:net';

/**
 * Fails as `listen` would (EADDRINUSE, with the address and port) when one of `ports` is taken: the ETSI ports
 * open only once the pools are full, half a minute in, and a taken one is better told before anything starts.
 */
export async function assertPortsFree(host: string, ports: readonly number[]): Promise<void> {
  for (const port of ports) {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => server.close(() => resolve()));
    });
  }
}

import 'reflect-metadata';

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';

import { useMainThreadBroker } from '@dqkd/messaging';
import { startApp } from '@dqkd/runtime';

import { AppModule as GatewayModule } from '@dqkd/api-gateway/dist/app/app.module';

/** What the main thread hands a gateway thread (see startGatewayThread in main.ts). */
export interface GatewayThreadData {
  readonly env: Record<string, string>;
  /** The other end of the port on which the main thread shares its in-memory broker. */
  readonly broker: MessagePort;
}

/** Messages from a gateway thread to the main thread. */
export type GatewayThreadReport =
  | { readonly kind: 'started'; readonly url: string }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'stopped' };

/** Messages from the main thread to a gateway thread. */
export type GatewayThreadCommand = { readonly kind: 'stop' };

/**
 * One API gateway of the embedded default in a worker thread of its own: its TLS, HTTP and batching run on
 * their own event loop, beside the other apps rather than between them. It publishes assignments to the main
 * thread's broker; everything else (Postgres, health port, logs) it reaches as it would in its own process.
 */
async function run(): Promise<void> {
  const port = parentPort!;
  const { env, broker } = workerData as GatewayThreadData;
  useMainThreadBroker(broker);
  try {
    const app = await startApp(
      { app: 'api-gateway', rootModule: (config) => GatewayModule.register(config) },
      env,
    );
    port.once('message', (command: GatewayThreadCommand) => {
      if (command.kind !== 'stop') return;
      void app.close().finally(() => port.postMessage({ kind: 'stopped' } satisfies GatewayThreadReport));
    });
    port.postMessage({ kind: 'started', url: await app.getUrl() } satisfies GatewayThreadReport);
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    port.postMessage({ kind: 'failed', message } satisfies GatewayThreadReport);
    broker.close();
  }
}

void run();

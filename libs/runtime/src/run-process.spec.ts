import { createServer } from 'node:net';

import { Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';

import { startApp, type RunnableConfig } from './run-process';

/** A module whose provider fails as the ledger's does when its database stops while the app is created. */
@Module({
  providers: [
    {
      provide: 'ledger',
      useFactory: () => Promise.reject(new Error('Query runner already released')),
    },
  ],
})
class FailingModule {}

/** Like the gateway's ETSI listener: something an app starts in its hooks, before its health port listens. */
class Listener implements OnApplicationBootstrap, OnApplicationShutdown {
  static readonly open = new Set<Listener>();

  onApplicationBootstrap(): void {
    Listener.open.add(this);
  }

  onApplicationShutdown(): void {
    Listener.open.delete(this);
  }
}

@Module({ providers: [Listener] })
class ListeningModule {}

/** startApp of `module`, quiet, with its health port on `healthPort` (0: any free one). */
const start = (module: new () => object, healthPort = 0) => {
  const config: RunnableConfig = {
    env: { logLevel: 'silent', http: { listenHost: '127.0.0.1', healthPort } },
  };
  return startApp(
    { app: 'test', rootModule: () => ({ module }), loadConfig: () => config, owner: () => 'x' },
    {},
  );
};

describe('startApp', () => {
  it('closes an app whose health port is taken before it rejects, so that nothing it started runs on', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as { port: number };
    try {
      await expect(start(ListeningModule, port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect(Listener.open.size).toBe(0);
    } finally {
      squatter.close();
    }
  });

  it("rejects with a provider's failure, leaving the process to its caller (the embedded launcher stops)", async () => {
    // Thrown, so that an exit or abort asked for ends the start-up with its own error rather than the process.
    const exit = jest.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Error(`process.exit(${String(code)})`);
    });
    const abort = jest.spyOn(process, 'abort').mockImplementation(() => {
      throw new Error('process.abort()');
    });
    try {
      await expect(start(FailingModule)).rejects.toThrow('Query runner already released');
      // Nest left to abort ends the process (process.abort(), SIGABRT) instead.
      expect(exit).not.toHaveBeenCalled();
      expect(abort).not.toHaveBeenCalled();
    } finally {
      exit.mockRestore();
      abort.mockRestore();
    }
  });
});

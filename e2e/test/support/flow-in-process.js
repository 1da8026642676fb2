// Both sites' apps in one process on the in-process bus, as the embedded default runs them, each site's
// ledger on its own database.
require('reflect-metadata');
const path = require('node:path');

const { NestFactory } = require('@nestjs/core');
const { loadProcessConfig } = require('@dqkd/config');

const WORKSPACE = path.resolve(__dirname, '../../..');
const sites = JSON.parse(process.env.FLOW_SITES);
const apps = JSON.parse(process.env.FLOW_APPS);

async function main() {
  const running = [];
  for (const [app, site] of apps) {
    const env = { ...process.env, ...sites[site], KME_ID: site };
    const { AppModule } = require(path.join(WORKSPACE, 'apps', app, 'dist/app/app.module.js'));
    const nest = await NestFactory.create(AppModule.register(loadProcessConfig(env), { ledgerEnv: env }), {
      logger: ['error', 'warn', 'log'],
    });
    await nest.init();
    running.push(nest);
  }
  console.log(`in-process sites are running: ${apps.map((entry) => entry.join(' of ')).join(', ')}`);
  process.once('SIGTERM', async () => {
    for (const nest of running.reverse()) await nest.close();
    process.exit(0);
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

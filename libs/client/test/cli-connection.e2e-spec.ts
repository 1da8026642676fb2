import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { ensureDevPki } from '@dqkd/pki';

import { CliUsageError } from '../src/cli/args';
import { clientOptions } from '../src/cli/connection';

describe('the CLI reading its connection', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'dqkd-cli-'));
  const pki = path.join(home, 'pki');
  const connection = { sae: 'sae-alice', kmeUrl: 'https://127.0.0.1:8443', home };

  beforeAll(async () => {
    // Everything the example network names: the test below loads it.
    await ensureDevPki({ dir: pki });
  });

  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('takes the SAE certificate from the PKI under --home, or the files given', () => {
    // --kme names a URL only: no KME ID to hold the certificate to.
    expect(clientOptions(connection)).toMatchObject({ baseUrl: 'https://127.0.0.1:8443', kmeId: undefined });
    expect(clientOptions({ ...connection, p12: path.join(pki, 'sae-alice.p12') })).toHaveProperty('pfx');
  });

  it('names the flag of a file it cannot read, or the default it took', () => {
    const missing = path.join(home, 'missing.pem');
    expect(() => clientOptions({ ...connection, cert: missing, key: missing })).toThrow(
      new CliUsageError(`--cert: cannot read ${missing}: ENOENT`),
    );
    expect(() => clientOptions({ ...connection, sae: 'sae-nobody' })).toThrow(
      new CliUsageError(
        `--cert (default under --home ${home}): cannot read ${path.join(pki, 'sae-nobody.pem')}: ENOENT; ` +
          'run dqkd where npm start runs, or name its home with --home or DQKD_HOME',
      ),
    );
  });

  it('tells a certificate file that does not load before any request, naming what it is', () => {
    expect(() => clientOptions({ ...connection, p12: path.join(pki, 'sae-alice.pem') })).toThrow(
      /^--p12 .*sae-alice\.pem \(PKCS#12 with an empty password\) does not load: /,
    );
    const swapped = { cert: path.join(pki, 'sae-alice.key'), key: path.join(pki, 'sae-alice.pem') };
    expect(() => clientOptions({ ...connection, ...swapped })).toThrow(
      `the certificate ${swapped.cert} and key ${swapped.key} (PEM) do not load: `,
    );
  });

  it.each(['http://127.0.0.1:8443', 'https://', 'https://:8443'])(
    'refuses a KME URL that is not https with a host (%s), naming where it comes from',
    (kmeUrl) => {
      expect(() => clientOptions({ ...connection, kmeUrl })).toThrow(
        new CliUsageError(
          `the KME URL (--kme, or the api_url in network.yaml) must be https://<host>, not ${kmeUrl}`,
        ),
      );
    },
  );

  it("finds the SAE's KME in DQKD_NETWORK_FILE when it is set, else in network.yaml under --home", () => {
    const example = readFileSync(path.resolve(__dirname, '../../../config/network.example.yaml'), 'utf8');
    const file = path.join(home, 'moved.yaml');
    writeFileSync(file, example.replaceAll('../.dqkd/pki/', 'pki/').replace(':8443', ':18443'));
    const { kmeUrl: _none, ...unaddressed } = connection;

    // With the KME's ID, which its certificate must name.
    expect(clientOptions({ ...unaddressed, networkFile: file })).toMatchObject({
      baseUrl: 'https://127.0.0.1:18443',
      kmeId: 'kme-east',
    });
    expect(() => clientOptions(unaddressed)).toThrow(path.join(home, 'network.yaml'));
    // A usage error (exit code 64), which says what to do.
    expect(() => clientOptions(unaddressed)).toThrow(CliUsageError);
    expect(() => clientOptions(unaddressed)).toThrow(/run the CLI where npm start runs.* --kme$/);
  });
});

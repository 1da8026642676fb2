import { createHash, X509Certificate } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import forge from 'node-forge';

import {
  ensureDevPki,
  isIssuedBy,
  loadSealingIdentity,
  loadSealingPublicKeys,
  PkiError,
  readTlsOptions,
  sealingPublicKeysOf,
} from '../src';
import { main } from '../src/cli/dev-pki';

const DEFAULT_FILES = [
  'ca.key',
  'ca.pem',
  ...['kme-east', 'kme-west', 'entropy-1', 'entropy-2', 'entropy-3'].flatMap((id) => [
    `${id}.key`,
    `${id}.pem`,
  ]),
  ...['sae-alice', 'sae-bob', 'sae-carol'].flatMap((id) => [`${id}.key`, `${id}.pem`, `${id}.p12`]),
  ...['kme-east', 'kme-west', 'entropy-1', 'entropy-2', 'entropy-3'].flatMap((id) => [
    `${id}.sealing.json`,
    `${id}.sealing.pub.json`,
  ]),
].sort();

async function fingerprints(dir: string): Promise<Record<string, string>> {
  const names = (await readdir(dir)).sort();
  const entries = await Promise.all(
    names.map(async (name) => [
      name,
      createHash('sha256')
        .update(await readFile(path.join(dir, name)))
        .digest('hex'),
    ]),
  );
  return Object.fromEntries(entries);
}

async function expectRefusal(run: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = await run.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(PkiError);
  expect(error).toMatchObject({ code });
  expect((error as Error).message).toMatch(message);
}

describe('ensureDevPki', () => {
  let root: string;
  let baseline: string;
  let dir: string;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'dqkd-pki-e2e-'));
    baseline = path.join(root, 'baseline');
    await ensureDevPki({ dir: baseline });
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  // Each test alters its own copy of one generated PKI, which is much faster than generating one per test.
  beforeEach(async () => {
    dir = await mkdtemp(path.join(root, 'run-'));
    await cp(baseline, dir, { recursive: true });
  });

  it('creates the two-site demo PKI in a new folder, readable by its owner only', async () => {
    const pki = path.join(root, 'fresh', 'nested', 'pki');
    const report = await ensureDevPki({ dir: pki });
    expect(report).toEqual({ dir: pki, created: DEFAULT_FILES, kept: [] });
    expect((await readdir(pki)).sort()).toEqual(DEFAULT_FILES);
    expect((await stat(pki)).mode & 0o777).toBe(0o700);
    for (const name of DEFAULT_FILES) {
      const mode = (await stat(path.join(pki, name))).mode & 0o777;
      const secret = /\.(key|p12)$|\.sealing\.json$/.test(name);
      expect({ name, mode }).toEqual({ name, mode: secret ? 0o600 : 0o644 });
    }
  });

  it('keeps every file byte-identical when run a second time', async () => {
    const before = await fingerprints(dir);
    const report = await ensureDevPki({ dir });
    expect(report.created).toEqual([]);
    expect(report.kept).toEqual(DEFAULT_FILES);
    expect(await fingerprints(dir)).toEqual(before);
  });

  it('only adds the files of a new SAE, signed by the existing CA', async () => {
    const before = await fingerprints(dir);
    const report = await ensureDevPki({ dir, saes: ['sae-alice', 'sae-bob', 'sae-carol', 'sae-dave'] });
    expect(report.created).toEqual(['sae-dave.key', 'sae-dave.p12', 'sae-dave.pem']);
    const after = await fingerprints(dir);
    for (const [name, digest] of Object.entries(before)) {
      expect(after[name]).toBe(digest);
    }
    const ca = await readFile(path.join(dir, 'ca.pem'), 'utf8');
    expect(isIssuedBy(await readFile(path.join(dir, 'sae-dave.pem'), 'utf8'), ca)).toBe(true);
  });

  it('reissues a deleted leaf certificate for its kept key', async () => {
    const key = await readFile(path.join(dir, 'kme-west.key'));
    const oldCert = new X509Certificate(await readFile(path.join(dir, 'kme-west.pem')));
    await unlink(path.join(dir, 'kme-west.pem'));
    const report = await ensureDevPki({ dir });
    expect(report.created).toEqual(['kme-west.pem']);
    const newCert = new X509Certificate(await readFile(path.join(dir, 'kme-west.pem')));
    expect(newCert.serialNumber).not.toBe(oldCert.serialNumber);
    expect(newCert.publicKey.export({ format: 'pem', type: 'spki' })).toBe(
      oldCert.publicKey.export({ format: 'pem', type: 'spki' }),
    );
    expect(await readFile(path.join(dir, 'kme-west.key'))).toEqual(key);
  });

  // Deleting an SAE's key and certificate retires them: a .p12 kept from before would still carry both.
  it("reissues an SAE's .p12 with its reissued certificate", async () => {
    const p12 = path.join(dir, 'sae-bob.p12');
    const oldBundle = await readFile(p12);
    await unlink(path.join(dir, 'sae-bob.key'));
    await unlink(path.join(dir, 'sae-bob.pem'));
    const report = await ensureDevPki({ dir });
    expect([...report.created].sort()).toEqual(['sae-bob.key', 'sae-bob.p12', 'sae-bob.pem']);
    expect(await readFile(p12)).not.toEqual(oldBundle);
    const bundle = forge.pkcs12.pkcs12FromAsn1(
      forge.asn1.fromDer((await readFile(p12)).toString('binary')),
      '',
    );
    const certBag = forge.pki.oids['certBag']!;
    const bags = bundle.getBags({ bagType: certBag })[certBag] ?? [];
    const inBundle = bags.map((bag) => new X509Certificate(forge.pki.certificateToPem(bag.cert!)));
    const current = new X509Certificate(await readFile(path.join(dir, 'sae-bob.pem')));
    expect(
      inBundle.filter((cert) => cert.subject.includes('sae-bob')).map((cert) => cert.serialNumber),
    ).toEqual([current.serialNumber]);
    expect((await stat(p12)).mode & 0o777).toBe(0o600);
  });

  it('reissues a deleted ca.pem from the kept ca.key, so existing leaves stay valid', async () => {
    const caKey = await readFile(path.join(dir, 'ca.key'));
    await unlink(path.join(dir, 'ca.pem'));
    const report = await ensureDevPki({ dir });
    expect(report.created).toEqual(['ca.pem']);
    expect(await readFile(path.join(dir, 'ca.key'))).toEqual(caKey);
    const ca = await readFile(path.join(dir, 'ca.pem'), 'utf8');
    expect(isIssuedBy(await readFile(path.join(dir, 'sae-bob.pem'), 'utf8'), ca)).toBe(true);
  });

  it('works from ca.pem alone while no leaf needs signing, and refuses to sign without ca.key', async () => {
    await unlink(path.join(dir, 'ca.key'));
    expect((await ensureDevPki({ dir })).created).toEqual([]);
    await expectRefusal(
      ensureDevPki({ dir, saes: ['sae-erin'] }),
      'incomplete-files',
      /ca\.pem exists without ca\.key, so sae-erin\.pem cannot be signed/,
    );
    expect(await readdir(dir)).not.toContain('sae-erin.key');
    expect(await readdir(dir)).not.toContain('ca.key');
  });

  it('refuses a leaf certificate issued by another CA', async () => {
    const other = await mkdtemp(path.join(root, 'other-'));
    await ensureDevPki({ dir: other, kmes: ['kme-east'], saes: [], entropyServers: [] });
    await unlink(path.join(dir, 'kme-east.pem'));
    await writeFile(path.join(dir, 'kme-east.pem'), await readFile(path.join(other, 'kme-east.pem')));
    await expectRefusal(
      ensureDevPki({ dir }),
      'foreign-certificate',
      /kme-east\.pem was not issued by ca\.pem/,
    );
  });

  it('refuses a certificate whose key is missing rather than replacing either', async () => {
    await unlink(path.join(dir, 'entropy-2.key'));
    await expectRefusal(
      ensureDevPki({ dir }),
      'incomplete-files',
      /entropy-2\.pem exists without entropy-2\.key/,
    );
  });

  describe('sealing identities', () => {
    it('writes loadable identities whose public file matches the secret one', async () => {
      const identity = await loadSealingIdentity(path.join(dir, 'kme-east.sealing.json'));
      const published = await loadSealingPublicKeys(path.join(dir, 'kme-east.sealing.pub.json'));
      expect(identity.kmeId).toBe('kme-east');
      expect(published).toEqual(sealingPublicKeysOf(identity));
      const west = await loadSealingIdentity(path.join(dir, 'kme-west.sealing.json'));
      expect(Buffer.from(west.kemSecretKey).equals(identity.kemSecretKey)).toBe(false);
    });

    it('rewrites a deleted public file from the kept secret one', async () => {
      const published = await readFile(path.join(dir, 'kme-west.sealing.pub.json'), 'utf8');
      await unlink(path.join(dir, 'kme-west.sealing.pub.json'));
      expect((await ensureDevPki({ dir })).created).toEqual(['kme-west.sealing.pub.json']);
      expect(await readFile(path.join(dir, 'kme-west.sealing.pub.json'), 'utf8')).toBe(published);
    });

    it('refuses a public file that does not match the secret one', async () => {
      const west = await readFile(path.join(dir, 'kme-west.sealing.pub.json'), 'utf8');
      await unlink(path.join(dir, 'kme-east.sealing.pub.json'));
      await writeFile(path.join(dir, 'kme-east.sealing.pub.json'), west.replace('kme-west', 'kme-east'));
      await expectRefusal(
        ensureDevPki({ dir }),
        'invalid-sealing-identity',
        /kme-east\.sealing\.pub\.json does not hold the public keys of kme-east\.sealing\.json/,
      );
    });

    it('refuses a tampered secret file with the reason', async () => {
      const file = path.join(dir, 'kme-east.sealing.json');
      const fields = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
      const west = JSON.parse(await readFile(path.join(dir, 'kme-west.sealing.json'), 'utf8')) as Record<
        string,
        string
      >;
      await writeFile(file, JSON.stringify({ ...fields, sig_secret_key: west.sig_secret_key }));
      await expectRefusal(
        loadSealingIdentity(file),
        'invalid-sealing-identity',
        /sig_public_key does not belong/,
      );
      await expectRefusal(
        ensureDevPki({ dir }),
        'invalid-sealing-identity',
        /kme-east\.sealing\.json is invalid/,
      );
    });
  });

  it('reads the TLS options of a part from the folder', async () => {
    const options = await readTlsOptions(dir, 'kme-east');
    expect(options.key).toBe(await readFile(path.join(dir, 'kme-east.key'), 'utf8'));
    expect(options.cert).toBe(await readFile(path.join(dir, 'kme-east.pem'), 'utf8'));
    expect(options.ca).toBe(await readFile(path.join(dir, 'ca.pem'), 'utf8'));
  });
});

describe('dev-pki command', () => {
  let cwd: string;

  beforeAll(async () => {
    cwd = await mkdtemp(path.join(os.tmpdir(), 'dqkd-pki-cli-'));
  });

  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('creates $DQKD_HOME/pki with the given names, then reports them as kept', async () => {
    const lines: string[] = [];
    const out = { log: (line: string) => lines.push(line), error: (line: string) => lines.push(line) };
    const args = ['--kme', 'kme-a', '--kme', 'kme-b', '--sae', 'sae-x,sae-y', '--entropy', '2'];
    expect(await main(args, cwd, { DQKD_HOME: 'home' }, out)).toBe(0);
    const pki = path.join(cwd, 'home', 'pki');
    expect(lines[0]).toBe(`Development PKI in ${pki}`);
    expect(lines).toContain('  created  entropy-2.pem');
    expect(lines).toContain('  created  sae-y.p12');
    expect(lines).toContain('  created  kme-b.sealing.json');
    expect(await readdir(pki)).not.toContain('entropy-3.pem');

    lines.length = 0;
    expect(await main(['--dir', 'home/pki', ...args], cwd, {}, out)).toBe(0);
    expect(lines.filter((line) => line.includes('created'))).toEqual([]);
    expect(lines).toContain('  kept     ca.key');
  });
});

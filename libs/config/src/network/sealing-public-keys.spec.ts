import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { stringify } from 'yaml';

import {
  freshPublicKeys,
  sealingPubJson,
  validNetwork,
  writeSealingPubFiles,
} from '../../test/network-fixture';
import { ConfigError } from '../config-error';
import { parseNetwork } from './parse-network';
import { decodeBase64 } from './sealing-public-keys';

describe('decodeBase64', () => {
  it('decodes standard base64 with padding', () => {
    expect(Buffer.from(decodeBase64('AAEC/w==') as Uint8Array)).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it.each([
    ['missing padding', 'AAEC/w'],
    ['the URL-safe alphabet', 'AAEC_w=='],
    ['whitespace', 'AAEC /w=='],
    ['a stray character', 'AAEC/w=!'],
  ])('refuses %s', (_, text) => {
    expect(decodeBase64(text)).toBeUndefined();
  });
});

describe('public sealing keys in the network file', () => {
  let dir: string;
  const readFile = (p: string) => readFileSync(p, 'utf8');
  // The network file sits in dir/config and names the keys under dir/.dqkd/pki, like the example.
  const parse = (network: object) =>
    parseNetwork(stringify(network), {
      file: 'config/network.yaml',
      location: path.join(dir, 'config', 'network.yaml'),
      readFile,
    });
  const issuesOf = (network: object): string[] => {
    try {
      parse(network);
    } catch (error) {
      if (error instanceof ConfigError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
      throw error;
    }
    throw new Error('expected a ConfigError');
  };
  const withFiles = () => {
    const network = validNetwork();
    network.kmes[0].public_keys = '../.dqkd/pki/kme-east.sealing.pub.json';
    network.kmes[1].public_keys = '../.dqkd/pki/kme-west.sealing.pub.json';
    return network;
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'dqkd-config-'));
    writeSealingPubFiles(path.join(dir, '.dqkd', 'pki'), [
      'kme-east',
      'kme-west',
      'entropy-1',
      'entropy-2',
      'entropy-3',
    ]);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a .sealing.pub.json relative to the network file', () => {
    const file = path.join(dir, '.dqkd', 'pki', 'kme-west.sealing.pub.json');
    const expected = JSON.parse(readFileSync(file, 'utf8'));
    const network = parse(withFiles());
    expect(Buffer.from(network.kme('kme-west')?.sealing.kemPublicKey as Uint8Array).toString('base64')).toBe(
      expected.kem_public_key,
    );
    expect(Buffer.from(network.kme('kme-west')?.sealing.sigPublicKey as Uint8Array).toString('base64')).toBe(
      expected.sig_public_key,
    );
  });

  it('refuses a key file that does not exist', () => {
    const network = withFiles();
    network.kmes[1].public_keys = '../.dqkd/pki/kme-north.sealing.pub.json';
    expect(issuesOf(network)).toEqual([
      'kmes[1].public_keys: cannot read ../.dqkd/pki/kme-north.sealing.pub.json: ENOENT: no such file or directory',
    ]);
  });

  it('refuses a key file of another KME', () => {
    const network = withFiles();
    network.kmes[1].public_keys = '../.dqkd/pki/kme-east.sealing.pub.json';
    expect(issuesOf(network)).toEqual([
      'kmes[1].public_keys: ../.dqkd/pki/kme-east.sealing.pub.json: kme_id: belongs to KME "kme-east", not "kme-west"',
    ]);
  });

  it('refuses a key file that holds the secret keys', () => {
    const file = path.join(dir, '.dqkd', 'pki', 'kme-east.sealing.pub.json');
    const secret = {
      ...JSON.parse(readFileSync(file, 'utf8')),
      kem_secret_key: 'AAAA',
      sig_secret_key: 'AAAA',
    };
    writeFileSync(file, JSON.stringify(secret));
    expect(issuesOf(withFiles())).toEqual([
      'kmes[0].public_keys: ../.dqkd/pki/kme-east.sealing.pub.json: holds secret keys; the network file must name the .sealing.pub.json file',
    ]);
  });

  it('refuses a key file that is not JSON', () => {
    writeFileSync(path.join(dir, '.dqkd', 'pki', 'kme-east.sealing.pub.json'), '{"version": 1,');
    expect(issuesOf(withFiles())[0]).toMatch(
      /^kmes\[0\]\.public_keys: \.\.\/\.dqkd\/pki\/kme-east\.sealing\.pub\.json: malformed JSON: /,
    );
  });

  it('refuses a key file naming another algorithm', () => {
    const file = path.join(dir, '.dqkd', 'pki', 'kme-east.sealing.pub.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), kem: 'ML-KEM-768' }));
    expect(issuesOf(withFiles())).toEqual([
      'kmes[0].public_keys: ../.dqkd/pki/kme-east.sealing.pub.json: kem: must be "X-Wing", got the string "ML-KEM-768"',
    ]);
  });

  it('refuses a key file with a key of the wrong length', () => {
    const keys = { ...freshPublicKeys(), sig_public_key: Buffer.alloc(31).toString('base64') };
    writeFileSync(
      path.join(dir, '.dqkd', 'pki', 'kme-east.sealing.pub.json'),
      sealingPubJson('kme-east', keys),
    );
    expect(issuesOf(withFiles())).toEqual([
      'kmes[0].public_keys: ../.dqkd/pki/kme-east.sealing.pub.json: sig_public_key: an Ed25519 public key is 32 bytes, got 31',
    ]);
  });

  it('refuses an inline X-Wing key of the wrong length', () => {
    const network = validNetwork();
    network.kmes[0].public_keys.kem_public_key = Buffer.alloc(1184).toString('base64');
    expect(issuesOf(network)).toEqual([
      'kmes[0].public_keys.kem_public_key: an X-Wing public key is 1216 bytes, got 1184',
    ]);
  });

  it('refuses an inline key that is not standard base64', () => {
    const network = validNetwork();
    network.kmes[1].public_keys.sig_public_key = Buffer.alloc(32).toString('base64url');
    expect(issuesOf(network)).toEqual([
      'kmes[1].public_keys.sig_public_key: must be standard base64 (RFC 4648, with padding) of an Ed25519 public key',
    ]);
  });

  it('refuses an inline key mapping with a field missing', () => {
    const network = validNetwork();
    delete network.kmes[1].public_keys.sig_public_key;
    expect(issuesOf(network)).toEqual(['kmes[1].public_keys.sig_public_key: required field is missing']);
  });
});

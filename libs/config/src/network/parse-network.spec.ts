import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { stringify } from 'yaml';

import { validNetwork } from '../../test/network-fixture';
import { ConfigError } from '../config-error';
import { parseNetwork } from './parse-network';

const file = 'config/network.yaml';
const source = { file, location: '/etc/dqkd/network.yaml', readFile: (p: string) => readFileSync(p, 'utf8') };

function issuesOf(text: string): string[] {
  try {
    parseNetwork(text, source);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error('expected a ConfigError');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- specs break single fields on purpose
function issuesAfter(change: (network: Record<string, any>) => void): string[] {
  const network = validNetwork();
  change(network);
  return issuesOf(stringify(network));
}

describe('parseNetwork', () => {
  describe('a valid network file', () => {
    const network = parseNetwork(stringify(validNetwork()), source);

    it('lists its KMEs, SAEs and entropy servers in file order', () => {
      expect(network.kmes.map((kme) => kme.id)).toEqual(['kme-east', 'kme-west']);
      expect(network.saes.map((sae) => sae.id)).toEqual(['sae-alice', 'sae-bob', 'sae-carol']);
      expect(network.entropyServers.map((server) => server.id)).toEqual([
        'entropy-1',
        'entropy-2',
        'entropy-3',
      ]);
    });

    it('decodes the public sealing keys', () => {
      expect(network.kme('kme-east')?.sealing.kemPublicKey).toHaveLength(1216);
      expect(network.kme('kme-east')?.sealing.sigPublicKey).toHaveLength(32);
    });

    it('defaults the NATS domain to the KME ID', () => {
      expect(network.kme('kme-west')?.natsDomain).toBe('kme-west');
    });

    it('applies the BLAST defaults', () => {
      expect(network.blast).toEqual({ t: 3, h: 1, blockBits: 262144 });
    });

    it('has a link for every ordered pair of distinct KMEs', () => {
      expect(network.links.map((link) => `${link.source}->${link.target}`)).toEqual([
        'kme-east->kme-west',
        'kme-west->kme-east',
      ]);
    });

    it('applies the default limits to every link', () => {
      expect(network.linkLimits('kme-east', 'kme-west')).toEqual({
        keySize: 256,
        minKeySize: 64,
        maxKeySize: 65536,
        maxKeyPerRequest: 1024,
        maxKeyCount: 100000,
        maxSaeIdCount: 8,
        defaultTtlSeconds: 3600,
        maxTtlSeconds: 3600,
        lowWatermarkBits: 4194304,
        highWatermarkBits: 16777216,
        maxRequestBodyBytes: 131072,
        maxKeyIdsPerRequest: 1024,
        saeRequestsPerSecond: 50,
        saeRequestBurst: 100,
      });
    });

    it('takes by default a dec_keys body of as many key_IDs as it allows, each with a master_SAE_ID, indented', () => {
      const limits = network.linkLimits('kme-east', 'kme-west')!;
      const entries = Array.from({ length: limits.maxKeyIdsPerRequest }, () => ({
        key_ID: randomUUID(),
        master_SAE_ID: 'sae-alice',
      }));
      const body = JSON.stringify({ key_IDs: entries }, null, 2);
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(limits.maxRequestBodyBytes);
    });

    it('finds the KME an SAE is attached to', () => {
      expect(network.kmeOf('sae-carol')?.id).toBe('kme-west');
      expect(network.kmeOf('sae-nobody')).toBeUndefined();
    });

    it('finds an SAE by its certificate CN and the SAEs of a KME', () => {
      expect(network.saeByCertificateCn('sae-bob')?.id).toBe('sae-bob');
      expect(network.saesOf('kme-west').map((sae) => sae.id)).toEqual(['sae-bob', 'sae-carol']);
    });

    it('lists the outgoing links of a KME', () => {
      expect(network.linksFrom('kme-east').map((link) => link.target)).toEqual(['kme-west']);
    });

    it('has no limits for a pair that is not a link', () => {
      expect(network.linkLimits('kme-east', 'kme-east')).toBeUndefined();
      expect(network.linkLimits('kme-east', 'kme-north')).toBeUndefined();
    });

    it('is frozen', () => {
      expect(Object.isFrozen(network)).toBe(true);
      expect(Object.isFrozen(network.kmes[0])).toBe(true);
      expect(Object.isFrozen(network.links[0].limits)).toBe(true);
    });

    it('records where the file is', () => {
      expect(network.file).toBe('/etc/dqkd/network.yaml');
    });
  });

  it('normalises URLs: lower-case host, no default port, no trailing slash', () => {
    const network = validNetwork();
    network.kmes[0].api_url = 'https://KME-East.Example.net:443/';
    network.entropy_servers[0].url = 'https://Entropy-1.example.net/pool/';
    const parsed = parseNetwork(stringify(network), source);
    expect(parsed.kmes[0].apiUrl).toBe('https://kme-east.example.net');
    expect(parsed.entropyServers[0].url).toBe('https://entropy-1.example.net/pool');
  });

  it('merges network-wide limits and a link override', () => {
    const network = validNetwork();
    network.limits = { key_size: 512, max_ttl_seconds: 1800, default_ttl_seconds: 600 };
    network.links = [
      { source: 'kme-west', target: 'kme-east', limits: { key_size: 1024, max_SAE_ID_count: 0 } },
    ];
    const parsed = parseNetwork(stringify(network), source);
    expect(parsed.linkLimits('kme-east', 'kme-west')).toMatchObject({ keySize: 512, maxTtlSeconds: 1800 });
    expect(parsed.linkLimits('kme-west', 'kme-east')).toMatchObject({
      keySize: 1024,
      maxTtlSeconds: 1800,
      defaultTtlSeconds: 600,
      maxSaeIdCount: 0,
    });
  });

  describe('refuses', () => {
    it('malformed YAML, naming the line and column', () => {
      expect(issuesOf('version: 1\n\tkmes: []\n')).toEqual([
        'config/network.yaml: malformed YAML: Tabs are not allowed as indentation (line 2, column 1)',
      ]);
    });

    it('malformed YAML with every syntax error listed', () => {
      expect(issuesOf('version: 1\nkmes: [\n  - id: a\nsaes: []\n')).toEqual([
        'config/network.yaml: malformed YAML: Block collections are not allowed within flow collections (line 3, column 3)',
        'config/network.yaml: malformed YAML: Flow sequence in block collection must be sufficiently indented and end with a ] (line 4, column 1)',
      ]);
    });

    it('a key given twice in a mapping', () => {
      expect(issuesOf('version: 1\nversion: 1\n')).toEqual([
        'config/network.yaml: malformed YAML: Map keys must be unique (line 2, column 1)',
      ]);
    });

    it('an empty file', () => {
      expect(issuesOf('# nothing yet\n')).toEqual(['config/network.yaml: is empty']);
    });

    it('a document that is not a mapping', () => {
      expect(issuesOf('- kme-east\n')).toEqual([
        'config/network.yaml: expected a mapping, got a list (line 1)',
      ]);
    });

    it('a missing field, naming its path and the line of its parent', () => {
      const text = stringify(validNetwork()).replace(/\n {4}kme: kme-west\n(?= {2}- id: sae-carol)/, '\n');
      expect(issuesOf(text)).toEqual([
        expect.stringMatching(
          /^config\/network\.yaml: saes\[1\]\.kme: required field is missing \(line \d+\)$/,
        ),
      ]);
    });

    it('a field of the wrong type', () => {
      expect(issuesAfter((n) => (n.kmes[1].site = 42))).toEqual([
        expect.stringMatching(
          /^config\/network\.yaml: kmes\[1\]\.site: expected a string, got 42 \(line \d+\)$/,
        ),
      ]);
    });

    it('an unknown field, so that typos do not pass silently', () => {
      expect(issuesAfter((n) => (n.limits = { key_sise: 256 }))).toEqual([
        expect.stringMatching(/^config\/network\.yaml: limits\.key_sise: unknown field \(line \d+\)$/),
      ]);
    });

    it('a version other than 1', () => {
      expect(issuesAfter((n) => (n.version = 2))).toEqual([
        'config/network.yaml: version: must be 1, got 2 (line 1)',
      ]);
    });

    it('an SAE attached to an unknown KME', () => {
      expect(issuesAfter((n) => (n.saes[1].kme = 'kme-north'))).toEqual([
        expect.stringMatching(
          /^config\/network\.yaml: saes\[1\]\.kme: unknown KME "kme-north" \(line \d+\)$/,
        ),
      ]);
    });

    it('an SAE attached to another SAE', () => {
      expect(issuesAfter((n) => (n.saes[1].kme = 'sae-alice'))[0]).toContain(
        'saes[1].kme: unknown KME "sae-alice"',
      );
    });

    it('a KME API URL that is not a URL', () => {
      expect(issuesAfter((n) => (n.kmes[0].api_url = 'not a url'))).toEqual([
        expect.stringMatching(/^config\/network\.yaml: kmes\[0\]\.api_url: not a valid URL \(line \d+\)$/),
      ]);
    });

    it('a KME API URL that is not https, even on a loopback host', () => {
      expect(issuesAfter((n) => (n.kmes[0].api_url = 'http://127.0.0.1:8443'))[0]).toContain(
        'kmes[0].api_url: must be a https:// URL',
      );
    });

    it('a URL with credentials, a query or a fragment', () => {
      expect(issuesAfter((n) => (n.kmes[0].api_url = 'https://user:pw@kme.example.net'))[0]).toContain(
        'kmes[0].api_url: must not carry credentials',
      );
      expect(issuesAfter((n) => (n.kmes[0].api_url = 'https://kme.example.net/?a=b'))[0]).toContain(
        'kmes[0].api_url: must not have a query or fragment',
      );
    });

    it('a plain-http entropy server that is not on a loopback host', () => {
      expect(issuesAfter((n) => (n.entropy_servers[2].url = 'http://entropy-3.example.net'))[0]).toContain(
        'entropy_servers[2].url: must be a https:// URL (http:// only on a loopback host)',
      );
    });

    it('accepts a plain-http entropy server on a loopback host', () => {
      const network = validNetwork();
      network.entropy_servers[0].url = 'http://127.0.0.1:7101';
      expect(parseNetwork(stringify(network), source).entropyServers[0].url).toBe('http://127.0.0.1:7101');
    });

    it('a duplicate ID, across KMEs and SAEs and regardless of case', () => {
      expect(issuesAfter((n) => (n.saes[2].id = 'KME-West'))).toEqual([
        expect.stringMatching(
          /^config\/network\.yaml: saes\[2\]\.id: duplicate ID "KME-West" \(already used at kmes\[1\]\.id\) \(line \d+\)$/,
        ),
      ]);
    });

    it('a duplicate entropy server ID', () => {
      expect(issuesAfter((n) => (n.entropy_servers[1].id = 'entropy-1'))[0]).toContain(
        'entropy_servers[1].id: duplicate ID "entropy-1" (already used at entropy_servers[0].id)',
      );
    });

    it('an ID with characters that cannot go into a URL path or NATS subject', () => {
      expect(issuesAfter((n) => (n.saes[0].id = 'sae.alice'))[0]).toContain(
        'saes[0].id: must be 1-64 letters, digits, "-" or "_", starting with a letter or digit',
      );
    });

    // Bus apps built streams and subjects from such an ID and stopped with a stack trace, naming no file.
    it('a KME ID that cannot name NATS streams and files: upper case, "_", an outer "-", "ca"', () => {
      for (const id of ['Kme-East', 'kme_east', 'kme-east-', 'ca', 'k'.repeat(64)]) {
        expect(issuesAfter((n) => (n.kmes[0].id = id))).toContainEqual(
          expect.stringMatching(
            /^config\/network\.yaml: kmes\[0\]\.id: must (be 1-63 lower-case|not be "ca")/,
          ),
        );
      }
    });

    it('more KMEs than the metrics of a gateway can label the links of', () => {
      const kmes = (count: number) => (n: Record<string, unknown>) => {
        const [first] = n['kmes'] as Record<string, unknown>[];
        n['kmes'] = Array.from({ length: count }, (_, i) => ({
          ...first,
          id: `kme-${i}`,
          api_url: `https://127.0.0.1:${8000 + i}`,
          nats_domain: `d${i}`,
        }));
      };
      expect(issuesAfter(kmes(18))).toContainEqual(
        expect.stringMatching(/^config\/network\.yaml: kmes: at most 17 KMEs: each gateway's metrics label/),
      );
      expect(issuesAfter(kmes(17)).filter((issue) => issue.includes('at most'))).toEqual([]);
    });

    it('a default key size beyond what a link pool ever holds', () => {
      expect(
        issuesAfter((n) => {
          n.blast = { block_bits: 256 };
          n.limits = {
            low_watermark_bits: 512,
            high_watermark_bits: 1024,
            key_size: 4096,
            max_key_size: 4096,
          };
        }),
      ).toEqual([
        expect.stringMatching(
          /^config\/network\.yaml: limits\.key_size: key_size \(4096\) is more than the pool of kme-east -> kme-west ever holds \(2560 bits: /,
        ),
      ]);
    });

    it('a min-entropy rate too low for any extractor layout of its block size', () => {
      expect(issuesAfter((n) => (n.blast = { h: 0.06 }))).toEqual([
        expect.stringMatching(
          /^config\/network\.yaml: blast\.h: too low for blocks of 262144 bits: no extractor layout can serve it \(sub-block input bits must be a multiple of 32 from 4224 up to 65536\)/,
        ),
      ]);
      expect(parseNetwork(stringify({ ...validNetwork(), blast: { h: 0.07 } }), source).blast.h).toBe(0.07);
    });

    it('an alias without its anchor, as malformed YAML', () => {
      expect(issuesOf('version: 1\nkmes: *nowhere\n')).toEqual([
        expect.stringMatching(/^config\/network\.yaml: malformed YAML: /),
      ]);
    });

    it('two SAEs with the same certificate CN', () => {
      expect(issuesAfter((n) => (n.saes[2].certificate_cn = 'sae-bob'))[0]).toContain(
        'saes[2].certificate_cn: duplicate certificate_cn "sae-bob" (already used at saes[1].certificate_cn)',
      );
    });

    it('an SAE or entropy server whose certificate CN names a KME or an entropy server', () => {
      expect(issuesAfter((n) => (n.saes[0].certificate_cn = 'kme-east'))[0]).toContain(
        'saes[0].certificate_cn: "kme-east" is the certificate name of a KME or an entropy server',
      );
      expect(
        issuesAfter((n) => (n.saes[0].certificate_cn = n.entropy_servers[0].certificate_cn))[0],
      ).toContain('is the certificate name of a KME or an entropy server');
      expect(issuesAfter((n) => (n.entropy_servers[0].certificate_cn = 'kme-west'))[0]).toContain(
        'entropy_servers[0].certificate_cn: "kme-west" is the certificate name of a KME',
      );
    });

    it('two KMEs serving the same API URL', () => {
      expect(issuesAfter((n) => (n.kmes[1].api_url = 'https://127.0.0.1:8443/'))[0]).toContain(
        'kmes[1].api_url: duplicate api_url "https://127.0.0.1:8443"',
      );
    });

    it('two KMEs in the same NATS domain', () => {
      expect(issuesAfter((n) => (n.kmes[1].nats_domain = 'kme-east'))[0]).toContain(
        'kmes[1].nats_domain: duplicate nats_domain "kme-east"',
      );
    });

    it('two entropy servers with the same URL or certificate CN', () => {
      const issues = issuesAfter((n) => {
        n.entropy_servers[1].url = 'https://ENTROPY-1.example.net/';
        n.entropy_servers[2].certificate_cn = 'entropy-1';
      });
      expect(issues[0]).toContain('entropy_servers[1].url: duplicate url "https://entropy-1.example.net"');
      expect(issues[1]).toContain('entropy_servers[2].certificate_cn: duplicate certificate_cn "entropy-1"');
    });

    it('fewer than two KMEs', () => {
      expect(issuesAfter((n) => n.kmes.pop())[0]).toContain('kmes: must have at least 2 entries');
    });

    it('fewer than three entropy servers', () => {
      expect(issuesAfter((n) => n.entropy_servers.pop())[0]).toContain(
        'entropy_servers: must have at least 3 entries',
      );
    });

    it('a BLAST t greater than the number of entropy servers', () => {
      expect(issuesAfter((n) => (n.blast = { t: 4 }))[0]).toContain(
        'blast.t: must not exceed the number of entropy servers (3)',
      );
    });

    it('a BLAST t below two', () => {
      expect(issuesAfter((n) => (n.blast = { t: 1 }))[0]).toContain('blast.t: must be at least 2');
    });

    it('a min-entropy rate outside (0, 1]', () => {
      expect(issuesAfter((n) => (n.blast = { h: 0 }))[0]).toContain('blast.h: must be greater than 0');
      expect(issuesAfter((n) => (n.blast = { h: 1.1 }))[0]).toContain('blast.h: must be at most 1');
    });

    it('a block size that is not a whole number of bytes', () => {
      expect(issuesAfter((n) => (n.blast = { block_bits: 65537 }))[0]).toContain(
        'blast.block_bits: must be a multiple of 8',
      );
    });

    it.each(['key_size', 'min_key_size', 'max_key_size', 'low_watermark_bits', 'high_watermark_bits'])(
      'a %s that is not a multiple of 8',
      (field) => {
        expect(issuesAfter((n) => (n.limits = { [field]: 100 }))[0]).toContain(
          `limits.${field}: must be a multiple of 8`,
        );
      },
    );

    it('a key size that is not an integer', () => {
      expect(issuesAfter((n) => (n.limits = { key_size: 256.5 }))[0]).toContain(
        'limits.key_size: expected an integer, got 256.5',
      );
    });

    it('min_key_size above key_size', () => {
      expect(issuesAfter((n) => (n.limits = { min_key_size: 512 }))[0]).toContain(
        'limits.min_key_size: min_key_size (512) must not exceed key_size (256)',
      );
    });

    it('key_size above max_key_size, reported at the field that was set', () => {
      expect(issuesAfter((n) => (n.limits = { max_key_size: 128 }))[0]).toContain(
        'limits.max_key_size: key_size (256) must not exceed max_key_size (128)',
      );
    });

    it('a default TTL above the maximum TTL', () => {
      expect(issuesAfter((n) => (n.limits = { max_ttl_seconds: 600 }))[0]).toContain(
        'limits.max_ttl_seconds: default_ttl_seconds (3600) must not exceed max_ttl_seconds (600)',
      );
    });

    it('a TTL above one hour', () => {
      expect(issuesAfter((n) => (n.limits = { max_ttl_seconds: 7200 }))[0]).toContain(
        'limits.max_ttl_seconds: must be at most 3600',
      );
    });

    it('a low watermark that is not below the high watermark', () => {
      expect(issuesAfter((n) => (n.limits = { low_watermark_bits: 16777216 }))[0]).toContain(
        'limits.low_watermark_bits: low_watermark_bits (16777216) must be less than high_watermark_bits (16777216)',
      );
    });

    it('non-positive request limits', () => {
      const issues = issuesAfter(
        (n) =>
          (n.limits = { max_key_per_request: 0, sae_requests_per_second: -1, max_key_ids_per_request: 0 }),
      );
      expect(issues.map((issue) => issue.replace(/ \(line \d+\)$/, ''))).toEqual([
        'config/network.yaml: limits.max_key_per_request: must be greater than 0',
        'config/network.yaml: limits.max_key_ids_per_request: must be greater than 0',
        'config/network.yaml: limits.sae_requests_per_second: must be greater than 0',
      ]);
    });

    it('a request body limit under 1 KiB', () => {
      expect(issuesAfter((n) => (n.limits = { max_request_body_bytes: 100 }))[0]).toContain(
        'limits.max_request_body_bytes: must be at least 1024',
      );
    });

    it('a link override between unknown or identical KMEs', () => {
      const issues = issuesAfter((n) => {
        n.links = [
          { source: 'kme-north', target: 'kme-east', limits: {} },
          { source: 'kme-east', target: 'kme-east', limits: {} },
        ];
      });
      expect(issues[0]).toContain('links[0].source: unknown KME "kme-north"');
      expect(issues[1]).toContain('links[1].target: must differ from source "kme-east"');
    });

    it('two overrides of the same link', () => {
      const issues = issuesAfter((n) => {
        n.links = [
          { source: 'kme-east', target: 'kme-west', limits: { key_size: 512 } },
          { source: 'kme-east', target: 'kme-west', limits: { key_size: 128 } },
        ];
      });
      expect(issues[0]).toContain('links[1]: duplicate link kme-east -> kme-west');
    });

    it('a link override that breaks a relation, reported at the override', () => {
      const issues = issuesAfter((n) => {
        n.links = [{ source: 'kme-east', target: 'kme-west', limits: { key_size: 32 } }];
      });
      expect(issues).toEqual([
        expect.stringContaining('links[0].limits.key_size: min_key_size (64) must not exceed key_size (32)'),
      ]);
    });

    it('a public key mapping that is neither a path nor a mapping', () => {
      expect(issuesAfter((n) => (n.kmes[0].public_keys = 42))[0]).toContain(
        'kmes[0].public_keys: expected a path to a .sealing.pub.json file or a mapping with kem_public_key and sig_public_key, got 42',
      );
    });

    it('lists every issue, one per line', () => {
      const issues = issuesAfter((n) => {
        n.saes[0].kme = 'kme-north';
        n.saes[1].id = 'kme-east';
        n.kmes[1].api_url = 'ftp://kme-west.example.net';
      });
      expect(issues).toHaveLength(3);
      expect(issues.every((issue) => issue.startsWith('config/network.yaml: '))).toBe(true);
    });

    it('as a ConfigError carrying the structured issues', () => {
      const network = validNetwork();
      network.saes[1].kme = 'kme-north';
      expect(() => parseNetwork(stringify(network), source)).toThrow(
        expect.objectContaining({
          name: 'ConfigError',
          issues: [
            expect.objectContaining({
              source: file,
              path: 'saes[1].kme',
              message: 'unknown KME "kme-north"',
            }),
          ],
        }),
      );
    });
  });
});

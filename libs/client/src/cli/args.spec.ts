import { CliUsageError, parseCommand } from './args';

const env = { DQKD_HOME: '/srv/dqkd' };

describe('parseCommand', () => {
  it('reads enc with its options and the SAE', () => {
    expect(
      parseCommand(
        ['enc', 'sae-bob', '--sae', 'sae-alice', '--number', '3', '--size', '512', '--ttl', '60', '--json'],
        env,
      ),
    ).toEqual({
      kind: 'enc',
      slave: 'sae-bob',
      number: 3,
      size: 512,
      ttlSeconds: 60,
      additionalSlaves: [],
      connection: { sae: 'sae-alice', home: '/srv/dqkd' },
      json: true,
    });
  });

  it('reads dec with several key IDs and repeated additional slaves for enc', () => {
    expect(parseCommand(['dec', 'sae-alice', 'a', 'b', '--sae', 'sae-bob'], env)).toMatchObject({
      kind: 'dec',
      master: 'sae-alice',
      keyIds: ['a', 'b'],
    });
    expect(
      parseCommand(
        [
          'enc',
          'sae-bob',
          '--sae',
          'sae-alice',
          '--additional-slave',
          'sae-carol',
          '--additional-slave',
          'x',
        ],
        env,
      ),
    ).toMatchObject({ additionalSlaves: ['sae-carol', 'x'] });
  });

  it('defaults the demo to Alice and Bob under DQKD_HOME', () => {
    expect(parseCommand(['demo'], env)).toEqual({
      kind: 'demo',
      master: 'sae-alice',
      slave: 'sae-bob',
      json: false,
      home: '/srv/dqkd',
    });
  });

  it('takes an empty DQKD_HOME as unset, not as the working directory', () => {
    expect(parseCommand(['demo'], { DQKD_HOME: '' })).toMatchObject({ home: '.dqkd' });
  });

  it('shows help without a command', () => {
    expect(parseCommand([], env)).toEqual({ kind: 'help' });
  });

  it.each([
    [
      ['enc', 'sae-bob'],
      "enc needs --sae <id>: the calling SAE (or its certificate and the KME's URL: --cert and --key, or --p12, with --kme)",
    ],
    [['status', 'sae-bob', '--p12', 'a.p12'], expect.stringContaining('status needs --sae <id>')],
    [
      ['enc', 'sae-bob', '--sae', 'a', '--ttl', '3601'],
      '--ttl must be at most 3600 seconds (one hour, the longest TTL)',
    ],
    [['enc', 'sae-bob', '--sae', 'a', '--nubmer', '2'], 'unknown option --nubmer'],
    [['enc', 'sae-bob', '--sae', 'a', '--number', '--size', '8'], '--number needs a value'],
    [['enc', 'sae-bob', '--sae', 'a', '--number'], '--number needs a value'],
    [['enc', 'sae-bob', '--sae', 'a', '--number', '0'], '--number must be a positive integer'],
    [['enc', 'sae-bob', '--sae', 'a', '--size', '2.5'], '--size must be a positive integer'],
    [['dec', 'sae-alice', '--sae', 'sae-bob'], 'dec needs a master_SAE_ID and at least one key_ID'],
    [['status', '--sae', 'a'], 'status needs exactly one slave_SAE_ID'],
    [['enc', 'x', '--sae', 'a', '--cert', 'c.pem'], '--cert needs --key'],
    [['enc', 'x', '--sae', 'a', '--key', 'c.key'], '--key needs --cert'],
    [
      ['enc', 'x', '--p12', 'a.p12', '--cert', 'c.pem', '--key', 'c.key'],
      '--p12 or --cert and --key, not both',
    ],
    [['enc', 'x', '--sae', 'a', '--number', '99999999999999999999'], '--number must be a positive integer'],
    [['demo', '--home', ''], '--home needs a value, not an empty one'],
    [
      ['enc', 'x', '--sae', 'a', '--additional-slave', ''],
      '--additional-slave needs a value, not an empty one',
    ],
    [['rotate', '--sae', 'a'], 'unknown command "rotate"'],
    [['frobnicate'], 'unknown command "frobnicate"'],
  ])('refuses %j with a usage message', (argv, message) => {
    expect(() => parseCommand(argv, env)).toThrow(expect.objectContaining({ message }));
    expect(() => parseCommand(argv, env)).toThrow(CliUsageError);
  });

  it('takes the network file from DQKD_NETWORK_FILE, as the processes do', () => {
    const withFile = { ...env, DQKD_NETWORK_FILE: '/srv/network.yaml' };
    expect(parseCommand(['status', 'sae-bob', '--sae', 'sae-alice'], withFile)).toMatchObject({
      connection: { networkFile: '/srv/network.yaml', home: '/srv/dqkd' },
    });
    expect(parseCommand(['demo'], withFile)).toMatchObject({ networkFile: '/srv/network.yaml' });
    expect(parseCommand(['demo', '--home', '/tmp/other'], withFile)).toMatchObject({
      home: '/tmp/other',
      networkFile: undefined,
    });
  });

  it('needs no --sae when the certificate and the KME are given', () => {
    const argv = [
      'status',
      'sae-bob',
      '--cert',
      'a.pem',
      '--key',
      'a.key',
      '--kme',
      'https://127.0.0.1:8443',
    ];
    expect(parseCommand(argv, env)).toMatchObject({
      kind: 'status',
      connection: { sae: undefined, cert: 'a.pem', key: 'a.key', kmeUrl: 'https://127.0.0.1:8443' },
    });
  });

  it('reads the password file of a PKCS#12 certificate', () => {
    const p12 = ['--p12', 'a.p12', '--p12-password-file', 'a.pass'];
    expect(parseCommand(['status', 'sae-bob', ...p12, '--kme', 'https://k'], env)).toMatchObject({
      kind: 'status',
      connection: { sae: undefined, p12: 'a.p12', p12PasswordFile: 'a.pass', kmeUrl: 'https://k' },
    });
    expect(
      parseCommand(['enc', 'sae-bob', '--sae', 'a', '--p12', 'b.p12', '--p12-password-file=b'], env),
    ).toMatchObject({
      kind: 'enc',
      connection: { sae: 'a', p12: 'b.p12', p12PasswordFile: 'b' },
    });
    expect(parseCommand(['dec', 'sae-alice', 'k', '--sae', 'sae-bob', ...p12], env)).toMatchObject({
      kind: 'dec',
      connection: { p12: 'a.p12', p12PasswordFile: 'a.pass' },
    });
  });

  it.each([
    [['status', 'sae-bob', '--sae', 'sae-alice', '--p12-password-file', 'a.pass']],
    [['enc', 'x', '--sae', 'a', '--cert', 'a.pem', '--key', 'a.key', '--p12-password-file', 'p']],
    [['dec', 'sae-alice', 'k', '--sae', 'sae-bob', '--p12-password-file', 'a.pass']],
  ])('refuses a PKCS#12 password file without --p12: %j', (argv) => {
    expect(() => parseCommand(argv, env)).toThrow(
      new CliUsageError('--p12-password-file needs --p12: it is the password of that PKCS#12 file'),
    );
  });

  it('refuses an option its command would ignore', () => {
    expect(() => parseCommand(['demo', '--kme', 'https://127.0.0.1:9999'], env)).toThrow(
      new CliUsageError('demo takes no --kme'),
    );
    expect(() => parseCommand(['status', 'sae-bob', '--sae', 'sae-alice', '--number', '5'], env)).toThrow(
      new CliUsageError('status takes no --number'),
    );
    expect(() => parseCommand(['dec', 'sae-alice', 'k', '--sae', 'sae-bob', '--ttl', '5'], env)).toThrow(
      new CliUsageError('dec takes no --ttl'),
    );
    expect(() => parseCommand(['demo', '--p12-password-file', 'a.pass'], env)).toThrow(
      new CliUsageError('demo takes no --p12-password-file'),
    );
  });

  it('refuses an unknown option', () => {
    expect(() => parseCommand(['enc', 'x', '--sae', 'a', '--colour'], env)).toThrow(CliUsageError);
  });
});

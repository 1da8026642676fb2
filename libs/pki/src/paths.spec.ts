import { defaultPkiDir, sealingIdentityFile, sealingPublicKeysFile } from './paths';

describe('defaultPkiDir', () => {
  it('is .dqkd/pki under the working directory when DQKD_HOME is unset', () => {
    expect(defaultPkiDir({}, '/srv/dqkd')).toBe('/srv/dqkd/.dqkd/pki');
  });

  it('is $DQKD_HOME/pki, resolved against the working directory', () => {
    expect(defaultPkiDir({ DQKD_HOME: '/var/lib/dqkd' }, '/srv')).toBe('/var/lib/dqkd/pki');
    expect(defaultPkiDir({ DQKD_HOME: 'state' }, '/srv')).toBe('/srv/state/pki');
  });
});

describe('sealing identity file names', () => {
  it('follow <kme-id>.sealing.json and <kme-id>.sealing.pub.json', () => {
    expect(sealingIdentityFile('kme-east')).toBe('kme-east.sealing.json');
    expect(sealingPublicKeysFile('kme-east')).toBe('kme-east.sealing.pub.json');
  });
});

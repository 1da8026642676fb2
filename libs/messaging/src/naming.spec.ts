import { BusConfigError } from './errors';
import { siteNaming } from './naming';

describe('siteNaming', () => {
  it('scopes subjects under the prefix and the site', () => {
    const east = siteNaming('kme-east');
    expect(east.subject('blocks', 'metadata')).toBe('dqkd.kme-east.blocks.metadata');
    expect(east.wildcard('blocks')).toBe('dqkd.kme-east.blocks.>');
    expect(east.wildcard()).toBe('dqkd.kme-east.>');
  });

  it('names streams in upper case with the site, so that sites never share one', () => {
    expect(siteNaming('kme-east').stream('blocks')).toBe('DQKD_KME_EAST_BLOCKS');
    expect(siteNaming('kme-west').stream('key-assignments')).toBe('DQKD_KME_WEST_KEY_ASSIGNMENTS');
  });

  it('lets tests isolate every name with their own prefix', () => {
    const names = siteNaming('kme-east', { prefix: 't1a2b' });
    expect([names.subject('keys'), names.stream('keys')]).toEqual([
      't1a2b.kme-east.keys',
      'T1A2B_KME_EAST_KEYS',
    ]);
  });

  it.each([
    ['a site with a dot', () => siteNaming('kme.east')],
    ['an upper-case prefix', () => siteNaming('kme-east', { prefix: 'DQKD' })],
    // dqkd-kme with site east would name the streams of dqkd with site kme-east.
    ['a prefix with "-"', () => siteNaming('east', { prefix: 'dqkd-kme' })],
    ['a wildcard token', () => siteNaming('kme-east').subject('*')],
    ['no token at all', () => siteNaming('kme-east').subject()],
    ['a stream name with a space', () => siteNaming('kme-east').stream('a b')],
  ])('refuses %s', (_case, make) => expect(make).toThrow(BusConfigError));
});

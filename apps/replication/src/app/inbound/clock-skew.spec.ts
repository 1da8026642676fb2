import { ClockSkew } from './clock-skew';

describe('ClockSkew', () => {
  it('takes the fastest transit of the last minute as the offset, per peer', () => {
    const skew = new ClockSkew();
    skew.record('kme-west', 1_000, 1_900);
    skew.record('kme-west', 2_000, 2_400);
    skew.record('kme-north', 5_000, 3_000);
    expect(skew.estimates(2_500)).toEqual(
      new Map([
        ['kme-west', 0.4],
        ['kme-north', -2],
      ]),
    );
  });

  it('forgets samples older than a minute, and a peer with none', () => {
    const skew = new ClockSkew();
    skew.record('kme-west', 0, 100);
    skew.record('kme-west', 30_000, 35_000);
    expect(skew.estimates(61_000)).toEqual(new Map([['kme-west', 5]]));
    expect(skew.estimates(200_000)).toEqual(new Map());
  });
});

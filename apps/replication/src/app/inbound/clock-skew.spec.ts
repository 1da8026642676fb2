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

  it('gives the minimum of exactly the last minute over many samples, as a full scan would', () => {
    const skew = new ClockSkew();
    const seen: { at: number; offsetMs: number }[] = [];
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let at = 0; at < 200_000; at += 1 + Math.floor(next() * 20)) {
      const offsetMs = Math.floor(next() * 5_000) - 1_000;
      skew.record('kme-west', at - offsetMs, at);
      seen.push({ at, offsetMs });
      if (seen.length % 997 === 0) {
        const recent = seen.filter((sample) => at - sample.at < 60_000).map((sample) => sample.offsetMs);
        expect(skew.estimates(at).get('kme-west')).toBe(recent.reduce((a, b) => Math.min(a, b)) / 1000);
      }
    }
    expect(seen.length).toBeGreaterThan(15_000);
  });

  it('keeps up with thousands of messages a second over the whole minute', () => {
    const skew = new ClockSkew();
    // 150 000 samples in one minute: a copy per message (or a spread of them all) does not get through this.
    for (let i = 0; i < 150_000; i += 1) skew.record('kme-west', i * 0.4 - 5 - (i % 1000), i * 0.4);
    expect(skew.estimates(60_000)).toEqual(new Map([['kme-west', 0.005]]));
  });
});

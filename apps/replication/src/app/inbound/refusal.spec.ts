import { EntropyUnavailable, KcvMismatch } from '@dqkd/blast';
import { EntropyServerUnreachable, SampleRefused } from '@dqkd/entropy';

import { regenerationRefusal } from './refusal';

const unavailable = (cause: Error) => new EntropyUnavailable('entropy-1', cause.message, { cause });

describe('regenerationRefusal', () => {
  it('rejects the block and raises an alarm when the check value does not match', () => {
    expect(regenerationRefusal(new KcvMismatch('b'))).toEqual({ reason: 'kcv-mismatch', alarm: true });
  });

  it.each(['already-read', 'expired', 'unknown', 'not-yours'] as const)(
    'rejects the block when a sample is refused as %s',
    (reason) => {
      const refusal = regenerationRefusal(unavailable(new SampleRefused('entropy-1', reason, 'no')));
      expect(refusal).toEqual({ reason: 'samples-refused', alarm: false });
    },
  );

  it('tries again later when an entropy server is out of reach or failing', () => {
    expect(
      regenerationRefusal(unavailable(new EntropyServerUnreachable('entropy-1', 'refused'))),
    ).toBeUndefined();
    expect(
      regenerationRefusal(unavailable(new SampleRefused('entropy-1', 'internal', 'oops'))),
    ).toBeUndefined();
    expect(regenerationRefusal(new Error('database down'))).toBeUndefined();
  });

  it('rejects the block when another server refused its sample for good, whichever failed first', () => {
    const error = new EntropyUnavailable('entropy-1', 'refused', {
      cause: new EntropyServerUnreachable('entropy-1', 'refused'),
      otherCauses: [new SampleRefused('entropy-2', 'already-read', 'no')],
    });
    expect(regenerationRefusal(error)).toEqual({ reason: 'samples-refused', alarm: false });
  });

  it("rejects the block when the other servers' samples were read, which spends them", () => {
    const error = new EntropyUnavailable('entropy-1', 'refused', {
      cause: new EntropyServerUnreachable('entropy-1', 'refused'),
      answered: 2,
    });
    expect(regenerationRefusal(error)).toEqual({ reason: 'samples-refused', alarm: false });
  });
});

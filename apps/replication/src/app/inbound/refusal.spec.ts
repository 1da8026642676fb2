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
});

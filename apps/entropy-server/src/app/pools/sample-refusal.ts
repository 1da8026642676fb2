import type { RefusalReason } from '@dqkd/entropy';

/** A lease or read the pools say no to; `reason` is what the KME is told. */
export class SampleRefusal extends Error {
  override readonly name = 'SampleRefusal';

  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

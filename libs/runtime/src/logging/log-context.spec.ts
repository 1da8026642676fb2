import { addLogFields, currentLogFields, inCurrentLogContext, withLogContext } from './log-context';

describe('inCurrentLogContext', () => {
  it('runs a callback called from elsewhere in the context it was made in, with fields added since', async () => {
    let later: (() => void) | undefined;
    const seen = new Promise<Record<string, string>>((resolve) => {
      withLogContext({ request_id: 'r-1' }, () => {
        later = inCurrentLogContext(() => resolve(currentLogFields()));
        addLogFields({ sae: 'sae-alice' });
      });
    });
    // Called from another context, as an event of the response would be.
    withLogContext({ request_id: 'other' }, () => setImmediate(() => later!()));
    expect(await seen).toEqual({ request_id: 'r-1', sae: 'sae-alice' });
  });

  it('leaves a callback made outside any context as it is', () => {
    const work = () => undefined;
    expect(inCurrentLogContext(work)).toBe(work);
  });
});

import { resolveStream } from '../topology';
import { MemoryStream } from './memory-stream';

const spec = resolveStream({
  name: 'BLOCKS',
  subjects: ['blocks.>'],
  retention: 'limits',
  maxAgeMs: 10_000,
  duplicateWindowMs: 2_000,
});
const message = (msgId: string) => ({
  subject: 'blocks.metadata',
  data: new Uint8Array(8),
  msgId,
  headers: {},
});

describe('MemoryStream', () => {
  it('recognises a msgId within the duplicate window and forgets it after', () => {
    const stream = new MemoryStream(spec);
    expect(stream.store(message('k'), 0)).toEqual({ sequence: 1, duplicate: false });
    expect(stream.store(message('k'), 1_999)).toEqual({ sequence: 1, duplicate: true });
    expect(stream.store(message('k'), 2_000)).toEqual({ sequence: 2, duplicate: false });
  });

  it('drops messages older than maxAge', () => {
    const stream = new MemoryStream(spec);
    stream.store(message('a'), 0);
    stream.store(message('b'), 5_000);
    expect(stream.get(1, 9_999)?.msgId).toBe('a');
    expect(stream.get(1, 10_000)).toBeUndefined();
    expect(stream.next(0, () => true, 10_000)?.msgId).toBe('b');
  });

  it('finds the next accepted message after a sequence and forgets removed ones', () => {
    const stream = new MemoryStream(spec);
    ['a', 'b', 'c'].forEach((id) => stream.store(message(id), 0));
    stream.remove(2);
    expect(stream.next(1, () => true, 0)?.sequence).toBe(3);
    expect(stream.next(0, (m) => m.msgId === 'c', 0)?.sequence).toBe(3);
    expect(stream.next(3, () => true, 0)).toBeUndefined();
  });

  it('drops thousands of aged messages at once and still finds, counts and weighs the rest', () => {
    const stream = new MemoryStream(spec);
    for (let at = 0; at < 3_000; at++) stream.store(message(`m${at}`), at);
    // Stored at 0…2000 ms, so 10 s old or older at 12 s: 2001 go, 999 stay.
    expect(stream.get(2_001, 12_000)).toBeUndefined();
    expect(stream.get(2_002, 12_000)?.msgId).toBe('m2001');
    expect(stream.next(0, () => true, 12_000)?.sequence).toBe(2_002);
    expect([stream.size, stream.bytes, stream.last]).toEqual([999, 999 * 8, 3_000]);
    expect(stream.store(message('late'), 12_000).sequence).toBe(3_001);
  });

  it('drops the oldest messages up to a sequence only while over a number of bytes', () => {
    const stream = new MemoryStream(spec);
    ['a', 'b', 'c', 'd', 'e'].forEach((id) => stream.store(message(id), 0));
    stream.dropOldest(2, 8);
    expect([stream.size, stream.next(0, () => true, 0)?.msgId]).toEqual([3, 'c']);
    stream.dropOldest(5, 16);
    expect([stream.size, stream.bytes, stream.next(0, () => true, 0)?.msgId]).toEqual([2, 16, 'd']);
  });
});

import { assertLiteralSubject, isValidSubject, subjectMatches, subjectsOverlap } from './subjects';

describe('subjects', () => {
  describe('isValidSubject', () => {
    it.each(['dqkd.kme-east.blocks.metadata', 'a', 'dqkd.kme_west.keys'])('accepts %s', (s) =>
      expect(isValidSubject(s, { wildcards: false })).toBe(true),
    );
    it.each(['', 'a..b', '.a', 'a.', 'a b', 'a.>.b', 'a.b*'])('refuses %j', (s) =>
      expect(isValidSubject(s, { wildcards: true })).toBe(false),
    );
    it('accepts wildcards only where they are allowed', () => {
      expect(isValidSubject('dqkd.*.blocks.>', { wildcards: true })).toBe(true);
      expect(isValidSubject('dqkd.*.blocks', { wildcards: false })).toBe(false);
      expect(() => assertLiteralSubject('dqkd.>')).toThrow(/literal/);
    });
  });

  describe('subjectMatches', () => {
    it.each([
      ['dqkd.kme-east.>', 'dqkd.kme-east.blocks.metadata', true],
      ['dqkd.kme-east.>', 'dqkd.kme-east', false],
      ['dqkd.*.blocks', 'dqkd.kme-west.blocks', true],
      ['dqkd.*.blocks', 'dqkd.kme-west.blocks.ack', false],
      ['dqkd.kme-east.blocks', 'dqkd.kme-east.blocks', true],
      ['dqkd.kme-east.blocks', 'dqkd.kme-east.keys', false],
    ])('%s matches %s: %s', (filter, subject, expected) =>
      expect(subjectMatches(filter, subject)).toBe(expected),
    );
  });

  describe('subjectsOverlap', () => {
    it.each([
      ['a.>', 'a.b.c', true],
      ['a.*.c', 'a.b.*', true],
      ['a.*', 'a.b.c', false],
      ['a.>', 'a', false],
      ['>', 'x.y', true],
      ['a.b', 'a.c', false],
    ])('%s and %s overlap: %s', (a, b, expected) => {
      expect(subjectsOverlap(a, b)).toBe(expected);
      expect(subjectsOverlap(b, a)).toBe(expected);
    });
  });
});

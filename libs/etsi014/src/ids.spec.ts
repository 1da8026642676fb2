import { canonicalUuid, isUuid, isValidId, MAX_ID_LENGTH, parsePathId } from './ids';

describe('parsePathId', () => {
  it('decodes a URL-encoded SAE ID', () => {
    expect(parsePathId('sae%20alice%2Feast', 'slave_SAE_ID')).toEqual({ ok: true, value: 'sae alice/east' });
  });

  it('decodes exactly once, so an encoded percent sign stays a percent sign', () => {
    expect(parsePathId('sae%2541', 'master_SAE_ID')).toEqual({ ok: true, value: 'sae%41' });
  });

  it('decodes UTF-8', () => {
    expect(parsePathId('s%C3%A6-bob', 'slave_SAE_ID')).toEqual({ ok: true, value: 'sæ-bob' });
  });

  it('refuses malformed percent-encoding', () => {
    expect(parsePathId('sae%zz', 'slave_SAE_ID')).toEqual({
      ok: false,
      error: { kind: 'invalid-path-id', parameter: 'slave_SAE_ID', expected: 'validly URL-encoded UTF-8' },
    });
    expect(parsePathId('%C3', 'slave_SAE_ID').ok).toBe(false);
  });

  it.each([
    ['an empty segment', ''],
    ['a control character', 'sae%00alice'],
    ['a line feed', 'sae%0Aalice'],
    ['a line separator', 'sae%E2%80%A8alice'],
    ['more than 256 characters', 'a'.repeat(MAX_ID_LENGTH + 1)],
  ])('refuses %s', (_, segment) => {
    expect(parsePathId(segment, 'master_SAE_ID')).toMatchObject({
      ok: false,
      error: { kind: 'invalid-path-id', parameter: 'master_SAE_ID' },
    });
  });

  it('accepts an ID of exactly 256 characters', () => {
    expect(parsePathId('a'.repeat(MAX_ID_LENGTH), 'slave_SAE_ID').ok).toBe(true);
  });
});

describe('isValidId', () => {
  it('takes only non-empty printable strings', () => {
    expect(isValidId('kme-east')).toBe(true);
    expect(isValidId('sae alice')).toBe(true);
    expect(isValidId('')).toBe(false);
    expect(isValidId('tab\there')).toBe(false);
    expect(isValidId(42)).toBe(false);
  });
});

describe('isUuid', () => {
  it('takes the canonical 8-4-4-4-12 form in either case', () => {
    expect(isUuid('bc490419-7d60-487f-adc1-4ddcc177c139')).toBe(true);
    expect(isUuid('BC490419-7D60-487F-ADC1-4DDCC177C139')).toBe(true);
  });

  it.each([
    ['braces', '{bc490419-7d60-487f-adc1-4ddcc177c139}'],
    ['no hyphens', 'bc4904197d60487fadc14ddcc177c139'],
    ['a URN prefix', 'urn:uuid:bc490419-7d60-487f-adc1-4ddcc177c139'],
    ['a non-hex digit', 'bc490419-7d60-487f-adc1-4ddcc177c13g'],
    ['a trailing newline', 'bc490419-7d60-487f-adc1-4ddcc177c139\n'],
    ['a number', 42],
  ])('refuses %s', (_, value) => {
    expect(isUuid(value)).toBe(false);
  });

  it('has one canonical spelling: lower case', () => {
    expect(canonicalUuid('BC490419-7D60-487F-ADC1-4DDCC177C139')).toBe(
      'bc490419-7d60-487f-adc1-4ddcc177c139',
    );
  });
});

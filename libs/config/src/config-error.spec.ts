import { ConfigError, formatIssue } from './config-error';

describe('ConfigError', () => {
  it('prints one issue per line, naming the source and the field', () => {
    const error = new ConfigError([
      { source: 'config/network.yaml', path: 'saes[1].kme', message: 'unknown KME "kme-north"', line: 14 },
      { source: 'environment', path: 'KME_ID', message: 'required but not set' },
    ]);
    expect(error.message).toBe(
      'config/network.yaml: saes[1].kme: unknown KME "kme-north" (line 14)\nenvironment: KME_ID: required but not set',
    );
    expect(error.name).toBe('ConfigError');
    expect(error).toBeInstanceOf(Error);
  });

  it('leaves out the path of an issue about the whole source, and adds a column when known', () => {
    expect(
      formatIssue({ source: 'n.yaml', path: '', message: 'malformed YAML: x', line: 2, column: 5 }),
    ).toBe('n.yaml: malformed YAML: x (line 2, column 5)');
  });
});

import { main } from './dev-pki';

function capture(): {
  lines: string[];
  errors: string[];
  out: { log: (l: string) => void; error: (l: string) => void };
} {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: { log: (line) => lines.push(line), error: (line) => errors.push(line) } };
}

describe('dev-pki command', () => {
  it('prints its usage for --help and exits 0', async () => {
    const { lines, out } = capture();
    expect(await main(['--help'], '/nowhere', {}, out)).toBe(0);
    expect(lines.join('\n')).toMatch(/--dir.*\n.*--kme.*\n.*--sae.*\n.*--entropy/s);
  });

  it('exits 2 with the usage for an unknown option', async () => {
    const { errors, out } = capture();
    expect(await main(['--kmes', 'kme-east'], '/nowhere', {}, out)).toBe(2);
    expect(errors.join('\n')).toMatch(/--kmes.*Usage:/s);
  });

  it('exits 2 for an entropy server count of zero', async () => {
    const { errors, out } = capture();
    expect(await main(['--entropy', '0'], '/nowhere', {}, out)).toBe(2);
    expect(errors.join('\n')).toMatch(/between 1 and 64/);
  });

  it('exits 1 with the reason for an invalid ID, before touching any folder', async () => {
    const { errors, out } = capture();
    expect(await main(['--sae', 'sae-alice,../x'], '/nowhere', {}, out)).toBe(1);
    expect(errors.join('\n')).toMatch(/"..\/x" is not a valid ID/);
  });
});

/**
 * A smoke test of randomness: monobit, runs (NIST SP 800-22 §2.1 and §2.3) and a chi-square on byte
 * frequencies. Each statistic is compared with the bound a uniform source exceeds with probability
 * 1e-6 or less, so a correct extractor fails only by (rare) chance.
 */

/** Two-sided normal quantile for p = 1e-6. */
const Z_TWO_SIDED = 4.892;
/** One-sided normal quantile for p = 1e-6. */
const Z_ONE_SIDED = 4.753;

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, value) => {
  let count = 0;
  for (let v = value; v !== 0; v &= v - 1) count++;
  return count;
});

export interface RandomnessReport {
  monobitZ: number;
  runsZ: number;
  chiSquare: number;
  chiSquareBounds: [number, number];
  passed: boolean;
}

/** Wilson–Hilferty approximation of a chi-square quantile. */
function chiSquareQuantile(dof: number, z: number): number {
  const spread = 2 / (9 * dof);
  return dof * (1 - spread + z * Math.sqrt(spread)) ** 3;
}

export function randomnessReport(bytes: Uint8Array): RandomnessReport {
  const bits = bytes.length * 8;
  const counts = new Float64Array(256);
  let ones = 0;
  let transitions = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    counts[byte]++;
    ones += POPCOUNT[byte];
    transitions += POPCOUNT[(byte ^ (byte >> 1)) & 0x7f];
    if (i > 0 && (bytes[i - 1] & 1) !== byte >> 7) transitions++;
  }
  const monobitZ = Math.abs(2 * ones - bits) / Math.sqrt(bits);
  const pi = ones / bits;
  const runs = transitions + 1;
  const runsZ = Math.abs(runs - 2 * bits * pi * (1 - pi)) / (2 * Math.sqrt(bits) * pi * (1 - pi));
  const expected = bytes.length / 256;
  const chiSquare = counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
  const chiSquareBounds: [number, number] = [
    chiSquareQuantile(255, -Z_ONE_SIDED),
    chiSquareQuantile(255, Z_ONE_SIDED),
  ];
  const passed =
    monobitZ < Z_TWO_SIDED &&
    Number.isFinite(runsZ) &&
    runsZ < Z_TWO_SIDED &&
    chiSquare > chiSquareBounds[0] &&
    chiSquare < chiSquareBounds[1];
  return { monobitZ, runsZ, chiSquare, chiSquareBounds, passed };
}

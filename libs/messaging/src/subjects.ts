/**
 * NATS subject rules, kept here so both adapters accept and route exactly the same
 * subjects: dot-separated tokens, `*` matches one token, a final `>` matches one or more.
 */
import { BusConfigError } from './errors';

const token = /^[A-Za-z0-9_$:-]+$/;

export function isValidSubject(subject: string, options: { wildcards: boolean }): boolean {
  const tokens = subject.split('.');
  return tokens.every((t, i) => {
    if (t === '*') return options.wildcards;
    if (t === '>') return options.wildcards && i === tokens.length - 1;
    return token.test(t);
  });
}

export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

/** Whether some concrete subject matches both filters. */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === '>') return y.length > i;
    if (y[i] === '>') return x.length > i;
    if (i >= x.length || i >= y.length) return false;
    if (x[i] !== '*' && y[i] !== '*' && x[i] !== y[i]) return false;
  }
  return true;
}

/** Publishes and requests go to one concrete subject. */
export function assertLiteralSubject(subject: string): void {
  if (!isValidSubject(subject, { wildcards: false })) {
    throw new BusConfigError('subject', `"${subject}" is not a literal subject`);
  }
}

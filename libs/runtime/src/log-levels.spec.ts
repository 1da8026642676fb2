import { nestLogLevels } from './log-levels';

describe('nestLogLevels', () => {
  it('lets through info and everything more severe at LOG_LEVEL=info', () => {
    expect(nestLogLevels('info')).toEqual(['fatal', 'error', 'warn', 'log']);
  });

  it('lets through every level at LOG_LEVEL=trace', () => {
    expect(nestLogLevels('trace')).toEqual(['fatal', 'error', 'warn', 'log', 'debug', 'verbose']);
  });

  it('keeps only fatal messages at LOG_LEVEL=fatal', () => {
    expect(nestLogLevels('fatal')).toEqual(['fatal']);
  });

  it('turns the logger off at LOG_LEVEL=silent', () => {
    expect(nestLogLevels('silent')).toBe(false);
  });
});

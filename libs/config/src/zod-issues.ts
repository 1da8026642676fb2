import type { z } from 'zod';

/** A schema problem, with its path still structured so the caller can locate it in the source. */
export interface SchemaIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

const article: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
};

function describeInput(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') return `the string ${JSON.stringify(input)}`;
  if (typeof input === 'number') return String(input);
  return typeof input;
}

function bound(
  kind: 'at least' | 'at most',
  issue: { minimum?: unknown; maximum?: unknown; inclusive?: boolean; origin: string },
): string {
  const limit = Number(kind === 'at least' ? issue.minimum : issue.maximum);
  if (issue.origin === 'array') return `must have ${kind} ${limit} ${limit === 1 ? 'entry' : 'entries'}`;
  if (issue.origin === 'string') {
    return kind === 'at least' && limit === 1
      ? 'must not be empty'
      : `must be ${kind} ${limit} characters long`;
  }
  if (issue.inclusive === false) return `must be ${kind === 'at least' ? 'greater' : 'less'} than ${limit}`;
  return `must be ${kind} ${limit}`;
}

function fromIssue(issue: z.core.$ZodIssue, missing: string): SchemaIssue[] {
  const path = issue.path;
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return [{ path, message: missing }];
      return [
        {
          path,
          message: `expected ${article[issue.expected] ?? issue.expected}, got ${describeInput(issue.input)}`,
        },
      ];
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], message: 'unknown field' }));
    case 'too_small':
      return [{ path, message: bound('at least', issue) }];
    case 'too_big':
      return [{ path, message: bound('at most', issue) }];
    case 'not_multiple_of':
      return [{ path, message: `must be a multiple of ${String(issue.divisor)}` }];
    case 'invalid_value': {
      const values = issue.values.map((value) => JSON.stringify(value));
      const choice = values.length > 2 ? `one of ${values.join(', ')}` : values.join(' or ');
      return [{ path, message: `must be ${choice}, got ${describeInput(issue.input)}` }];
    }
    case 'invalid_union': {
      // A union here offers alternative shapes (a path or a mapping); report the branch the operator
      // evidently meant, i.e. the first one whose root type matched.
      const meant = issue.errors.find(
        (branch) => !branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0),
      );
      if (!meant) return [{ path, message: `expected ${issue.message}, got ${describeInput(issue.input)}` }];
      return meant.flatMap((inner) => fromIssue({ ...inner, path: [...path, ...inner.path] }, missing));
    }
    default:
      return [{ path, message: issue.message }];
  }
}

/** Rewords zod's issues for operators; `missing` is what an absent required value is called in this source. */
export function schemaIssues(error: z.ZodError, missing = 'required field is missing'): SchemaIssue[] {
  return error.issues.flatMap((issue) => fromIssue(issue, missing));
}

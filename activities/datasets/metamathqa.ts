import type { Problem } from '../../core/problem';
import { FieldError } from './errors';
import { asRecord, optionalString, requireString } from './fields';

const MARKER = 'The answer is';
const NUMBER = /^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$/;

/**
 * MetaMathQA (meta-math/MetaMathQA): a JSON array of `{query, response, type}` whose response
 * ends with "The answer is: X". A plain number is a `numeric` task (thousands separators
 * dropped); anything else (fractions, expressions, intervals) is `math`. The records carry no
 * id, so ids are `metamathqa-<position in the array>`.
 */
export function parseMetaMathQa(raw: unknown, position: number): Problem {
  const record = asRecord(raw);
  const question = requireString(record, 'query');
  const response = requireString(record, 'response');
  optionalString(record, 'type');
  const at = response.lastIndexOf(MARKER);
  if (at === -1) throw new FieldError('response', `has no '${MARKER}: <answer>' line`);
  const rest = response.slice(at + MARKER.length).split('\n')[0];
  let answer = rest.replace(/^[ \t]*:?/, '').trim();
  if (answer.endsWith('.') && NUMBER.test(answer.slice(0, -1))) answer = answer.slice(0, -1);
  if (answer === '') throw new FieldError('response', `has an empty '${MARKER}:' answer`);
  const numeric = NUMBER.test(answer);
  const solution = response.slice(0, at).trim();
  return {
    id: `metamathqa-${position}`,
    task: numeric ? 'numeric' : 'math',
    question,
    gold: numeric ? answer.replace(/,/g, '') : answer,
    ...(solution ? { solution } : {}),
  };
}

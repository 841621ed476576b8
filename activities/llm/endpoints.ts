import * as fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { TeacherProfileName } from '../../core/config';

/**
 * Where the llm worker may send requests, and with which key. A run config only names a profile or
 * a URL; this worker's environment decides whether that is allowed and which key goes with it, so
 * whoever can start a workflow cannot have the worker's key sent to a host of their choosing.
 *
 *   OPENAI_BASE_URL + OPENAI_API_KEY   the implicit profile "default" (AGENTARK_TEACHER_MODEL its model)
 *   AGENTARK_TEACHERS                  JSON, or the path of a JSON file: { name: { baseUrl, apiKeyEnv?, model? } }
 *   AGENTARK_TEACHER_ALLOWLIST         comma-separated base URLs or origins a run may name by URL
 *
 * A URL naming a profile's baseUrl (after normalising) gets that profile's key; a URL that is only
 * on the allowlist gets no key at all: the allowlist says where the worker may go, never what it sends.
 */

export const DEFAULT_PROFILE = 'default';

const TeacherProfile = z.strictObject({
  baseUrl: z.string().url(),
  /** Name of the environment variable holding this endpoint's key; absent for a server that needs none. */
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name').optional(),
  model: z.string().min(1).optional(),
});

export interface TeacherEndpoint {
  /** The profile it belongs to; undefined for a URL that is only on the allowlist. */
  profile?: string;
  baseUrl: string;
  /** Undefined: the request carries no Authorization header. */
  apiKey?: string;
  /** Model when the request names none (a profile's model). */
  model?: string;
}

export interface TeacherEndpoints {
  /** In a fixed order, "default" first, so a URL matching several profiles resolves the same way every time. */
  profiles: Map<string, TeacherEndpoint>;
  /** Normalised entries: an origin ("https://host:port") allows every base URL on it, a base URL only itself. */
  allowlist: string[];
}

/** Bad environment: thrown when the worker reads it, so a misconfigured worker never takes a task. */
export class TeacherEndpointsError extends Error {
  override name = 'TeacherEndpointsError';
}

/**
 * "scheme://host[:port]/path" without a trailing slash; undefined for anything that is not a plain
 * http(s) URL (credentials, a query or a fragment in a base URL would be sent somewhere unexpected).
 */
export function normalizeBaseUrl(raw: string): string | undefined {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password || u.search || u.hash) return undefined;
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

export function loadTeacherEndpoints(env: NodeJS.ProcessEnv = process.env): TeacherEndpoints {
  const profiles = new Map<string, TeacherEndpoint>();
  const keyEnvOf = new Map<string, string | undefined>();
  const add = (name: string, baseUrl: string, where: string, apiKeyEnv: string | undefined, model: string | undefined): void => {
    const normal = normalizeBaseUrl(baseUrl);
    if (!normal) throw new TeacherEndpointsError(`${where}: '${baseUrl}' is not an http(s) base URL without credentials, query or fragment`);
    // Two profiles on one URL with different keys: a run naming that URL would get one of them by
    // chance; refuse instead of guessing.
    for (const [other, p] of profiles) {
      if (p.baseUrl === normal && keyEnvOf.get(other) !== apiKeyEnv) {
        throw new TeacherEndpointsError(`${where}: profiles '${other}' and '${name}' share the base URL ${normal} with different keys; keep one profile per endpoint and key`);
      }
    }
    const apiKey = apiKeyEnv ? env[apiKeyEnv] : undefined;
    if (apiKeyEnv && name !== DEFAULT_PROFILE && !apiKey) {
      throw new TeacherEndpointsError(`${where}: apiKeyEnv ${apiKeyEnv} is not set in the llm worker's environment`);
    }
    profiles.set(name, { profile: name, baseUrl: normal, ...(apiKey ? { apiKey } : {}), ...(model ? { model } : {}) });
    keyEnvOf.set(name, apiKeyEnv);
  };

  if (env.OPENAI_BASE_URL) add(DEFAULT_PROFILE, env.OPENAI_BASE_URL, 'OPENAI_BASE_URL', 'OPENAI_API_KEY', env.AGENTARK_TEACHER_MODEL || undefined);

  const named = parseProfiles(env.AGENTARK_TEACHERS);
  for (const [name, p] of Object.entries(named)) {
    if (name === DEFAULT_PROFILE) {
      throw new TeacherEndpointsError(`AGENTARK_TEACHERS: '${DEFAULT_PROFILE}' is the worker's OPENAI_BASE_URL + OPENAI_API_KEY; give this profile another name`);
    }
    add(name, p.baseUrl, `AGENTARK_TEACHERS.${name}`, p.apiKeyEnv, p.model);
  }

  const allowlist = (env.AGENTARK_TEACHER_ALLOWLIST ?? '')
    .split(/[,\s]+/)
    .filter((s) => s !== '')
    .map((entry) => {
      const normal = normalizeBaseUrl(entry);
      if (!normal) throw new TeacherEndpointsError(`AGENTARK_TEACHER_ALLOWLIST: '${entry}' is not an http(s) URL or origin`);
      return normal;
    });
  return { profiles, allowlist };
}

function parseProfiles(raw: string | undefined): Record<string, z.infer<typeof TeacherProfile>> {
  if (!raw || raw.trim() === '') return {};
  const inline = raw.trim().startsWith('{');
  let text = raw;
  if (!inline) {
    try {
      text = fs.readFileSync(raw.trim(), 'utf8');
    } catch (err) {
      throw new TeacherEndpointsError(`AGENTARK_TEACHERS: neither JSON nor a readable file (${(err as Error).message})`);
    }
  }
  const where = inline ? 'AGENTARK_TEACHERS' : `AGENTARK_TEACHERS (${raw.trim()})`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TeacherEndpointsError(`${where}: not valid JSON: ${(err as Error).message}`);
  }
  const parsed = z.record(TeacherProfileName, TeacherProfile).safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ');
    throw new TeacherEndpointsError(`${where}: expected { "<profile>": { "baseUrl": …, "apiKeyEnv"?: …, "model"?: … } }: ${issues}`);
  }
  return parsed.data;
}

// Read once per process; keyed on the variables so a test that changes them gets what it set.
let memo: { env: string; endpoints: TeacherEndpoints } | undefined;

/** This worker's endpoints. Throws TeacherEndpointsError on a bad environment: call it at worker start. */
export function teacherEndpoints(): TeacherEndpoints {
  const e = process.env;
  const env = JSON.stringify([e.OPENAI_BASE_URL, e.OPENAI_API_KEY, e.AGENTARK_TEACHER_MODEL, e.AGENTARK_TEACHERS, e.AGENTARK_TEACHER_ALLOWLIST]);
  if (memo?.env !== env) memo = { env, endpoints: loadTeacherEndpoints(e) };
  return memo.endpoints;
}

/**
 * The endpoint a request may use, before anything is sent. Everything refused here is the run
 * config's or the worker's setup, which a retry cannot fix: non-retryable, saying how to allow it.
 */
export function resolveTeacher(req: { profile?: string; baseUrl?: string }, endpoints: TeacherEndpoints): TeacherEndpoint {
  const names = [...endpoints.profiles.keys()];
  const known = names.length > 0 ? names.join(', ') : 'none defined';
  if (req.profile !== undefined && req.baseUrl !== undefined) {
    throw ApplicationFailure.nonRetryable(`teacher: name either profile ('${req.profile}') or baseUrl (${req.baseUrl}), not both`, 'TeacherEndpointNotAllowed');
  }
  if (req.baseUrl === undefined) {
    const name = req.profile ?? DEFAULT_PROFILE;
    const found = endpoints.profiles.get(name);
    if (found) return found;
    if (req.profile === undefined) {
      throw ApplicationFailure.nonRetryable(
        `no teacher endpoint: set teacher.profile in the run config (profiles of this llm worker: ${known}) or OPENAI_BASE_URL for the llm worker`,
        'NoTeacherEndpoint',
      );
    }
    const how = name === DEFAULT_PROFILE ? "set the worker's OPENAI_BASE_URL" : "define it in the worker's AGENTARK_TEACHERS";
    throw ApplicationFailure.nonRetryable(
      `teacher profile '${name}' is not defined on this llm worker (profiles: ${known}); ${how}`,
      'UnknownTeacherProfile',
    );
  }
  const url = normalizeBaseUrl(req.baseUrl);
  if (url) {
    for (const p of endpoints.profiles.values()) if (p.baseUrl === url) return p;
    const origin = new URL(url).origin;
    if (endpoints.allowlist.some((entry) => entry === url || entry === origin)) return { baseUrl: url };
  }
  throw ApplicationFailure.nonRetryable(
    `teacher endpoint ${req.baseUrl} is not allowed by this llm worker, and no request was made to it: ` +
      `name a profile instead (teacher.profile: ${known}), or allow the URL in the llm worker's environment ` +
      `(AGENTARK_TEACHER_ALLOWLIST for a server that needs no key, a profile in AGENTARK_TEACHERS for one that does) and restart it`,
    'TeacherEndpointNotAllowed',
  );
}

/** resolveTeacher against this worker's environment; a bad environment fails the call, not retried. */
export function teacherEndpointFor(req: { profile?: string; baseUrl?: string }): TeacherEndpoint {
  let endpoints: TeacherEndpoints;
  try {
    endpoints = teacherEndpoints();
  } catch (err) {
    if (!(err instanceof TeacherEndpointsError)) throw err;
    throw ApplicationFailure.nonRetryable(`the llm worker's teacher endpoints are misconfigured: ${err.message}`, 'TeacherEndpointsMisconfigured');
  }
  return resolveTeacher(req, endpoints);
}

// The typed API client: openapi-fetch over the types generated from the server's OpenAPI
// document (schema.d.ts), plus the login tokens (kept in localStorage, refreshed once on a 401).
import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from './schema'

export type Schemas = components['schemas']

const TOKENS = 'stridelab.tokens'

interface Tokens {
  access_token: string
  refresh_token: string
}

export function tokens(): Tokens | null {
  try {
    return JSON.parse(localStorage.getItem(TOKENS) ?? 'null') as Tokens | null
  } catch {
    return null
  }
}

export function saveTokens(value: Tokens | null): void {
  if (value) localStorage.setItem(TOKENS, JSON.stringify(value))
  else localStorage.removeItem(TOKENS)
}

export function authHeader(): Record<string, string> {
  const t = tokens()
  return t ? { Authorization: `Bearer ${t.access_token}` } : {}
}

let refreshing: Promise<boolean> | null = null

/** Trades the refresh token for new tokens; one refresh at a time (refresh tokens rotate). */
export function refresh(): Promise<boolean> {
  const t = tokens()
  if (!t) return Promise.resolve(false)
  refreshing ??= fetch('/api/v1/auth/refresh', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: t.refresh_token }),
  })
    .then(async (r) => {
      if (!r.ok) {
        saveTokens(null)
        return false
      }
      saveTokens((await r.json()) as Tokens)
      return true
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null
    })
  return refreshing
}

const auth: Middleware = {
  onRequest({ request }) {
    const t = tokens()
    if (t && !request.headers.has('Authorization')) {
      request.headers.set('Authorization', `Bearer ${t.access_token}`)
    }
    return request
  },
}

/** fetch with the bearer token that retries once after refreshing an expired access token. */
export async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone()
  const response = await fetch(input)
  if (response.status !== 401 || !tokens()) return response
  if (!(await refresh())) return response
  retry.headers.set('Authorization', `Bearer ${tokens()!.access_token}`)
  return fetch(retry)
}

export const api = createClient<paths>({ baseUrl: '/', fetch: authFetch })
api.use(auth)

/** The message of an API error body (ErrorResponse's detail, or a validation error's first). */
export function errorText(error: unknown, fallback = 'Something went wrong. Try again.'): string {
  if (!error || typeof error !== 'object') return fallback
  const detail = (error as { detail?: unknown }).detail
  if (typeof detail === 'string') return detail
  if (Array.isArray(detail) && detail.length) {
    const first = detail[0] as { msg?: string; loc?: unknown[] }
    const field = Array.isArray(first.loc) ? String(first.loc[first.loc.length - 1]) : ''
    return field ? `${field}: ${first.msg ?? 'invalid'}` : (first.msg ?? fallback)
  }
  return fallback
}

/** A protected file (overlay video, key frame) as an object URL: media elements cannot send
 * the Authorization header themselves. */
export async function blobUrl(path: string): Promise<string> {
  const response = await authFetch(new Request(path, { headers: authHeader() }))
  if (!response.ok) throw new Error(`${response.status}`)
  return URL.createObjectURL(await response.blob())
}

// The coach's views, behind one module: the roster comes from GET /api/v1/coach/athletes
// today; GET /api/v1/coach/dashboard (last clip, compliance, flags, needs-attention) and
// GET /api/v1/athletes/{id}/trends are being built in parallel. They are called here by path
// (not through the generated client, which does not know them yet) and fall back when absent,
// so wiring them after the merge means regenerating the client and typing these two calls.
import { api, authFetch, authHeader, type Schemas } from './client'

export interface RosterRow {
  id: number
  display_name: string
  email: string
  onboarded: boolean
  compliance_7d: number | null
  open_flags: number | null
  needs_attention: string[]
  last_clip_at: string | null
}

export interface TrendPoint {
  t: number // seconds since the epoch
  value: number
}

export interface FaultTrend {
  key: string
  label: string
  unit: string
  points: TrendPoint[]
}

async function getJson(path: string): Promise<unknown | null> {
  const r = await authFetch(new Request(path, { headers: authHeader() }))
  return r.ok ? r.json() : null
}

export async function roster(): Promise<RosterRow[]> {
  const dashboard = (await getJson('/api/v1/coach/dashboard')) as
    | { athletes?: Array<{
        id: number; display_name: string; email: string; onboarded: boolean
        compliance_7: { value: number | null } | null; open_flags: number
        attention: Array<{ message: string }>; last_clip: { recorded_at: string } | null }> }
    | null
  if (dashboard?.athletes) {
    return dashboard.athletes.map((a) => ({
      id: a.id, display_name: a.display_name, email: a.email, onboarded: a.onboarded,
      compliance_7d: a.compliance_7?.value ?? null, open_flags: a.open_flags,
      needs_attention: a.attention.map((r) => r.message),
      last_clip_at: a.last_clip?.recorded_at ?? null,
    }))
  }
  const { data, error } = await api.GET('/api/v1/coach/athletes')
  if (error || !data) throw new Error('The roster could not be loaded.')
  const rows = data as Schemas['RosterAthlete'][]
  return Promise.all(rows.map(async (a) => {
    const c = await api.GET('/api/v1/coach/athletes/{athlete_id}/compliance',
                            { params: { path: { athlete_id: a.id } } })
    const f = await api.GET('/api/v1/coach/athletes/{athlete_id}/flags',
                            { params: { path: { athlete_id: a.id } } })
    return {
      id: a.id, display_name: a.display_name, email: a.email, onboarded: a.onboarded,
      compliance_7d: c.data ? c.data.days_7 : null,
      open_flags: Array.isArray(f.data) ? f.data.length : null,
      needs_attention: [], last_clip_at: null,
    }
  }))
}

/** Fault trends over time; null while the trends endpoint is not on this server. */
export async function trends(athleteId: number): Promise<FaultTrend[] | null> {
  const body = (await getJson(`/api/v1/athletes/${athleteId}/trends`)) as
    | { series?: FaultTrend[] }
    | null
  return body?.series ?? null
}

// The coach's and the athlete's progress views: the roster (GET /api/v1/coach/dashboard,
// falling back to the plain roster), and the trends of one athlete.
import { api, authFetch, authHeader, errorText, type Schemas } from './client'

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

export type Trends = Schemas['TrendsOut']

/** One fault on one side, as a line over time (a chart series). */
export interface FaultSeries {
  key: string
  label: string
  points: Array<{ t: number; value: number; severity: string }> // t: seconds since the epoch
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

/** Each fault and metric over the athlete's fit clips, and the weekly training (the athlete
 * themself or their coach may read it). */
export async function trends(athleteId: number, weeks = 104): Promise<Trends> {
  const { data, error } = await api.GET('/api/v1/athletes/{athlete_id}/trends', {
    params: { path: { athlete_id: athleteId }, query: { weeks } },
  })
  if (!data) throw new Error(errorText(error, 'The trends could not be loaded.'))
  return data
}

/** The fault trends as chart series: one per fault and side, the measured points only. */
export function faultSeries(t: Trends): FaultSeries[] {
  const out = new Map<string, FaultSeries>()
  for (const f of t.faults) {
    for (const p of f.points) {
      if (p.value == null) continue
      const key = `${f.code}${p.side ? `-${p.side}` : ''}`
      const s = out.get(key) ?? { key, label: `${f.title}${p.side ? ` (${p.side})` : ''}`, points: [] }
      s.points.push({ t: Date.parse(p.recorded_at) / 1000, value: p.value, severity: p.severity })
      out.set(key, s)
    }
  }
  return [...out.values()]
}

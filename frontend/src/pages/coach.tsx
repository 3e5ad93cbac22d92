import { useEffect, useRef, useState } from 'preact/hooks'
import { api, errorText, type Schemas } from '../api/client'
import { roster, trends, type FaultTrend, type RosterRow } from '../api/coach'
import { onLink } from '../router'

type SortKey = 'display_name' | 'compliance_7d' | 'open_flags'

export function CoachHome() {
  const [rows, setRows] = useState<RosterRow[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [sort, setSort] = useState<SortKey>('display_name')
  const [invite, setInvite] = useState<Schemas['InvitePublic'] | null>(null)
  useEffect(() => { roster().then(setRows, (e: Error) => setError(e.message)) }, [])
  const makeInvite = async () => {
    const { data, error } = await api.POST('/api/v1/coach/invites')
    if (data) setInvite(data)
    else setError(errorText(error))
  }
  const sorted = [...(rows ?? [])].sort((a, b) => sort === 'display_name'
    ? a.display_name.localeCompare(b.display_name)
    : ((a[sort] ?? -1) as number) - ((b[sort] ?? -1) as number))
  const header = (key: SortKey, label: string) => (
    <th scope="col" aria-sort={sort === key ? 'ascending' : 'none'}>
      <button onClick={() => setSort(key)}>{label}</button>
    </th>
  )
  return (
    <section aria-labelledby="roster-title">
      <h1 id="roster-title">Your athletes</h1>
      <div class="card">
        <button onClick={makeInvite}>Invite an athlete</button>
        {invite && (
          <p role="status">Give your athlete this code: <strong class="invite-code">{invite.code}</strong>
            <br /><span class="muted">Valid until {new Date(invite.expires_at).toLocaleDateString()}.</span></p>
        )}
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {rows === null && !error && <p class="muted" role="status">Loading…</p>}
      {rows?.length === 0 && <p class="empty">No athletes yet. Invite one with the button above.</p>}
      {sorted.length > 0 && (
        <div class="card" style="overflow-x:auto" tabIndex={0} role="region" aria-label="Roster table">
          <table class="roster">
            <thead><tr>{header('display_name', 'Athlete')}{header('compliance_7d', 'Sessions done (7 days)')}{header('open_flags', 'Flags')}</tr></thead>
            <tbody>
              {sorted.map((a) => (
                <tr key={a.id}>
                  <th scope="row" style="font-weight:400"><a href={`/athletes/${a.id}`} onClick={onLink}>{a.display_name}</a>
                    {!a.onboarded && <span class="muted"> (not onboarded)</span>}
                    {a.needs_attention.map((n) => <div class="error" key={n}>{n}</div>)}</th>
                  <td>{a.compliance_7d === null ? 'nothing due' : `${Math.round(a.compliance_7d * 100)} %`}</td>
                  <td>{a.open_flags ?? '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}

export function AthleteDetail({ id }: { id: number }) {
  const [athlete, setAthlete] = useState<Schemas['UserPublic'] | null>(null)
  const [compliance, setCompliance] = useState<Schemas['ComplianceOut'] | null>(null)
  const [flags, setFlags] = useState<Schemas['CoachFlagPublic'][]>([])
  const [clips, setClips] = useState<Schemas['ClipPublic'][]>([])
  const [series, setSeries] = useState<FaultTrend[] | null | undefined>(undefined)
  const [error, setError] = useState<string | null>(null)
  const [saved, setSaved] = useState<string | null>(null)
  const path = { params: { path: { athlete_id: id } } }
  useEffect(() => {
    api.GET('/api/v1/coach/athletes/{athlete_id}', path).then(({ data, error }) => data ? setAthlete(data) : setError(errorText(error)))
    api.GET('/api/v1/coach/athletes/{athlete_id}/compliance', path).then(({ data }) => setCompliance(data ?? null))
    api.GET('/api/v1/coach/athletes/{athlete_id}/flags', path).then(({ data }) => setFlags(data ?? []))
    api.GET('/api/v1/coach/athletes/{athlete_id}/clips', path).then(({ data }) => setClips(data?.items ?? []))
    trends(id).then(setSeries, () => setSeries(null))
  }, [id])
  const note = async (e: Event) => {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const text = String(new FormData(form).get('note')).trim()
    const { error } = await api.POST('/api/v1/coach/athletes/{athlete_id}/plan/notes', { ...path, body: { text } })
    if (error) setError(errorText(error))
    else { setSaved('Note added to the plan.'); form.reset() }
  }
  if (error) return <p class="error" role="alert">{error}</p>
  if (!athlete) return <p class="muted" role="status">Loading…</p>
  return (
    <section aria-labelledby="athlete-title">
      <p><a href="/" onClick={onLink}>← All athletes</a></p>
      <h1 id="athlete-title">{athlete.display_name}</h1>
      <div class="grid2">
        <div class="card">
          <h2>Compliance</h2>
          {compliance ? <p>7 days: {pct(compliance.days_7)} · 30 days: {pct(compliance.days_30)} · 90 days: {pct(compliance.days_90)}</p>
                      : <p class="muted">No sessions yet.</p>}
        </div>
        <div class="card">
          <h2>Flags</h2>
          {flags.length === 0 ? <p class="muted">No open flags.</p>
            : <ul>{flags.map((f) => <li key={String(f.id ?? f.code)}>{f.message}</li>)}</ul>}
        </div>
      </div>
      <div class="card">
        <h2>Fault trends</h2>
        {series === undefined && <p class="muted" role="status">Loading…</p>}
        {series === null && <p class="muted">Trends appear here once this server offers them and the athlete has filmed twice.</p>}
        {series && series.length === 0 && <p class="muted">Not enough clips for a trend yet.</p>}
        {series && series.map((s) => <TrendChart key={s.key} trend={s} />)}
      </div>
      <div class="card">
        <h2>Clips</h2>
        {clips.length === 0 ? <p class="muted">No clips yet.</p> : (
          <ul>{clips.map((c) => <li key={c.id}>{c.original_filename ?? `Clip ${c.id}`}: {c.view} view, {new Date(c.recorded_at).toLocaleDateString()}, {c.outcome ?? c.status}</li>)}</ul>
        )}
      </div>
      <form class="card" onSubmit={note}>
        <h2>Note on the plan</h2>
        <label for="note">Note for {athlete.display_name}</label>
        <textarea id="note" name="note" required maxLength={500} rows={3} />
        {saved && <p class="ok" role="status">{saved}</p>}
        <p><button type="submit">Add note</button></p>
      </form>
    </section>
  )
}

function pct(v: number | null | undefined): string {
  // Null: nothing was due in the window (never shown as 100 %).
  return v == null ? 'nothing due' : `${Math.round(v * 100)} %`
}

/** One fault's measure over time, drawn with uPlot (loaded only on this page). */
function TrendChart({ trend }: { trend: FaultTrend }) {
  const ref = useRef<HTMLDivElement>(null)
  useEffect(() => {
    let plot: { destroy(): void } | null = null
    void Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([{ default: UPlot }]) => {
      if (!ref.current) return
      plot = new UPlot({
        width: Math.min(ref.current.clientWidth || 340, 640), height: 180,
        series: [{}, { label: `${trend.label} (${trend.unit})`, stroke: '#0d6e6e', width: 2 }],
        axes: [{}, { label: trend.unit }],
      }, [trend.points.map((p) => p.t), trend.points.map((p) => p.value)], ref.current)
    })
    return () => plot?.destroy()
  }, [trend])
  return (
    <figure>
      <figcaption>{trend.label}</figcaption>
      <div ref={ref} role="img" aria-label={`${trend.label}: ${trend.points.map((p) => p.value.toFixed(1)).join(', ')} ${trend.unit}`} />
    </figure>
  )
}

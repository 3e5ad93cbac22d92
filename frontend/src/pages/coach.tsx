import { useEffect, useRef, useState } from 'preact/hooks'
import { api, blobUrl, errorText, type Schemas } from '../api/client'
import { faultSeries, roster, trends, type FaultSeries, type RosterRow, type Trends } from '../api/coach'
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

type Flag = Schemas['CoachFlagPublic']
type Clip = Schemas['ClipPublic']
type Plan = Schemas['PlanPublic']
type Exercise = Schemas['ExerciseListed']

export function AthleteDetail({ id }: { id: number }) {
  const [athlete, setAthlete] = useState<Schemas['UserPublic'] | null>(null)
  const [compliance, setCompliance] = useState<Schemas['ComplianceOut'] | null>(null)
  const [clips, setClips] = useState<Clip[]>([])
  const [t, setT] = useState<Trends | null | undefined>(undefined)
  const [error, setError] = useState<string | null>(null)
  const path = { params: { path: { athlete_id: id } } }
  useEffect(() => {
    api.GET('/api/v1/coach/athletes/{athlete_id}', path).then(({ data, error }) => data ? setAthlete(data) : setError(errorText(error)),
      () => setError('No connection: this page will load when you are back online.'))
    api.GET('/api/v1/coach/athletes/{athlete_id}/compliance', path).then(({ data }) => setCompliance(data ?? null), () => null)
    api.GET('/api/v1/coach/athletes/{athlete_id}/clips', { params: { path: { athlete_id: id }, query: { limit: 100 } } })
      .then(({ data }) => setClips(data?.items ?? []), () => null)
    trends(id).then(setT, () => setT(null))
  }, [id])
  if (error) return <p class="error" role="alert">{error}</p>
  if (!athlete) return <p class="muted" role="status">Loading…</p>
  const series = t ? faultSeries(t) : []
  return (
    <section aria-labelledby="athlete-title">
      <p><a href="/" onClick={onLink}>← All athletes</a></p>
      <h1 id="athlete-title">{athlete.display_name}</h1>
      <div class="grid2">
        <div class="card">
          <h2>Compliance</h2>
          {compliance ? <p>7 days: {pct(compliance.days_7)} · 30 days: {pct(compliance.days_30)} · 90 days: {pct(compliance.days_90)}</p>
                      : <p class="muted">No plan yet: it starts with the first analysed clip.</p>}
        </div>
        <Flags athleteId={id} />
      </div>
      <div class="card">
        <h2>Effort and pain</h2>
        {t === undefined && <p class="muted" role="status">Loading…</p>}
        {t === null && <p class="error" role="alert">The training history could not be loaded.</p>}
        {t && <TrainingTable weeks={t.weeks} />}
      </div>
      <div class="card">
        <h2>Fault trends</h2>
        {t === undefined && <p class="muted" role="status">Loading…</p>}
        {t === null && <p class="error" role="alert">The trends could not be loaded.</p>}
        {t && series.length === 0 && <p class="muted">No fault measured yet: trends start with the first analysed clip.</p>}
        {t && series.length > 0 && t.clips.length < 2 && <p class="muted">One analysed clip so far: a trend needs a second one.</p>}
        {series.map((s) => <TrendChart key={s.key} trend={s} />)}
      </div>
      <ClipsSideBySide clips={clips} />
      <PlanEditor athleteId={id} name={athlete.display_name} />
    </section>
  )
}

function pct(v: number | null | undefined): string {
  // Null: nothing was due in the window (never shown as 100 %).
  return v == null ? 'nothing due' : `${Math.round(v * 100)} %`
}

/** Open flags: acknowledge (seen, stays open) or resolve (closed, off the roster's count). */
function Flags({ athleteId }: { athleteId: number }) {
  const [flags, setFlags] = useState<Flag[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [done, setDone] = useState<string | null>(null)
  const path = { params: { path: { athlete_id: athleteId } } }
  const load = () => api.GET('/api/v1/coach/athletes/{athlete_id}/flags', path)
    .then(({ data, error }) => data ? setFlags(data) : setError(errorText(error, 'The flags could not be loaded.')),
      () => setError('No connection: the flags will load when you are back online.'))
  useEffect(() => { void load() }, [athleteId])
  const act = async (f: Flag, action: 'acknowledge' | 'resolve') => {
    const params = { path: { athlete_id: athleteId, flag_id: f.id! } }
    const { error } = action === 'acknowledge'
      ? await api.POST('/api/v1/coach/athletes/{athlete_id}/flags/{flag_id}/acknowledge', { params })
      : await api.POST('/api/v1/coach/athletes/{athlete_id}/flags/{flag_id}/resolve', { params })
    if (error) return setError(errorText(error))
    setError(null)
    setDone(action === 'resolve' ? `Resolved: ${f.message}` : `Marked as seen: ${f.message}`)
    await load()
  }
  return (
    <div class="card">
      <h2>Flags</h2>
      {flags === null && !error && <p class="muted" role="status">Loading…</p>}
      {flags?.length === 0 && <p class="muted">No open flags.</p>}
      <ul class="plain">
        {flags?.map((f) => (
          <li class="flag" key={String(f.id ?? f.code)} style="margin:.5rem 0">
            <div>{f.message}</div>
            <div class="muted small">{f.created_at ? new Date(f.created_at).toLocaleDateString() : ''}
              {f.acknowledged_at ? ` · seen ${new Date(f.acknowledged_at).toLocaleDateString()}` : ' · new'}</div>
            {f.id != null && (
              <div class="row">
                {!f.acknowledged_at && <button class="secondary" onClick={() => act(f, 'acknowledge')}>Mark as seen</button>}
                <button class="secondary" onClick={() => act(f, 'resolve')}>Resolve</button>
              </div>
            )}
          </li>
        ))}
      </ul>
      {done && <p class="ok" role="status">{done}</p>}
      {error && <p class="error" role="alert">{error}</p>}
    </div>
  )
}

/** Weekly compliance, effort and pain: the weeks with something due or logged. */
function TrainingTable({ weeks }: { weeks: Schemas['WeekTrend'][] }) {
  const rows = weeks.filter((w) => w.sessions_logged > 0 || w.compliance.sessions_due > 0).reverse()
  if (rows.length === 0) return <p class="muted">No session logged or due yet.</p>
  return (
    <div style="overflow-x:auto" tabIndex={0} role="region" aria-label="Training history table">
      <table class="training">
        <thead><tr><th scope="col">Week of</th><th scope="col">Done</th><th scope="col">Sessions</th>
          <th scope="col">Effort</th><th scope="col">Max pain</th></tr></thead>
        <tbody>
          {rows.map((w) => (
            <tr key={w.week_start}>
              <th scope="row" style="font-weight:400">{new Date(w.week_start + 'T12:00:00').toLocaleDateString(undefined, { day: 'numeric', month: 'short' })}</th>
              <td>{pct(w.compliance.value)}</td>
              <td>{w.sessions_logged}/{w.compliance.sessions_due}</td>
              <td>{w.mean_rpe == null ? '–' : `${w.mean_rpe.toFixed(1)}/10`}</td>
              <td class={w.max_pain != null && w.max_pain >= 4 ? 'pain-high' : ''}>{w.max_pain == null ? '–' : `${w.max_pain}/10`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** One fault's measure over time, drawn with uPlot (loaded only on this page). */
function TrendChart({ trend }: { trend: FaultSeries }) {
  const ref = useRef<HTMLDivElement>(null)
  useEffect(() => {
    let plot: { destroy(): void } | null = null
    let gone = false
    void Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([{ default: UPlot }]) => {
      if (!ref.current || gone) return
      plot = new UPlot({
        width: Math.min(ref.current.clientWidth || 320, 640), height: 160,
        series: [{}, { label: trend.label, stroke: '#0d6e6e', width: 2, points: { show: true, size: 8 } }],
        axes: [{}, {}],
        legend: { show: false },
      }, [trend.points.map((p) => p.t), trend.points.map((p) => p.value)], ref.current)
    })
    return () => { gone = true; plot?.destroy() }
  }, [trend])
  const text = trend.points.map((p) => `${new Date(p.t * 1000).toLocaleDateString()}: ${p.value.toFixed(2)} (${p.severity})`).join('; ')
  return (
    <figure class="trend" style="margin:.5rem 0">
      <figcaption><strong>{trend.label}</strong> · {trend.points.length} {trend.points.length === 1 ? 'clip' : 'clips'}</figcaption>
      <div ref={ref} role="img" aria-label={`${trend.label}: ${text}`} />
      <p class="muted small">{text}</p>
    </figure>
  )
}

/** Two of the athlete's analysed clips next to each other: overlay video and a key frame. */
function ClipsSideBySide({ clips }: { clips: Clip[] }) {
  const analysed = clips.filter((c) => c.outcome === 'analysed' && c.has_report)
  // Oldest and newest by default: the before and after a coach usually wants.
  const [left, setLeft] = useState<number | null>(null)
  const [right, setRight] = useState<number | null>(null)
  const a = left ?? analysed[analysed.length - 1]?.id ?? null
  const b = right ?? analysed[0]?.id ?? null
  const label = (c: Clip) => `${new Date(c.recorded_at).toLocaleDateString()} · ${c.analysed_view ?? c.view} · ${c.original_filename ?? `Clip ${c.id}`}`
  const pick = (set: (v: number) => void) => (e: Event) => set(Number((e.currentTarget as HTMLSelectElement).value))
  return (
    <div class="card">
      <h2>Clips</h2>
      {clips.length === 0 && <p class="muted">No clips yet.</p>}
      <ul>{clips.map((c) => (
        <li key={c.id}>{label(c)}: {c.outcome === 'unfit' ? `refused (${c.unfit_reasons[0] ?? 'unfit'})` : c.outcome ?? c.status}</li>
      ))}</ul>
      {analysed.length >= 2 ? (
        <>
          <h3>Side by side</h3>
          <div class="side-by-side">
            <div><label for="clip-a">Left</label>
              <select id="clip-a" value={String(a)} onChange={pick(setLeft)}>{analysed.map((c) => <option key={c.id} value={c.id}>{label(c)}</option>)}</select></div>
            <div><label for="clip-b">Right</label>
              <select id="clip-b" value={String(b)} onChange={pick(setRight)}>{analysed.map((c) => <option key={c.id} value={c.id}>{label(c)}</option>)}</select></div>
            {a !== null && <ClipPanel key={`a${a}`} clip={analysed.find((c) => c.id === a)!} />}
            {b !== null && <ClipPanel key={`b${b}`} clip={analysed.find((c) => c.id === b)!} />}
          </div>
        </>
      ) : clips.length > 0 && <p class="muted">Two analysed clips are needed to compare them side by side.</p>}
    </div>
  )
}

function ClipPanel({ clip }: { clip: Clip }) {
  const [video, setVideo] = useState<string | null>(null)
  const [frame, setFrame] = useState<{ url: string; name: string } | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    const urls: string[] = []
    api.GET('/api/v1/clips/{clip_id}/report', { params: { path: { clip_id: clip.id } } }).then(({ data, error }) => {
      if (!data) return setError(errorText(error, 'The report could not be loaded.'))
      if (data.overlay_url) blobUrl(data.overlay_url).then((u) => { urls.push(u); setVideo(u) }, () => null)
      const k = data.keyframes[0]
      if (k) blobUrl(k.url).then((u) => { urls.push(u); setFrame({ url: u, name: k.name }) }, () => null)
    }, () => setError('No connection.'))
    return () => urls.forEach((u) => URL.revokeObjectURL(u))
  }, [clip.id])
  const when = new Date(clip.recorded_at).toLocaleDateString()
  return (
    <figure class="clip-panel">
      {error && <p class="error" role="alert">{error}</p>}
      {video ? <video src={video} controls muted playsInline loop aria-label={`Overlay of the clip of ${when}`} />
             : !error && <p class="muted small" role="status">Loading the video…</p>}
      {frame && <img class="keyframe" src={frame.url} alt={`Key frame (${frame.name.replace(/[_.]|png/g, ' ').trim()}) of the clip of ${when}`} />}
      <figcaption>{when}</figcaption>
    </figure>
  )
}

/** The coach's edits to the athlete's current plan (swap, level, cue) and notes. Each edit is
 * a new plan version with its reason, which is shown once saved. */
function PlanEditor({ athleteId, name }: { athleteId: number; name: string }) {
  const [plan, setPlan] = useState<Plan | null | undefined>(undefined)
  const [library, setLibrary] = useState<Exercise[]>([])
  const [error, setError] = useState<string | null>(null)
  const [saved, setSaved] = useState<string | null>(null)
  const [edited, setEdited] = useState<string>('')
  const path = { params: { path: { athlete_id: athleteId } } }
  const load = () => api.GET('/api/v1/coach/athletes/{athlete_id}/plan', path)
    .then(({ data }) => setPlan(data ?? null), () => setPlan(null))
  useEffect(() => {
    void load()
    api.GET('/api/v1/exercises').then(({ data }) => setLibrary(data ?? []), () => null)
  }, [athleteId])
  const done = async (r: { data?: Schemas['PlanChangePublic']; error?: unknown }, form: HTMLFormElement) => {
    if (r.error || !r.data) { setSaved(null); return setError(errorText(r.error)) }
    setError(null)
    setSaved(r.data.reason)
    form.reset()
    await load()
  }
  const submit = (kind: 'swap' | 'level' | 'cue' | 'note') => async (e: Event) => {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const f = new FormData(form)
    const text = (k: string) => String(f.get(k) ?? '').trim()
    if (kind === 'swap') await done(await api.POST('/api/v1/coach/athletes/{athlete_id}/plan/swap', { ...path, body: { from_code: text('from_code'), to_code: text('to_code') } }), form)
    else if (kind === 'level') await done(await api.POST('/api/v1/coach/athletes/{athlete_id}/plan/level', { ...path, body: { exercise_code: text('exercise_code'), to_level: Number(text('to_level')) } }), form)
    else if (kind === 'cue') await done(await api.POST('/api/v1/coach/athletes/{athlete_id}/plan/cues', { ...path, body: { text: text('cue'), exercise_code: text('cue_exercise') || null } }), form)
    else await done(await api.POST('/api/v1/coach/athletes/{athlete_id}/plan/notes', { ...path, body: { text: text('note') } }), form)
  }
  if (plan === undefined) return <div class="card"><h2>Plan</h2><p class="muted" role="status">Loading…</p></div>
  if (plan === null) return <div class="card"><h2>Plan</h2><p class="muted">No plan yet: it is built from {name}'s first analysed clip.</p></div>
  const today = new Date().toISOString().slice(0, 10)
  const week = plan.weeks.find((w) => w.sessions.some((s) => s.date >= today)) ?? plan.weeks[0]
  const inPlan = new Map<string, Schemas['ExercisePublic']>()
  // Edits apply from today on: the exercises of the sessions still to come (a logged session
  // keeps what was done).
  for (const w of plan.weeks) for (const s of w.sessions) {
    if (s.logged || s.date < today) continue
    for (const x of s.exercises) if (!inPlan.has(x.code)) inPlan.set(x.code, x)
  }
  const chosen = library.find((x) => x.code === (edited || [...inPlan.keys()][0]))
  const notes = plan.notes as Array<{ note_id?: number; text?: string; on?: string; author?: string; session_key?: string | null }>
  const removeNote = async (noteId: number, form: HTMLFormElement) => {
    await done(await api.DELETE('/api/v1/coach/athletes/{athlete_id}/plan/notes/{note_id}',
                                { params: { path: { athlete_id: athleteId, note_id: noteId } } }), form)
  }
  return (
    <>
      <div class="card">
        <h2>Plan</h2>
        <p class="muted">Version {plan.version}: {plan.reason}</p>
        {week && <>
          <h3>Week {week.number}{week.is_deload ? ' (lighter week)' : ''}</h3>
          <ul>{(week.sessions[0]?.exercises ?? []).map((x) => (
            <li key={x.code}><strong>{x.name}</strong>, level {x.level} ({x.level_name}): {x.sets} × {x.reps ? `${x.reps} reps` : `${x.hold_s} s`}</li>
          ))}</ul>
          {week.coach_cues.length > 0 && <p>Your cues: {week.coach_cues.join(' · ')}</p>}
        </>}
        {saved && <p class="ok" role="status">Saved: {saved}</p>}
        {error && <p class="error" role="alert">{error}</p>}
      </div>
      <form class="card" onSubmit={submit('swap')}>
        <h3>Swap an exercise</h3>
        <label for="from_code">Replace</label>
        <select id="from_code" name="from_code">{[...inPlan.values()].map((x) => <option key={x.code} value={x.code}>{x.name}</option>)}</select>
        <label for="to_code">With</label>
        <select id="to_code" name="to_code">{library.filter((x) => !inPlan.has(x.code)).map((x) => <option key={x.code} value={x.code}>{x.name}</option>)}</select>
        <p><button type="submit">Swap</button></p>
      </form>
      <form class="card" onSubmit={submit('level')}>
        <h3>Change a level</h3>
        <label for="exercise_code">Exercise</label>
        <select id="exercise_code" name="exercise_code" onChange={(e) => setEdited((e.currentTarget as HTMLSelectElement).value)}>
          {[...inPlan.values()].map((x) => <option key={x.code} value={x.code}>{x.name} (now level {x.level})</option>)}
        </select>
        <label for="to_level">New level</label>
        <select id="to_level" name="to_level">
          {(chosen?.levels ?? []).map((l) => <option key={l.number} value={l.number}>{l.number}: {l.name}</option>)}
        </select>
        <p><button type="submit">Change level</button></p>
      </form>
      <form class="card" onSubmit={submit('cue')}>
        <h3>Add a cue</h3>
        <label for="cue">Cue</label>
        <input id="cue" name="cue" required maxLength={300} />
        <label for="cue_exercise">For</label>
        <select id="cue_exercise" name="cue_exercise">
          <option value="">Running (the cue of the week)</option>
          {[...inPlan.values()].map((x) => <option key={x.code} value={x.code}>{x.name}</option>)}
        </select>
        <p><button type="submit">Add cue</button></p>
      </form>
      <form class="card" onSubmit={submit('note')}>
        <h2>Notes</h2>
        {notes.length === 0 ? <p class="muted">No notes yet.</p> : (
          <ul class="plain notes">{notes.map((n, i) => (
            <li key={n.note_id ?? i} style="margin:.4rem 0">{n.text}<div class="muted small">{n.author ?? ''}{n.on ? `, ${n.on}` : ''}</div>
              {n.note_id != null && (
                <button type="button" class="link" aria-label={`Delete the note: ${n.text ?? ''}`}
                        onClick={(e) => removeNote(n.note_id!, (e.currentTarget as HTMLElement).closest('form')!)}>Delete</button>
              )}</li>
          ))}</ul>
        )}
        <label for="note">Note for {name}</label>
        <textarea id="note" name="note" required maxLength={2000} rows={3} />
        <p><button type="submit">Add note</button></p>
      </form>
    </>
  )
}

import { useEffect, useState } from 'preact/hooks'
import { api, errorText, type Schemas } from '../api/client'
import { onLink } from '../router'
import { Calendar } from './athlete'

type Plan = Schemas['PlanPublic']
type Session = Schemas['SessionPublic']

export function PlanPage() {
  const [plan, setPlan] = useState<Plan | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [note, setNote] = useState<string | null>(null)
  const load = async () => {
    const { data, error } = await api.GET('/api/v1/plans/current')
    if (data) setPlan(data)
    else setError(errorText(error, 'Your plan could not be loaded.'))
  }
  useEffect(() => { void load().catch(() => setError('No connection: your plan will load when you are back online.')) }, [])

  const feeling = async (not_100: boolean) => {
    const { data, error } = await api.POST('/api/v1/plans/current/feeling', { body: { not_100 } })
    if (data) { setNote(data.reason); await load() } else setError(errorText(error))
  }

  if (error) return <section><h1>Your plan</h1><p class="error" role="alert">{error}</p>
    <p>Upload a clip first: the plan is built from what the analysis finds. <a href="/film" onClick={onLink}>Film a clip</a></p></section>
  if (!plan) return <p class="muted" role="status">Loading your plan…</p>
  const today = new Date().toISOString().slice(0, 10)
  const week = plan.weeks.find((w) => w.sessions.some((s) => s.date >= today)) ?? plan.weeks[0]
  const notes = plan.notes as Array<{ text?: string; on?: string }>
  return (
    <section aria-labelledby="plan-title">
      <h1 id="plan-title">Your plan</h1>
      <p class="muted">{plan.reason}</p>
      {plan.cue_of_week && <div class="card"><strong>Cue of the week:</strong> {plan.cue_of_week.text}</div>}
      {notes.length > 0 && (
        <div class="card">
          <h2>From your coach</h2>
          <ul class="plain">{notes.map((n, i) => <li key={i}>{n.text}{n.on ? <span class="muted small"> ({n.on})</span> : null}</li>)}</ul>
        </div>
      )}
      <div class="card">
        <p>Not feeling 100 % today? The next sessions get lighter until you are.</p>
        <div class="row">
          <button class="secondary" onClick={() => feeling(true)}>I'm not feeling 100 %</button>
          <button class="link" onClick={() => feeling(false)}>I'm fine again</button>
        </div>
        {note && <p class="ok" role="status">{note}</p>}
      </div>
      {week ? (
        <>
          <h2>Week {week.number}{week.is_deload ? ' (lighter week)' : ''}</h2>
          {week.film_again && <p class="card">{week.film_again} <a href="/film" onClick={onLink}>Film now</a></p>}
          {week.sessions.length === 0 && <p class="empty">No strength session this week.</p>}
          {week.sessions.map((s) => <SessionCard key={s.id} session={s} onLogged={load} />)}
        </>
      ) : <p class="empty">Your plan has no weeks yet.</p>}
      <Calendar />
    </section>
  )
}

function SessionCard({ session, onLogged }: { session: Session; onLogged: () => Promise<void> }) {
  const [open, setOpen] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const day = new Date(session.date + 'T12:00:00').toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'short' })
  const submit = async (e: Event) => {
    e.preventDefault()
    const f = new FormData(e.currentTarget as HTMLFormElement)
    setBusy(true)
    const exercises = session.exercises.map((x) => ({
      code: x.code,
      sets: Array.from({ length: x.sets }, (_, i) => i).filter((i) => f.get(`${x.code}-set-${i}`))
        .map(() => (x.hold_s ? { hold_s: x.hold_s } : { reps: x.reps ?? null })),
      pain: Number(f.get(`${x.code}-pain`) ?? 0),
    }))
    const { error } = await api.POST('/api/v1/sessions/{session_id}/log', {
      params: { path: { session_id: session.id } },
      body: { rpe: Number(f.get('rpe')), exercises, logged_on: session.date <= new Date().toISOString().slice(0, 10) ? session.date : null },
    })
    setBusy(false)
    if (error) setError(errorText(error))
    else { setOpen(false); await onLogged() }
  }
  return (
    <article class="card session" aria-labelledby={`s-${session.id}`}>
      <h3 id={`s-${session.id}`}>{day}{session.logged ? ' ✓ done' : ''}{session.lightened ? ' (lighter)' : ''}</h3>
      <p class="muted">About {Math.round(session.estimated_minutes)} min · warm-up: {session.warm_up}</p>
      <ul>
        {session.exercises.map((x) => (
          <li key={x.code}><strong>{x.name}</strong> (level {x.level}, {x.level_name}): {x.sets} × {x.reps ? `${x.reps} reps` : `${x.hold_s} s`}{x.side ? `, +${x.side.extra_sets} set on the ${x.side.side}` : ''}</li>
        ))}
      </ul>
      {!session.logged && !open && <button onClick={() => setOpen(true)}>Log this session</button>}
      {open && (
        <form onSubmit={submit}>
          {session.exercises.map((x) => (
            <fieldset key={x.code}>
              <legend>{x.name}</legend>
              <div class="row">
                {Array.from({ length: x.sets }, (_, i) => (
                  <label key={i} style="font-weight:400"><input type="checkbox" name={`${x.code}-set-${i}`} checked /> Set {i + 1}</label>
                ))}
              </div>
              <label for={`${x.code}-pain`}>Pain during it (0 none – 10 worst)</label>
              <input id={`${x.code}-pain`} name={`${x.code}-pain`} type="number" min={0} max={10} value="0" inputMode="numeric" />
            </fieldset>
          ))}
          <label for={`rpe-${session.id}`}>Effort (1 very easy – 10 maximal)</label>
          <input id={`rpe-${session.id}`} name="rpe" type="number" min={1} max={10} value="6" required inputMode="numeric" />
          {error && <p class="error" role="alert">{error}</p>}
          <p class="row"><button type="submit" disabled={busy}>Save</button>
            <button type="button" class="secondary" onClick={() => setOpen(false)}>Cancel</button></p>
        </form>
      )}
    </article>
  )
}

// The re-test loop from the athlete's side: every clip over time (refused ones with why and how
// to film again), and for each fault the first measure next to the latest one.
import { useEffect, useState } from 'preact/hooks'
import { api, errorText, type Schemas } from '../api/client'
import { trends, type Trends } from '../api/coach'
import type { Me } from '../app'
import { onLink } from '../router'
import { clipState } from './athlete'

type Clip = Schemas['ClipPublic']
type Retest = Schemas['RetestOut']
type FaultPoint = Schemas['FaultPoint']

const SEVERITIES = ['mild', 'moderate', 'marked']
// The retest's outcomes (backend/planner/retest.py), in the athlete's words.
const OUTCOMES: Record<string, [string, string]> = {
  shrank: ['Improved', 'better'], gone: ['Gone', 'better'], grew: ['Worse', 'worse'],
  no_detectable_change: ['No measurable change', 'same'], not_refilmed: ['Not filmed again yet', 'same'],
}

export interface Comparison {
  key: string
  title: string
  view: string
  first: FaultPoint
  latest: FaultPoint | null // null: the latest clip of that view no longer shows the fault
  latestAt: string
  verdict: [string, string] | null // null: filmed once, nothing to compare yet
}

/** First and latest measure of each fault and side. "Latest" is the newest fit clip of the view
 * the fault was first seen in: a fault missing from it is gone. Whether it improved comes from
 * the plan's re-test when that compares the same two measures (it knows each measure's
 * smallest detectable change), otherwise from the severity. */
export function compare(t: Trends, retest: Retest | null): Comparison[] {
  const out: Comparison[] = []
  for (const f of t.faults) {
    const sides = [...new Set(f.points.map((p) => p.side ?? ''))]
    for (const side of sides) {
      const points = f.points.filter((p) => (p.side ?? '') === side)
      const first = points[0]
      const sameView = t.clips.filter((c) => c.view === first.view)
      const newest = sameView[sameView.length - 1]
      if (!newest) continue // cannot happen: a fault point comes from one of these clips
      const latest = points.find((p) => p.clip_id === newest.clip_id) ?? null
      let verdict: [string, string] | null = null
      if (newest.clip_id === first.clip_id) verdict = null
      else if (!latest) verdict = OUTCOMES.gone
      else {
        const r = retest?.faults.find((c) => c.code === f.code && (c.side ?? '') === side
          && near(c.before_value, first.value) && near(c.after_value, latest.value))
        if (r && OUTCOMES[r.outcome]) verdict = OUTCOMES[r.outcome]
        else {
          const d = SEVERITIES.indexOf(latest.severity) - SEVERITIES.indexOf(first.severity)
          verdict = d < 0 ? ['Improved', 'better'] : d > 0 ? ['Worse', 'worse'] : ['Same severity', 'same']
        }
      }
      out.push({ key: `${f.code}-${side}`, title: `${f.title}${side ? ` (${side})` : ''}`, view: first.view,
                 first, latest, latestAt: newest.recorded_at, verdict })
    }
  }
  return out
}

/** The same measure, read from two tables (the plan's summary may round it). */
function near(a: number | null, b: number | null): boolean {
  return a != null && b != null && Math.abs(a - b) <= 1e-3 * Math.max(1, Math.abs(b))
}

function day(iso: string): string {
  return new Date(iso).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: '2-digit' })
}

function measure(p: FaultPoint | null): string {
  if (!p) return 'not found'
  return `${p.severity}${p.value == null ? '' : `, ${p.value.toFixed(p.value < 1 ? 2 : 1)}`}`
}

export function HistoryPage({ me }: { me: Me }) {
  const [clips, setClips] = useState<Clip[] | null>(null)
  const [t, setT] = useState<Trends | null>(null)
  const [retest, setRetest] = useState<Retest | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    const offline = () => setError('No connection: your history will show when you are back online.')
    api.GET('/api/v1/clips', { params: { query: { limit: 100 } } }).then(({ data, error }) => {
      if (data) setClips(data.items)
      else setError(errorText(error, 'Your clips could not be loaded.'))
    }, offline)
    trends(me.id).then(setT, (e: Error) => setError(e.message))
    // No plan yet is a 404: the re-test is only a refinement of the verdicts, so it is optional.
    api.GET('/api/v1/plans/current/retest').then(({ data }) => setRetest(data ?? null), () => null)
  }, [me.id])

  const rows = t ? compare(t, retest) : []
  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">Your history</h1>
      {error && <p class="error" role="alert">{error}</p>}
      {(clips === null || t === null) && !error && <p class="muted" role="status">Loading…</p>}
      {clips?.length === 0 && (
        <div class="empty">
          <p>No clips yet. Your first report shows what to work on; film again after a few weeks to see what changed.</p>
          <a class="button" href="/film" onClick={onLink}>Film a clip</a>
        </div>
      )}
      {t && clips && clips.length > 0 && (
        <>
          <h2>Before and after</h2>
          {rows.length === 0 && <p class="card">No fault found in your analysed clips yet{t.clips.length === 0 ? ': none of them could be analysed' : ''}.</p>}
          {rows.length > 0 && (
            <div class="card" style="overflow-x:auto" tabIndex={0} role="region" aria-label="Before and after table">
              <table class="history">
                <caption class="muted" style="text-align:left">Each fault: the first clip it was seen in, and your latest clip from the same view</caption>
                <thead><tr><th scope="col">Fault and change</th><th scope="col">First</th><th scope="col">Latest</th></tr></thead>
                <tbody>
                  {rows.map((r) => (
                    <tr key={r.key}>
                      <th scope="row" style="font-weight:400">{r.title}<div class="muted small">{r.view} view</div>
                        {r.verdict ? <span class={`badge change-${r.verdict[1]}`}>{r.verdict[0]}</span>
                                   : <span class="muted small">Filmed once: film again to compare</span>}</th>
                      <td>{measure(r.first)}<div class="muted small">{day(r.first.recorded_at)}</div></td>
                      <td>{r.verdict ? <>{measure(r.latest)}<div class="muted small">{day(r.latestAt)}</div></> : '–'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {retest && retest.faults.some((f) => f.outcome !== 'not_refilmed') && (
            <div class="card">
              <h3>This block's re-test</h3>
              <ul>{retest.faults.map((f) => <li key={f.code + (f.side ?? '')}>{f.summary}</li>)}</ul>
            </div>
          )}
          {retest?.film_again && <p class="card">{retest.film_again} <a href="/film" onClick={onLink}>Film now</a></p>}
          <h2>Your clips</h2>
          <ul class="plain">
            {clips.map((c) => (
              <li class="card" key={c.id}>
                <a href={`/clips/${c.id}`} onClick={onLink}>{c.original_filename ?? `Clip ${c.id}`}</a>
                <div class="muted">{day(c.recorded_at)} · {c.analysed_view ?? c.view} view</div>
                {c.outcome === 'unfit' ? (
                  <div>
                    <span class="badge change-worse">Refused</span>
                    <ul>{c.unfit_reasons.map((r) => <li key={r}>{r}</li>)}</ul>
                    {c.advice.length > 0 && (<><strong>How to film again</strong><ul>{c.advice.map((a) => <li key={a}>{a}</li>)}</ul></>)}
                    <a href="/film" onClick={onLink}>Film again</a>
                  </div>
                ) : <div>{clipState(c)}{c.needs_capture_fps ? ' · slow motion: tell us its frame rate in the report' : ''}</div>}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  )
}

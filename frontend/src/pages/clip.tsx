import { useEffect, useState } from 'preact/hooks'
import { api, blobUrl, errorText, type Schemas } from '../api/client'
import { streamEvents } from '../api/events'
import { onLink } from '../router'

type Clip = Schemas['ClipPublic']
type ReportOut = Schemas['ReportPublic']

interface Fault {
  code: string; title: string; severity: string; side: string | null; confidence: number
  value: number | null; threshold: number; unit: string; why_it_matters: string; cues: string[]
  notes: string[]; evidence: { metric: string; values: number[]; key_frame_s: number | null }
}
interface Metric {
  key: string; unit: string; value: number | null; left: number | null; right: number | null
  quality: string; typical: string; definition: string; withheld_reason: string | null
}
interface ChainLink { link: string; reasoning: string; confidence: number }

const STAGES: Record<string, string> = {
  queued: 'Waiting for its turn', running: 'Analysing', probe: 'Reading the video',
  pose: 'Finding the runner in each frame', gait: 'Measuring each stride', report: 'Writing the report',
}

export function ClipPage({ id }: { id: number }) {
  const [clip, setClip] = useState<Clip | null>(null)
  const [error, setError] = useState<string | null>(null)
  const load = async () => {
    const { data, error } = await api.GET('/api/v1/clips/{clip_id}', { params: { path: { clip_id: id } } })
    if (data) setClip(data)
    else setError(errorText(error, 'This clip could not be loaded.'))
  }
  useEffect(() => { void load().catch(() => setError('No connection: the clip will load when you are back online.')) }, [id])

  // Progress over server-sent events until the analysis ends, then the clip is read again.
  useEffect(() => {
    if (!clip || clip.status === 'succeeded' || clip.status === 'failed') return
    const abort = new AbortController()
    void streamEvents(`/api/v1/clips/${id}/events`, (e) => {
      if (e.event === 'progress') {
        const d = JSON.parse(e.data) as Partial<Clip>
        setClip((c) => (c ? { ...c, ...d } as Clip : c))
      } else if (e.event === 'done') {
        void load()
      }
    }, abort.signal).catch(() => { if (!abort.signal.aborted) setTimeout(() => void load(), 3000) })
    return () => abort.abort()
  }, [clip?.id, clip?.status === 'succeeded' || clip?.status === 'failed'])

  if (error) return <p class="error" role="alert">{error}</p>
  if (!clip) return <p class="muted" role="status">Loading…</p>
  const title = clip.original_filename ?? `Clip ${clip.id}`
  if (clip.status !== 'succeeded' && clip.status !== 'failed') {
    return (
      <section aria-labelledby="clip-title">
        <h1 id="clip-title">Analysing {title}</h1>
        <div class="card" role="status" aria-live="polite">
          <p>{STAGES[clip.stage ?? clip.status] ?? 'Analysing'}: {clip.progress} %</p>
          <progress max={100} value={clip.progress} aria-label="Analysis progress" />
          <p class="muted">This takes about a minute. You can leave this page: the report waits for you.</p>
        </div>
      </section>
    )
  }
  if (clip.status === 'failed') {
    return (
      <section aria-labelledby="clip-title">
        <h1 id="clip-title">{title}</h1>
        <p class="error" role="alert">The analysis failed: {clip.error?.message ?? 'unknown error'}. Try uploading the clip again.</p>
        <a class="button" href="/film" onClick={onLink}>Film again</a>
      </section>
    )
  }
  return <Report clip={clip} onChange={setClip} />
}

function Report({ clip, onChange }: { clip: Clip; onChange: (c: Clip) => void }) {
  const [report, setReport] = useState<ReportOut | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [overlay, setOverlay] = useState<string | null>(null)
  const [frames, setFrames] = useState<Record<string, string>>({})
  useEffect(() => {
    if (clip.outcome !== 'analysed' || !clip.has_report) return
    api.GET('/api/v1/clips/{clip_id}/report', { params: { path: { clip_id: clip.id } } }).then(({ data, error }) => {
      if (!data) return setError(errorText(error, 'The report could not be loaded.'))
      setReport(data)
      if (data.overlay_url) blobUrl(data.overlay_url).then(setOverlay, () => null)
      for (const k of data.keyframes) blobUrl(k.url).then((u) => setFrames((f) => ({ ...f, [k.name]: u })), () => null)
    }, () => setError('No connection: the report will load when you are back online.'))
  }, [clip.id])

  if (clip.outcome === 'unfit') {
    return (
      <section aria-labelledby="clip-title">
        <h1 id="clip-title">This clip could not be analysed</h1>
        <div class="card">
          <h2>Why</h2>
          <ul>{clip.unfit_reasons.map((r) => <li key={r}>{r}</li>)}</ul>
          {clip.advice.length > 0 && (<><h2>How to film again</h2><ul>{clip.advice.map((a) => <li key={a}>{a}</li>)}</ul></>)}
          {clip.needs_capture_fps && <SlowMotion clip={clip} onChange={onChange} />}
          <a class="button" href="/film" onClick={onLink}>Film again</a>
        </div>
      </section>
    )
  }
  if (error) return <p class="error" role="alert">{error}</p>
  if (!report) return <p class="muted" role="status">Loading the report…</p>
  const r = report.report as { faults?: Fault[]; metrics?: Record<string, Metric>; summary?: string[]; chain?: ChainLink[]; clip_quality?: { warnings?: string[] } }
  const faults = r.faults ?? []
  const metrics = Object.values(r.metrics ?? {}).filter((m) => m.quality !== 'withheld')
  return (
    <section aria-labelledby="clip-title">
      <h1 id="clip-title">Your report</h1>
      <p class="muted">{report.view} view · {new Date(clip.recorded_at).toLocaleDateString()}</p>
      {clip.needs_capture_fps && <SlowMotion clip={clip} onChange={onChange} />}
      {(r.summary ?? []).length > 0 && <div class="card"><ul>{r.summary!.map((s) => <li key={s}>{s}</li>)}</ul></div>}
      {report.overlay_url && (
        <div class="card">
          <h2>Your stride, measured</h2>
          {overlay ? <video src={overlay} controls muted playsInline loop aria-label="Clip with the measured lines drawn on it" />
                   : <p class="muted" role="status">Loading the video…</p>}
        </div>
      )}
      <h2>What we found</h2>
      {faults.length === 0 && <p class="card">No fault stood out in this clip. Keep up the strength work.</p>}
      {faults.map((f) => {
        const frame = report.keyframes.find((k) => k.name.includes(f.code))
        return (
          <article class="card fault" key={f.code + (f.side ?? '')} aria-labelledby={`f-${f.code}`}>
            <h3 id={`f-${f.code}`}>{f.title}{f.side ? ` (${f.side})` : ''}</h3>
            <p class="row">
              <span class={`badge sev-${f.severity}`}>Severity: {f.severity}</span>
              <span class="badge" style="background:#eef1f4">Confidence {Math.round(f.confidence * 100)} %</span>
            </p>
            <p><strong>Evidence:</strong> {f.evidence.metric.replace(/_/g, ' ')} {f.value !== null ? `${f.value.toFixed(1)} ${f.unit}` : ''} (threshold {f.threshold} {f.unit}, over {f.evidence.values.length} strides)</p>
            {frame && frames[frame.name] && <img class="keyframe" src={frames[frame.name]} alt={`Key frame: ${f.title}, with the measured lines`} />}
            <p><strong>Why it matters:</strong> {f.why_it_matters}</p>
            {f.notes.map((n) => <p class="muted" key={n}>{n}</p>)}
            {f.cues.length > 0 && (<><strong>Cues</strong><ul>{f.cues.map((c) => <li key={c}>{c}</li>)}</ul></>)}
          </article>
        )
      })}
      {(r.chain ?? []).length > 0 && (
        <div class="card">
          <h2>Looking beyond the hip</h2>
          <ul>{r.chain!.map((c) => <li key={c.link}><strong>{c.link.replace(/_/g, ' ')}</strong>: {c.reasoning}</li>)}</ul>
        </div>
      )}
      <h2>Metrics</h2>
      <div class="card" style="overflow-x:auto" tabIndex={0} role="region" aria-label="Metrics table">
        <table>
          <caption class="muted" style="text-align:left">Left and right where measured, and the typical range</caption>
          <thead><tr><th scope="col">Metric</th><th scope="col">Value</th><th scope="col">Left</th><th scope="col">Right</th></tr></thead>
          <tbody>
            {metrics.map((m) => (
              <tr key={m.key}>
                <th scope="row" style="font-weight:400">{m.key.replace(/_/g, ' ')}
                  {m.typical && <div class="muted small">Typical: {m.typical}</div>}</th>
                <td>{fmt(m.value, m.unit)}</td><td>{fmt(m.left, m.unit)}</td><td>{fmt(m.right, m.unit)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p><a class="button" href="/plan" onClick={onLink}>See your plan</a></p>
    </section>
  )
}

function fmt(v: number | null, unit: string): string {
  return v === null || v === undefined ? '–' : `${v.toFixed(1)} ${unit}`
}

/** The analysis asks for the frame rate of a slow-motion clip it could not read itself. */
function SlowMotion({ clip, onChange }: { clip: Clip; onChange: (c: Clip) => void }) {
  const [error, setError] = useState<string | null>(null)
  const submit = async (e: Event) => {
    e.preventDefault()
    const fps = Number(new FormData(e.currentTarget as HTMLFormElement).get('capture_fps'))
    const { data, error } = await api.PATCH('/api/v1/clips/{clip_id}', {
      params: { path: { clip_id: clip.id } }, body: { capture_fps: fps },
    })
    if (data) onChange(data as Clip)
    else setError(errorText(error))
  }
  return (
    <form class="card" onSubmit={submit}>
      <h2>Was this filmed in slow motion?</h2>
      <p class="muted">Tell us the frame rate it was filmed at (the camera's slow-motion setting), and the clip is analysed again at the right speed.</p>
      <label for="capture_fps">Frames per second when filmed</label>
      <select id="capture_fps" name="capture_fps">
        <option value="120">120 (slo-mo)</option><option value="240">240 (slo-mo)</option>
        <option value="60">60</option><option value="30">30 (not slow motion)</option>
      </select>
      {error && <p class="error" role="alert">{error}</p>}
      <p><button type="submit">Analyse again</button></p>
    </form>
  )
}

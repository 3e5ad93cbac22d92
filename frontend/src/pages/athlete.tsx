import { useEffect, useState } from 'preact/hooks'
import { api, errorText, type Schemas } from '../api/client'
import type { Me } from '../app'
import { navigate, onLink } from '../router'
import { onQueueChange, uploadQueue } from '../upload'
import type { QueueItem } from '../upload/queue'
import { NotificationFeed, NotificationOptIn } from './notifications'

type Clip = Schemas['ClipPublic']

export function Home({ me }: { me: Me }) {
  const [clips, setClips] = useState<Clip[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [items, setItems] = useState<QueueItem[]>([])
  useEffect(() => {
    api.GET('/api/v1/clips').then(({ data, error }) => {
      if (data) setClips(data.items)
      else setError(errorText(error, 'Your clips could not be loaded.'))
    }).catch(() => setError('No connection: your clips will show when you are back online.'))
    void uploadQueue().then((q) => q.list()).then(setItems)
    return onQueueChange(setItems)
  }, [])
  const pending = items.filter((i) => i.status !== 'done')
  return (
    <section aria-labelledby="home-title">
      <h1 id="home-title">Hi {me.display_name}</h1>
      <div class="row">
        <a class="button" href="/film" onClick={onLink}>Film a clip</a>
        <a class="button secondary" href="/plan" onClick={onLink}>Your plan</a>
      </div>
      {pending.length > 0 && <UploadList items={pending} />}
      <NotificationFeed />
      <h2>Your clips</h2>
      {error && <p class="error" role="alert">{error}</p>}
      {clips === null && !error && <p class="muted" role="status">Loading…</p>}
      {clips?.length === 0 && <p class="empty">No clips yet. Film 10 to 20 seconds of running and upload it to get your report.</p>}
      <ul class="plain">
        {clips?.map((c) => (
          <li class="card" key={c.id}>
            <a href={`/clips/${c.id}`} onClick={onLink}>
              {c.original_filename ?? `Clip ${c.id}`} · {c.view} view
            </a>
            <div class="muted">{new Date(c.recorded_at).toLocaleDateString()} · {clipState(c)}</div>
          </li>
        ))}
      </ul>
      <Invite />
      <Calendar />
      <NotificationOptIn />
    </section>
  )
}

export function clipState(c: Clip): string {
  if (c.status === 'succeeded') return c.outcome === 'unfit' ? 'Could not be analysed' : 'Report ready'
  if (c.status === 'failed') return 'Analysis failed'
  return `Analysing (${c.progress} %)`
}

function UploadList({ items }: { items: QueueItem[] }) {
  return (
    <div class="card" aria-live="polite">
      <h2>Uploads</h2>
      <ul class="plain">
        {items.map((i) => (
          <li key={i.id}>
            <div>{i.name}: {i.status === 'failed' ? 'failed' : i.status === 'queued' ? 'waiting' : 'uploading'}</div>
            <progress max={i.size} value={i.bytesSent} aria-label={`Upload of ${i.name}`} />
            {i.status === 'failed' && (
              <div>
                <p class="error">{i.error}</p>
                <div class="row">
                  <button onClick={() => void uploadQueue().then((q) => q.retry(i.id))}>Try again</button>
                  <button class="secondary" onClick={() => void uploadQueue().then((q) => q.remove(i.id))}>Remove</button>
                </div>
              </div>
            )}
          </li>
        ))}
      </ul>
    </div>
  )
}

function Invite() {
  const [msg, setMsg] = useState<string | null>(null)
  const [err, setErr] = useState<string | null>(null)
  const submit = async (e: Event) => {
    e.preventDefault()
    const code = String(new FormData(e.currentTarget as HTMLFormElement).get('code')).trim()
    const { data, error } = await api.POST('/api/v1/invites/{code}/accept', { params: { path: { code } } })
    if (data) { setErr(null); setMsg(`You are now coached by ${data.coach_display_name}.`) }
    else setErr(errorText(error, 'That invite code did not work.'))
  }
  return (
    <form class="card" onSubmit={submit}>
      <h2>Join your coach</h2>
      <label for="invite-code">Invite code</label>
      <input id="invite-code" name="code" required autoComplete="off" />
      {err && <p class="error" role="alert">{err}</p>}
      {msg && <p class="ok" role="status">{msg}</p>}
      <p><button type="submit">Accept invite</button></p>
    </form>
  )
}

export function Calendar() {
  const [link, setLink] = useState<string | null>(null)
  const [err, setErr] = useState<string | null>(null)
  const get = async () => {
    const { data, error } = await api.POST('/api/v1/plans/calendar', {})
    if (data) setLink(new URL(data.url, location.origin).href)
    else setErr(errorText(error))
  }
  return (
    <div class="card">
      <h2>Calendar</h2>
      <p class="muted">Add your strength sessions to your phone's calendar.</p>
      {link ? (
        <p><label for="cal">Calendar feed link (subscribe to it in your calendar app)</label>
          <input id="cal" readOnly value={link} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} /></p>
      ) : <button class="secondary" onClick={get}>Get the calendar link</button>}
      {err && <p class="error" role="alert">{err}</p>}
    </div>
  )
}

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']

export function Onboarding() {
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event) => {
    e.preventDefault()
    const f = new FormData(e.currentTarget as HTMLFormElement)
    setBusy(true)
    const height = String(f.get('height_cm') ?? '')
    const { error } = await api.PUT('/api/v1/users/me/profile', {
      body: {
        running_background: String(f.get('running_background')) as Schemas['RunningBackground'],
        weekly_volume_km: Number(f.get('weekly_volume_km') || 0),
        injuries: String(f.get('injuries') ?? '').split(',').map((s) => s.trim()).filter(Boolean),
        equipment: f.getAll('equipment').map(String) as Schemas['Equipment'][],
        strength_days: f.getAll('strength_days').map(Number),
        height_cm: height ? Number(height) : null,
        time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
        complete: true,
      },
    })
    setBusy(false)
    if (error) setError(errorText(error))
    else navigate('/film')
  }
  return (
    <section aria-labelledby="onb-title">
      <h1 id="onb-title">About your running</h1>
      <p class="muted">This shapes your plan: its level, its days and the equipment it uses.</p>
      <form class="card" onSubmit={submit}>
        <label for="running_background">Experience</label>
        <select id="running_background" name="running_background">
          <option value="beginner">Beginner</option>
          <option value="intermediate" selected>Intermediate</option>
          <option value="advanced">Advanced</option>
        </select>
        <label for="weekly_volume_km">Kilometres per week</label>
        <input id="weekly_volume_km" name="weekly_volume_km" type="number" min={0} max={400} value="25" inputMode="decimal" />
        <label for="height_cm">Height in cm (optional, for step length)</label>
        <input id="height_cm" name="height_cm" type="number" min={100} max={250} inputMode="numeric" />
        <label for="injuries">Past injuries (optional, comma separated)</label>
        <input id="injuries" name="injuries" />
        <fieldset>
          <legend>Equipment you have</legend>
          <label><input type="checkbox" name="equipment" value="none" checked /> None (bodyweight)</label>
          <label><input type="checkbox" name="equipment" value="dumbbells" /> Dumbbells</label>
          <label><input type="checkbox" name="equipment" value="kettlebell" /> Kettlebell</label>
        </fieldset>
        <fieldset>
          <legend>Strength days</legend>
          <div class="row">
            {DAYS.map((d, i) => (
              <label key={d} style="font-weight:400"><input type="checkbox" name="strength_days" value={i} checked={i === 1 || i === 4} /> {d}</label>
            ))}
          </div>
        </fieldset>
        {error && <p class="error" role="alert">{error}</p>}
        <p><button type="submit" disabled={busy}>Save and continue</button></p>
      </form>
    </section>
  )
}

/** The framing sketch: phone on a stand at hip height, 3-4 m away, whole body in frame. */
function FramingSketch() {
  return (
    <svg class="sketch" viewBox="0 0 320 180" role="img" aria-labelledby="sketch-title">
      <title id="sketch-title">Framing: the phone stands still at hip height, 3 to 4 metres away, with the whole body and both feet in frame and some space above the head and below the feet.</title>
      <rect x="1" y="1" width="318" height="178" rx="10" fill="#eef4f4" stroke="#0d6e6e" />
      <rect x="190" y="20" width="110" height="140" rx="6" fill="none" stroke="#0d6e6e" stroke-dasharray="6 4" stroke-width="2" />
      <circle cx="245" cy="42" r="9" fill="#1b1f24" />
      <path d="M245 52 L245 95 M245 62 L228 80 M245 62 L262 76 M245 95 L232 122 L222 148 M245 95 L258 120 L268 146" stroke="#1b1f24" stroke-width="5" fill="none" stroke-linecap="round" />
      <line x1="190" y1="152" x2="300" y2="152" stroke="#4a5560" />
      <rect x="30" y="78" width="16" height="28" rx="3" fill="#0d6e6e" />
      <path d="M38 106 L30 150 M38 106 L46 150 M38 106 L38 150" stroke="#4a5560" stroke-width="2" />
      <line x1="50" y1="92" x2="185" y2="92" stroke="#0d6e6e" stroke-dasharray="4 4" />
      <text x="95" y="84" font-size="13" fill="#1b1f24">3–4 m</text>
      <text x="18" y="170" font-size="12" fill="#1b1f24">phone at hip height</text>
      <text x="196" y="174" font-size="12" fill="#1b1f24">whole body in frame</text>
    </svg>
  )
}

export function FilmPage() {
  const [view, setView] = useState('side')
  const [fps, setFps] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [items, setItems] = useState<QueueItem[]>([])
  useEffect(() => onQueueChange(setItems), [])
  const pick = async (e: Event) => {
    const input = e.currentTarget as HTMLInputElement
    const file = input.files?.[0]
    if (!file) return
    if (!file.type.startsWith('video/') && !/\.(mov|mp4|m4v|webm)$/i.test(file.name)) {
      setError('That file is not a video. Pick a clip filmed with your camera.')
      return
    }
    setError(null)
    const q = await uploadQueue()
    const item = await q.add(file, view, fps ? Number(fps) : null)
    input.value = ''
    await q.run()
    const done = await q.get(item.id)
    if (done?.clipId) navigate(`/clips/${done.clipId}`)
  }
  const current = items.find((i) => i.status === 'uploading' || i.status === 'queued')
  const failed = items.find((i) => i.status === 'failed')
  return (
    <section aria-labelledby="film-title">
      <h1 id="film-title">Film your running</h1>
      <div class="card">
        <h2>How to film</h2>
        <FramingSketch />
        <ul>
          <li>Phone <strong>still</strong> on a stand or shelf at hip height, 3 to 4 m away. Landscape is best.</li>
          <li>Whole body in frame, <strong>both feet visible</strong> all the time; nobody else in the picture.</li>
          <li>10 to 20 seconds of steady running at your usual pace; a treadmill is ideal.</li>
          <li>Side view (camera to your side) for overstride and posture; rear view (behind you) for hips and knees.</li>
          <li>Slow motion (120 or 240 fps) helps: say so below when you pick the clip.</li>
        </ul>
      </div>
      <div class="card">
        <label for="view">Where is the camera?</label>
        <select id="view" value={view} onChange={(e) => setView((e.currentTarget as HTMLSelectElement).value)}>
          <option value="side">To my side</option>
          <option value="rear">Behind me</option>
          <option value="front">In front of me</option>
          <option value="auto">Not sure: work it out</option>
        </select>
        <label for="capture-fps">Filmed in slow motion?</label>
        <select id="capture-fps" value={fps} onChange={(e) => setFps((e.currentTarget as HTMLSelectElement).value)}>
          <option value="">No, or not sure</option>
          <option value="120">Yes, at 120 frames per second</option>
          <option value="240">Yes, at 240 frames per second</option>
        </select>
        <p class="muted small">Slow motion measures each step more finely. If you are not sure, the report asks when it sees a slow-motion clip.</p>
        <label for="clip-file">Record or choose a clip</label>
        <input id="clip-file" type="file" accept="video/*" capture="environment" onChange={pick} />
        <p class="muted">The upload continues if the connection drops, and resumes when you reopen the app.</p>
        {error && <p class="error" role="alert">{error}</p>}
        {current && (
          <div role="status" aria-live="polite">
            <p>Uploading {current.name}…{current.attempts > 0 ? ` (retry ${current.attempts})` : ''}</p>
            <progress max={current.size} value={current.bytesSent} aria-label="Upload progress" />
          </div>
        )}
        {failed && !current && <p class="error" role="alert">The upload of {failed.name} failed: {failed.error}</p>}
      </div>
    </section>
  )
}

import { useEffect, useState } from 'preact/hooks'
import { api, errorText, type Schemas } from '../api/client'

type Note = Schemas['NotificationPublic']

function isIos(): boolean {
  return /iPhone|iPad|iPod/.test(navigator.userAgent)
}

function isStandalone(): boolean {
  return matchMedia('(display-mode: standalone)').matches
    || (navigator as Navigator & { standalone?: boolean }).standalone === true
}

function base64ToBytes(value: string): Uint8Array {
  const padded = (value + '='.repeat((4 - (value.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/')
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))
}

/** Reminders opt-in: on an iPhone, Web Push only works from the Home Screen app, so the app
 * asks to be added there first and offers notifications only once it runs standalone. */
export function NotificationOptIn() {
  const [state, setState] = useState<string | null>(null)
  const supported = 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window
  if (isIos() && !isStandalone()) {
    return (
      <div class="card">
        <h2>Reminders</h2>
        <p>To get reminders on your iPhone, first add StrideLab to your Home Screen: tap Share, then
          “Add to Home Screen”, and open StrideLab from there.</p>
      </div>
    )
  }
  if (!supported) return null
  if (Notification.permission === 'granted' && state === null) return null
  const enable = async () => {
    try {
      const permission = await Notification.requestPermission()
      if (permission !== 'granted') return setState('Reminders stay off: notifications were not allowed.')
      const { data: key, error } = await api.GET('/api/v1/push/public-key')
      if (!key) return setState(errorText(error, 'Reminders are not set up on this server.'))
      const registration = await navigator.serviceWorker.ready
      const sub = await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: base64ToBytes(key.public_key) as BufferSource,
      })
      const json = sub.toJSON() as { endpoint: string; keys: { p256dh: string; auth: string } }
      const res = await api.POST('/api/v1/push/subscriptions', { body: { endpoint: json.endpoint, keys: json.keys } })
      setState(res.error ? errorText(res.error) : 'Reminders are on.')
    } catch (err) {
      setState(`Reminders could not be turned on: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  return (
    <div class="card">
      <h2>Reminders</h2>
      <p class="muted">A nudge on your strength days, and a note when a report is ready.</p>
      <button class="secondary" onClick={enable}>Turn on reminders</button>
      {state && <p role="status">{state}</p>}
    </div>
  )
}

/** The in-app feed: what the server also pushes, kept here to read later. */
export function NotificationFeed() {
  const [page, setPage] = useState<Schemas['NotificationPage'] | null>(null)
  const load = () => api.GET('/api/v1/notifications').then(({ data }) => setPage(data ?? null), () => null)
  useEffect(() => { void load() }, [])
  if (!page) return null
  const read = async (n: Note) => {
    await api.POST('/api/v1/notifications/{notification_id}/read', { params: { path: { notification_id: n.id } } })
    await load()
  }
  return (
    <div class="card">
      <h2>Updates{page.unread ? ` (${page.unread} new)` : ''}</h2>
      {page.items.length === 0 && <p class="muted">Nothing new. Reports and plan changes show up here.</p>}
      <ul class="plain">
        {page.items.slice(0, 10).map((n) => (
          <li key={n.id} style="margin:.4rem 0">
            <strong>{n.read_at ? '' : '• '}{n.title}</strong>
            <div>{n.body}</div>
            <div class="row">
              <a href={n.url}>Open</a>
              {!n.read_at && <button class="link" onClick={() => read(n)}>Mark as read</button>}
            </div>
          </li>
        ))}
      </ul>
    </div>
  )
}

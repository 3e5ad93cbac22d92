import { useEffect, useState } from 'preact/hooks'
import { api, saveTokens, tokens, type Schemas } from './api/client'
import { AuthPage } from './pages/auth'
import { CoachHome, AthleteDetail } from './pages/coach'
import { ClipPage } from './pages/clip'
import { Home, Onboarding, FilmPage } from './pages/athlete'
import { HistoryPage } from './pages/history'
import { PlanPage } from './pages/plan'
import { navigate, onLink, usePath } from './router'
import { uploadQueue } from './upload'

export type Me = Schemas['UserPublic']

export function App() {
  const path = usePath()
  const [me, setMe] = useState<Me | null | undefined>(undefined)
  const [offline, setOffline] = useState(!navigator.onLine)

  const loadMe = async () => {
    if (!tokens()) return setMe(null)
    const { data, response } = await api.GET('/api/v1/users/me')
    if (data) setMe(data)
    else if (response.status === 401) { saveTokens(null); setMe(null) }
    else setMe(null)
  }
  useEffect(() => {
    void loadMe().catch(() => setMe(null))
    const on = () => setOffline(!navigator.onLine)
    addEventListener('online', on)
    addEventListener('offline', on)
    return () => { removeEventListener('online', on); removeEventListener('offline', on) }
  }, [])
  useEffect(() => {
    if (me?.role === 'athlete') void uploadQueue().then((q) => q.run())
  }, [me?.id])

  const logout = async () => {
    const t = tokens()
    if (t) await api.POST('/api/v1/auth/logout').catch(() => null)
    saveTokens(null)
    setMe(null)
    navigate('/')
  }

  let page
  if (me === undefined) page = <p class="empty" role="status">Loading…</p>
  else if (me === null) page = <AuthPage onLoggedIn={loadMe} offline={offline} />
  else if (me.role === 'coach') {
    const m = path.match(/^\/athletes\/(\d+)/)
    page = m ? <AthleteDetail id={Number(m[1])} /> : <CoachHome />
  } else {
    const clip = path.match(/^\/clips\/(\d+)/)
    if (clip) page = <ClipPage id={Number(clip[1])} />
    else if (path === '/onboarding') page = <Onboarding />
    else if (path === '/film') page = <FilmPage />
    else if (path === '/plan') page = <PlanPage />
    else if (path === '/history') page = <HistoryPage me={me} />
    else page = <Home me={me} />
  }
  const tabs = me?.role === 'athlete'
    ? [['/', 'Home'], ['/film', 'Film'], ['/plan', 'Plan'], ['/history', 'History']]
    : me?.role === 'coach' ? [['/', 'Athletes']] : []
  return (
    <>
      <a href="#main" class="button" style="position:absolute;left:-999px" onFocus={(e) => ((e.currentTarget as HTMLElement).style.left = '0')}
         onBlur={(e) => ((e.currentTarget as HTMLElement).style.left = '-999px')}>Skip to content</a>
      <header class="bar">
        <a class="brand" href="/" onClick={onLink}>StrideLab</a>
        {me && <button class="link" onClick={logout}>Log out</button>}
      </header>
      {offline && <p class="error" role="status" style="margin:0;border-radius:0">You are offline. Clips wait in the queue and go up when you are back online.</p>}
      <main id="main">{page}</main>
      {tabs.length > 0 && (
        <nav class="tabs" aria-label="Main">
          {tabs.map(([href, label]) => (
            <a href={href} onClick={onLink} aria-current={path === href ? 'page' : undefined}>{label}</a>
          ))}
        </nav>
      )}
    </>
  )
}

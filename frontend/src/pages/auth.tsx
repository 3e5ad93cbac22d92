import { useState } from 'preact/hooks'
import { api, errorText, saveTokens } from '../api/client'
import { navigate } from '../router'

export function AuthPage({ onLoggedIn, offline }: { onLoggedIn: () => Promise<void>; offline: boolean }) {
  const [mode, setMode] = useState<'signup' | 'login'>(location.pathname === '/login' ? 'login' : 'signup')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const login = async (email: string, password: string) => {
    const { data, error } = await api.POST('/api/v1/auth/token', {
      body: { username: email, password, grant_type: 'password' } as never,
      bodySerializer: (b) => new URLSearchParams(b as Record<string, string>),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    })
    if (!data) throw new Error(errorText(error, 'Wrong email or password.'))
    saveTokens(data)
  }

  const submit = async (e: Event) => {
    e.preventDefault()
    const f = new FormData(e.currentTarget as HTMLFormElement)
    const email = String(f.get('email'))
    const password = String(f.get('password'))
    setBusy(true)
    setError(null)
    try {
      if (mode === 'signup') {
        const role = String(f.get('role')) as 'athlete' | 'coach'
        const { error } = await api.POST('/api/v1/auth/register', {
          body: { email, password, role, display_name: String(f.get('display_name')),
                  time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone },
        })
        if (error) throw new Error(errorText(error))
        await login(email, password)
        navigate(role === 'athlete' ? '/onboarding' : '/')
      } else {
        await login(email, password)
        navigate('/')
      }
      await onLoggedIn()
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section aria-labelledby="auth-title">
      <h1 id="auth-title">{mode === 'signup' ? 'Create your account' : 'Log in'}</h1>
      <p class="muted">Film your running, see what the analysis finds, and follow the strength plan that fixes it.</p>
      {offline && <p class="error">You are offline: logging in needs a connection.</p>}
      <form onSubmit={submit} class="card" noValidate={false}>
        {mode === 'signup' && (
          <>
            <label for="display_name">Your name</label>
            <input id="display_name" name="display_name" required autoComplete="name" maxLength={100} />
          </>
        )}
        <label for="email">Email</label>
        <input id="email" name="email" type="email" required autoComplete="email" />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" required minLength={mode === 'signup' ? 10 : 1}
               autoComplete={mode === 'signup' ? 'new-password' : 'current-password'} />
        {mode === 'signup' && (
          <fieldset>
            <legend>I am</legend>
            <label><input type="radio" name="role" value="athlete" checked /> a runner</label>
            <label><input type="radio" name="role" value="coach" /> a coach</label>
          </fieldset>
        )}
        {error && <p class="error" role="alert">{error}</p>}
        <p><button type="submit" disabled={busy}>{mode === 'signup' ? 'Sign up' : 'Log in'}</button></p>
      </form>
      <p>
        {mode === 'signup' ? 'Already have an account? ' : 'New here? '}
        <button class="link" onClick={() => { setError(null); setMode(mode === 'signup' ? 'login' : 'signup') }}>
          {mode === 'signup' ? 'Log in' : 'Create an account'}
        </button>
      </p>
    </section>
  )
}

// A small history-API router: the path is the state (reloadable, shareable links).
import { useEffect, useState } from 'preact/hooks'

export function navigate(to: string): void {
  history.pushState(null, '', to)
  dispatchEvent(new PopStateEvent('popstate'))
  window.scrollTo(0, 0)
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname)
  useEffect(() => {
    const on = () => setPath(location.pathname)
    addEventListener('popstate', on)
    return () => removeEventListener('popstate', on)
  }, [])
  return path
}

/** A link that routes in the page. */
export function onLink(e: MouseEvent): void {
  const a = (e.currentTarget as HTMLAnchorElement)
  if (e.metaKey || e.ctrlKey || e.shiftKey || a.target) return
  e.preventDefault()
  navigate(a.getAttribute('href')!)
}

import { render } from 'preact'
import { registerSW } from 'virtual:pwa-register'
import { App } from './app'
import './styles.css'

render(<App />, document.getElementById('app')!)
// The service worker precaches the app shell (offline start); updates apply on the next visit.
registerSW({ immediate: true })

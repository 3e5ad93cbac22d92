/// <reference types="vitest/config" />
import preact from '@preact/preset-vite'
import { defineConfig } from 'vite'
import { VitePWA } from 'vite-plugin-pwa'

// public/ holds the landing page served when the app is not built, so Vite's static files live
// in static/ (the icons drawn by scripts/icons.mjs).
export default defineConfig({
  publicDir: 'static',
  plugins: [
    preact(),
    VitePWA({
      registerType: 'autoUpdate',
      // The registration is a module the app imports (no inline script: the CSP forbids it).
      injectRegister: false,
      includeAssets: ['icons/apple-touch-icon.png'],
      manifest: {
        name: 'StrideLab',
        short_name: 'StrideLab',
        description: 'Running-form analysis from phone video, and the strength plan that fixes it.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#ffffff',
        theme_color: '#0d6e6e',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        // The app shell is precached; client-side routes fall back to it offline. The API is
        // never cached by the service worker (reports and plans change; auth is per user).
        globPatterns: ['**/*.{js,css,html,png,svg,webmanifest}'],
        // The first visit is controlled at once, so the shell works offline from then on.
        clientsClaim: true,
        // Web Push: the notification and its tap (static/push-sw.js).
        importScripts: ['/push-sw.js'],
        skipWaiting: true,
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/api\//, /^\/docs/, /^\/redoc/, /^\/openapi\.json/, /^\/healthz/],
      },
    }),
  ],
  build: { target: 'es2020', sourcemap: false },
  // `npm run dev` against `stridelab serve` on its default port.
  server: { proxy: { '/api': 'http://127.0.0.1:8000', '/healthz': 'http://127.0.0.1:8000' } },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
})

// Imported by the generated service worker: shows a Web Push notification (the server's JSON
// payload: id, kind, title, body, url) and opens its page when tapped.
self.addEventListener('push', (event) => {
  let data = { title: 'StrideLab', body: '', url: '/' }
  try { data = { ...data, ...event.data.json() } } catch (e) { /* not JSON: defaults */ }
  event.waitUntil(self.registration.showNotification(data.title, {
    body: data.body, data: { url: data.url }, icon: '/icons/icon-192.png', badge: '/icons/icon-192.png',
  }))
})
self.addEventListener('notificationclick', (event) => {
  event.notification.close()
  const url = (event.notification.data && event.notification.data.url) || '/'
  event.waitUntil(self.clients.matchAll({ type: 'window' }).then((wins) => {
    const open = wins.find((w) => 'focus' in w)
    return open ? open.navigate(url).then((w) => w && w.focus()) : self.clients.openWindow(url)
  }))
})

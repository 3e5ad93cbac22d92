// The app's one upload queue: tus to /api/v1/uploads with the login's token; it runs when the
// app starts, when the phone comes back online and when a clip is added.
import { api, authHeader, refresh } from '../api/client'
import { openQueueDb, tusTransport, UploadQueue, type QueueItem } from './queue'

type Listener = (items: QueueItem[]) => void
const listeners = new Set<Listener>()
let queuePromise: Promise<UploadQueue> | null = null

export function uploadQueue(): Promise<UploadQueue> {
  queuePromise ??= openQueueDb().then((db) => {
    const transport = tusTransport({
      endpoint: '/api/v1/uploads',
      headers: authHeader,
      resolveClip: async (url) => {
        const id = url.split('/').pop()!
        const { data } = await api.GET('/api/v1/uploads/{uuid}', { params: { path: { uuid: id } } })
        if (!data?.clip) throw new Error('The upload finished but its clip is not ready yet.')
        return data.clip.id
      },
    })
    const queue = new UploadQueue(db, {
      transport: async (item, hooks) => {
        try {
          return await transport(item, hooks)
        } catch (err) {
          // An expired access token: refresh it, and the queue's retry sends the new one.
          if (String(err).includes('401')) await refresh()
          throw err
        }
      },
      onChange: async (changed) => {
        // Progress comes as one item (not written to IndexedDB on every chunk): merge it.
        const items = (await queue.list()).map((i) => changed.find((c) => c.id === i.id) ?? i)
        listeners.forEach((l) => l(items))
      },
    })
    addEventListener('online', () => void queue.run())
    return queue
  })
  return queuePromise
}

export function onQueueChange(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

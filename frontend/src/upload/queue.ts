// The upload queue: clips waiting to go up, kept in IndexedDB so that a closed app or a dropped
// connection loses nothing. Each item remembers its tus upload URL as soon as the server gives
// one, so a retry (after an error, a reload or a restart) resumes that upload from the server's
// offset instead of creating a second one; one runner at a time works through the queue, and a
// finished item keeps its clip id and is never sent again.
// Types only here: the library itself is loaded on the first upload (it is a third of the
// app's script, and most visits upload nothing).
import type * as tus from 'tus-js-client'

export type ItemStatus = 'queued' | 'uploading' | 'done' | 'failed'

export interface QueueItem {
  id: string
  blob: Blob
  name: string
  type: string
  size: number
  lastModified: number
  view: string
  /** The real frame rate of a slow-motion clip, when the athlete said so (absent: unknown). */
  captureFps?: number | null
  status: ItemStatus
  uploadUrl: string | null
  clipId: number | null
  attempts: number
  bytesSent: number
  error: string | null
  createdAt: number
}

export interface UploadHooks {
  onUrl(url: string): Promise<void> | void
  onProgress(sent: number, total: number): void
}

/** Sends one item and resolves with the clip id. Rejects with `PermanentError` for a refusal
 * that a retry cannot fix (the server said 4xx), any other error is retried. */
export type Transport = (item: QueueItem, hooks: UploadHooks) => Promise<number>

export class PermanentError extends Error {}

const DB = 'stridelab-uploads'
const STORE = 'items'

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error)
  })
}

export function openQueueDb(factory: IDBFactory = indexedDB): Promise<IDBDatabase> {
  const open = factory.open(DB, 1)
  open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: 'id' })
  return request(open)
}

export interface QueueOptions {
  transport: Transport
  maxAttempts?: number
  retryDelayMs?: (attempt: number) => number
  onChange?: (items: QueueItem[]) => void
}

export class UploadQueue {
  private running: Promise<void> | null = null
  private readonly maxAttempts: number
  private readonly retryDelayMs: (attempt: number) => number

  constructor(private readonly db: IDBDatabase, private readonly options: QueueOptions) {
    this.maxAttempts = options.maxAttempts ?? 5
    this.retryDelayMs = options.retryDelayMs ?? ((n) => Math.min(30_000, 1000 * 2 ** n))
  }

  async list(): Promise<QueueItem[]> {
    const tx = this.db.transaction(STORE, 'readonly')
    const items = await request(tx.objectStore(STORE).getAll() as IDBRequest<QueueItem[]>)
    return items.sort((a, b) => a.createdAt - b.createdAt)
  }

  private async put(item: QueueItem): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite')
    await request(tx.objectStore(STORE).put(item))
    this.options.onChange?.(await this.list())
  }

  async get(id: string): Promise<QueueItem | undefined> {
    const tx = this.db.transaction(STORE, 'readonly')
    return request(tx.objectStore(STORE).get(id) as IDBRequest<QueueItem | undefined>)
  }

  async remove(id: string): Promise<void> {
    const tx = this.db.transaction(STORE, 'readwrite')
    await request(tx.objectStore(STORE).delete(id))
    this.options.onChange?.(await this.list())
  }

  /** Queues a file; the same file (name, size, modified time) still waiting is not queued twice. */
  async add(file: Blob & { name?: string; lastModified?: number }, view: string,
            captureFps: number | null = null): Promise<QueueItem> {
    const name = file.name ?? 'clip'
    const lastModified = file.lastModified ?? 0
    const same = (await this.list()).find((i) => i.status !== 'done' && i.name === name
      && i.size === file.size && i.lastModified === lastModified && i.view === view)
    if (same) return same
    const item: QueueItem = {
      id: crypto.randomUUID(), blob: file, name, type: file.type || 'video/mp4', size: file.size,
      lastModified, view, captureFps, status: 'queued', uploadUrl: null, clipId: null, attempts: 0,
      bytesSent: 0, error: null, createdAt: nextStamp(await this.list()),
    }
    await this.put(item)
    return item
  }

  /** Works through the queue; a second call while it runs joins the same run. */
  run(): Promise<void> {
    this.running ??= this.drain().finally(() => {
      this.running = null
    })
    return this.running
  }

  /** Puts a failed item back in the queue (the athlete pressed "try again"). */
  async retry(id: string): Promise<void> {
    const item = await this.get(id)
    if (item && item.status === 'failed') {
      await this.put({ ...item, status: 'queued', attempts: 0, error: null })
    }
    await this.run()
  }

  private async drain(): Promise<void> {
    for (;;) {
      // An item left 'uploading' was cut off by a closed app: it resumes like a queued one.
      const next = (await this.list()).find((i) => i.status === 'queued' || i.status === 'uploading')
      if (!next) return
      await this.send(next)
    }
  }

  private async send(start: QueueItem): Promise<void> {
    let item: QueueItem = { ...start, status: 'uploading', error: null }
    await this.put(item)
    for (;;) {
      try {
        const clipId = await this.options.transport(item, {
          onUrl: async (url) => {
            item = { ...item, uploadUrl: url }
            await this.put(item)
          },
          onProgress: (sent) => {
            item = { ...item, bytesSent: sent }
            this.options.onChange?.([item])
          },
        })
        await this.put({ ...item, status: 'done', clipId, bytesSent: item.size })
        return
      } catch (err) {
        const attempts = item.attempts + 1
        const message = err instanceof Error ? err.message : String(err)
        if (err instanceof PermanentError || attempts >= this.maxAttempts) {
          await this.put({ ...item, attempts, status: 'failed', error: message })
          return
        }
        item = { ...item, attempts, error: message }
        await this.put(item)
        await new Promise((r) => setTimeout(r, this.retryDelayMs(attempts)))
      }
    }
  }
}

export interface TusTransportOptions {
  endpoint: string
  headers: () => Record<string, string>
  /** The clip id of a finished upload (GET /api/v1/uploads/{id}), for when the final
   * response (with its Stridelab-Clip-Id header) was lost. */
  resolveClip: (uploadUrl: string) => Promise<number>
  /** What tus-js-client reads: the Blob in a browser; tests in Node pass a Buffer. */
  source?: (blob: Blob) => Promise<unknown> | unknown
  chunkSize?: number
}

/** The production transport: tus-js-client, resuming from the item's stored upload URL. */
export function tusTransport(options: TusTransportOptions): Transport {
  return async (item, hooks) => {
    const source = options.source ? await options.source(item.blob) : item.blob
    const { Upload } = await import('tus-js-client')
    return new Promise<number>((resolve, reject) => {
      let clipId: number | null = null
      const upload = new Upload(source as Blob, {
        endpoint: options.endpoint,
        uploadUrl: item.uploadUrl || undefined,
        uploadSize: item.size,
        ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
        metadata: {
          filename: item.name, filetype: item.type, view: item.view,
          ...(item.captureFps ? { capture_fps: String(item.captureFps) } : {}),
        },
        headers: options.headers(),
        // The queue does the retrying (it outlives the page); tus-js-client does not.
        retryDelays: [],
        storeFingerprintForResuming: false,
        removeFingerprintOnSuccess: false,
        onUploadUrlAvailable: () => {
          if (upload.url) void hooks.onUrl(upload.url)
        },
        onProgress: (sent, total) => hooks.onProgress(sent, total),
        onAfterResponse: (_req, res) => {
          const header = res.getHeader('Stridelab-Clip-Id')
          if (header) clipId = Number(header)
        },
        onSuccess: () => {
          if (clipId !== null) resolve(clipId)
          else options.resolveClip(upload.url ?? item.uploadUrl ?? '').then(resolve, reject)
        },
        onError: (err) => {
          const status = (err as tus.DetailedError).originalResponse?.getStatus() ?? 0
          // 404/410: the upload expired or is gone; start afresh next time rather than fail.
          if (status === 404 || status === 410) {
            void hooks.onUrl('')
            reject(new Error(`upload ${status}: starting again`))
          } else if (status >= 400 && status < 500 && status !== 401 && status !== 408 && status !== 429) {
            const body = (err as tus.DetailedError).originalResponse?.getBody() ?? ''
            let detail = err.message
            try {
              detail = (JSON.parse(body) as { detail?: string }).detail ?? detail
            } catch { /* not JSON */ }
            reject(new PermanentError(detail))
          } else {
            reject(err)
          }
        },
      })
      upload.start()
    })
  }
}

/** A creation time after every queued item's: two clips added in the same millisecond still
 * upload in the order they were added (items are read back sorted by it). */
function nextStamp(items: QueueItem[]): number {
  return Math.max(Date.now(), ...items.map((i) => i.createdAt + 0.001))
}

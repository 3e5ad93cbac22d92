// The upload queue against a real tus server over HTTP (a small tus 1.0 server in this file,
// which can cut a PATCH off half way), with IndexedDB from fake-indexeddb.
import 'fake-indexeddb/auto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openQueueDb, tusTransport, UploadQueue, type QueueItem } from './queue'

interface Upload { length: number; data: Buffer; clipId: number | null }

class TusServer {
  uploads = new Map<string, Upload>()
  creations = 0
  patches = 0
  /** Cut the next PATCH after this many bytes (the connection drops). */
  cutAfter: number | null = null
  /** Answer the next creation with this status (a refusal). */
  refuseWith: number | null = null
  nextClip = 100
  /** Each creation's Upload-Metadata, decoded. */
  metadata: Array<Record<string, string>> = []
  server!: Server
  url = ''

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res))
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v1/uploads`
  }

  stop(): Promise<void> {
    this.server.closeAllConnections()
    return new Promise((r) => this.server.close(() => r()))
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = req.url!.split('/').pop()!
    res.setHeader('Tus-Resumable', '1.0.0')
    if (req.method === 'POST') {
      this.creations++
      this.metadata.push(Object.fromEntries(String(req.headers['upload-metadata'] ?? '').split(',')
        .filter(Boolean).map((pair) => {
          const [k, v] = pair.trim().split(' ')
          return [k, v ? Buffer.from(v, 'base64').toString() : '']
        })))
      if (this.refuseWith) {
        res.writeHead(this.refuseWith, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ detail: 'This file is not a video.' }))
        this.refuseWith = null
        return
      }
      const uid = `u${this.creations}`
      this.uploads.set(uid, { length: Number(req.headers['upload-length']), data: Buffer.alloc(0), clipId: null })
      res.writeHead(201, { Location: `${this.url}/${uid}` }).end()
      return
    }
    const upload = this.uploads.get(id)
    if (!upload) { res.writeHead(404).end(); return }
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'Upload-Offset': String(upload.data.length), 'Upload-Length': String(upload.length), 'Cache-Control': 'no-store' }).end()
      return
    }
    if (req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ id, complete: upload.clipId !== null, clip: upload.clipId ? { id: upload.clipId } : null }))
      return
    }
    if (req.method === 'PATCH') {
      this.patches++
      if (Number(req.headers['upload-offset']) !== upload.data.length) { res.writeHead(409).end(); return }
      const cut = this.cutAfter
      this.cutAfter = null
      for await (const chunk of req) {
        upload.data = Buffer.concat([upload.data, chunk as Buffer])
        if (cut !== null && upload.data.length >= cut) {
          upload.data = upload.data.subarray(0, cut)
          req.socket.destroy() // the connection drops half way
          return
        }
      }
      const headers: Record<string, string> = { 'Upload-Offset': String(upload.data.length) }
      if (upload.data.length === upload.length) {
        upload.clipId = this.nextClip++
        headers['Stridelab-Clip-Id'] = String(upload.clipId)
      }
      res.writeHead(204, headers).end()
    }
  }
}

const file = (n: number, name = 'run.mp4') =>
  Object.assign(new Blob([Buffer.alloc(n, 7)], { type: 'video/mp4' }), { name, lastModified: 1 })

let server: TusServer
let db: IDBDatabase

beforeEach(async () => {
  server = new TusServer()
  await server.start()
  indexedDB.deleteDatabase('stridelab-uploads')
  db = await openQueueDb()
})
afterEach(async () => {
  db.close()
  await server.stop()
})

function queue(options: { maxAttempts?: number } = {}) {
  const transport = tusTransport({
    endpoint: server.url,
    headers: () => ({}),
    resolveClip: async (url) => {
      const body = await (await fetch(url)).json() as { clip: { id: number } }
      return body.clip.id
    },
    source: async (blob) => Buffer.from(await blob.arrayBuffer()),
  })
  return new UploadQueue(db, { transport, retryDelayMs: () => 5, ...options })
}

describe('upload queue', () => {
  it('uploads a clip and keeps its clip id', async () => {
    const q = queue()
    const item = await q.add(file(50_000), 'side')
    await q.run()
    const done = (await q.get(item.id))!
    expect(done.status).toBe('done')
    expect(done.clipId).toBe(100)
    expect(server.uploads.get('u1')!.data.length).toBe(50_000)
  })

  it('sends a slow-motion clip\'s frame rate with it, and none when not given', async () => {
    const q = queue()
    await q.add(file(10_000), 'side', 240)
    await q.add(file(12_000), 'rear')
    await q.run()
    expect(server.metadata.map((m) => [m.view, m.capture_fps])).toEqual([['side', '240'], ['rear', undefined]])
  })

  it('retries after a dropped connection and resumes from the offset, not from zero', async () => {
    server.cutAfter = 20_000
    const q = queue()
    const item = await q.add(file(60_000), 'rear')
    await q.run()
    const done = (await q.get(item.id))!
    expect(done.status).toBe('done')
    expect(done.attempts).toBe(1)
    expect(server.creations).toBe(1) // one upload, resumed
    expect(server.patches).toBe(2)
    expect(server.uploads.get('u1')!.data.equals(Buffer.alloc(60_000, 7))).toBe(true)
  })

  it('resumes an upload cut off by a closed app, from the URL kept in IndexedDB', async () => {
    server.cutAfter = 10_000
    // The first "app" dies after its first attempt (one attempt allowed, so it stops there).
    const first = queue({ maxAttempts: 1 })
    const item = await first.add(file(30_000), 'side')
    await first.run()
    const stored = (await first.get(item.id))!
    expect(stored.uploadUrl).toMatch(/\/u1$/)
    // Reopened: a stopped item is put back as it was found after a crash ('uploading').
    const tx = db.transaction('items', 'readwrite')
    tx.objectStore('items').put({ ...stored, status: 'uploading', attempts: 0 })
    await new Promise((r) => { tx.oncomplete = r })
    await queue().run()
    const done = (await first.get(item.id))!
    expect(done.status).toBe('done')
    expect(server.creations).toBe(1)
    expect(server.uploads.get('u1')!.data.length).toBe(30_000)
  })

  it('never uploads the same clip twice', async () => {
    const q = queue()
    const a = await q.add(file(8_000), 'side')
    const b = await q.add(file(8_000), 'side') // the same file picked twice
    expect(b.id).toBe(a.id)
    await Promise.all([q.run(), q.run(), q.run()]) // three triggers (online, visible, added)
    await q.run() // and once more after it finished
    expect(server.creations).toBe(1)
    expect((await q.list()).filter((i) => i.status === 'done')).toHaveLength(1)
  })

  it('a finished upload whose last answer was lost asks the server for its clip', async () => {
    const q = queue()
    const item = await q.add(file(5_000), 'side')
    await q.run()
    // Lost answer: the item still says uploading, but the server has all the bytes.
    const done = (await q.get(item.id))! as QueueItem
    const tx = db.transaction('items', 'readwrite')
    tx.objectStore('items').put({ ...done, status: 'uploading', clipId: null })
    await new Promise((r) => { tx.oncomplete = r })
    await q.run()
    expect((await q.get(item.id))!.clipId).toBe(100)
    expect(server.creations).toBe(1)
    expect(server.patches).toBe(1)
  })

  it('stops at a refusal the server explains and does not retry it', async () => {
    server.refuseWith = 415
    const q = queue()
    const item = await q.add(file(1_000, 'notes.txt'), 'side')
    await q.run()
    const failed = (await q.get(item.id))!
    expect(failed.status).toBe('failed')
    expect(failed.error).toBe('This file is not a video.')
    expect(server.creations).toBe(1)
  })
})

// Server-sent events over fetch: EventSource cannot send the Authorization header.
import { authFetch, authHeader } from './client'

export interface SseEvent {
  event: string
  data: string
}

/** Reads the stream at `path`, calling `onEvent` per event, until it ends or `signal` aborts. */
export async function streamEvents(path: string, onEvent: (e: SseEvent) => void,
                                   signal: AbortSignal): Promise<void> {
  const response = await authFetch(new Request(path, {
    headers: { Accept: 'text/event-stream', ...authHeader() }, signal,
  }))
  if (!response.ok || !response.body) throw new Error(`events: ${response.status}`)
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value.replace(/\r\n/g, '\n')
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      let event = 'message'
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
      }
      if (data.length) onEvent({ event, data: data.join('\n') })
    }
  }
}

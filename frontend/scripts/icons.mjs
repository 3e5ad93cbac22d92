// Draws the app icons (192 and 512 px PNGs) into static/icons/ at build time: no download, no
// image library. The icon is a teal tile with a white stride mark (two offset bars).
import { mkdirSync, writeFileSync } from 'node:fs'
import { deflateSync } from 'node:zlib'

const TEAL = [13, 110, 110]
const WHITE = [255, 255, 255]

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
function chunk(type, data) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}

function pixel(x, y, size) {
  // Maskable-safe: the mark stays inside the central 60 % of the tile.
  const u = x / size
  const v = y / size
  const inBar = (x0, y0) => u >= x0 && u <= x0 + 0.14 && v >= y0 && v <= y0 + 0.42
  return inBar(0.33, 0.22) || inBar(0.53, 0.36) ? WHITE : TEAL
}

function png(size) {
  const raw = Buffer.alloc((size * 3 + 1) * size)
  for (let y = 0; y < size; y++) {
    const row = y * (size * 3 + 1)
    raw[row] = 0
    for (let x = 0; x < size; x++) {
      const [r, g, b] = pixel(x, y, size)
      raw.set([r, g, b], row + 1 + x * 3)
    }
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

const out = new URL('../static/icons/', import.meta.url)
mkdirSync(out, { recursive: true })
for (const size of [192, 512]) writeFileSync(new URL(`icon-${size}.png`, out), png(size))
writeFileSync(new URL('apple-touch-icon.png', out), png(180))
console.log('icons: static/icons/icon-192.png, icon-512.png, apple-touch-icon.png')

import {request, type Agent} from 'node:https'

export interface DownloadOptions {
  url: string
  /** PEM CA the server certificate must chain to (the fleet CA) */
  ca?: string
  agent?: Agent
  /** stop after this many attempts (the first and its resumes) */
  maxAttempts?: number
  /** fault injection: drop the connection once after this many bytes */
  interruptAfter?: number
  timeoutMs?: number
  signal?: AbortSignal
  /** called as bytes arrive (for progress) */
  onProgress?: (received: number, total: number | undefined) => void
}

export interface DownloadResult {
  data: Buffer
  /** attempts made (1 = no interruption) */
  attempts: number
  /** the byte offsets resumed from with `Range: bytes=N-` */
  resumedFrom: number[]
}

export class DownloadError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message)
    this.name = 'DownloadError'
  }
}

/**
 * GET an image over HTTPS, resuming an interrupted transfer with `Range: bytes=N-` and
 * `If-Range: <etag>` (so a changed file restarts instead of splicing): what esp_https_ota does
 * with partial-download support. A server without ranges (200 to a ranged request) restarts.
 */
export async function downloadWithResume(options: DownloadOptions): Promise<DownloadResult> {
  const maxAttempts = options.maxAttempts ?? 4
  const chunks: Buffer[] = []
  let received = 0
  let total: number | undefined
  let etag: string | undefined
  const resumedFrom: number[] = []
  let interruptAfter = options.interruptAfter
  for (let attempt = 1; ; attempt++) {
    if (received > 0) resumedFrom.push(received)
    try {
      const done = await new Promise<boolean>((resolve, reject) => {
        let dropped = false
        const headers: Record<string, string> = {}
        if (received > 0) {
          headers.range = `bytes=${received}-`
          if (etag) headers['if-range'] = etag
        }
        const req = request(options.url, {method: 'GET', headers, ca: options.ca, agent: options.agent, signal: options.signal, timeout: options.timeoutMs ?? 30_000}, (res) => {
          const status = res.statusCode ?? 0
          if (status === 200 && received > 0) {
            // the server ignored the range (or the file changed): start over
            chunks.length = 0
            received = 0
          } else if (status === 206) {
            const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''))
            if (!range || Number(range[1]) !== received) {
              res.resume()
              reject(new DownloadError(`the server answered a range from ${range?.[1] ?? '?'} to a request from ${received}`, status))
              return
            }
          } else if (status !== 200) {
            res.resume()
            reject(new DownloadError(`HTTP ${status} from ${options.url}`, status))
            return
          }
          etag = typeof res.headers.etag === 'string' ? res.headers.etag : etag
          const length = Number(res.headers['content-length'])
          if (status === 200 && Number.isFinite(length)) total = length
          if (status === 206) total = Number(/\/(\d+)$/.exec(String(res.headers['content-range']))![1])
          res.on('data', (chunk: Buffer) => {
            if (dropped) return
            if (interruptAfter !== undefined && received + chunk.length > interruptAfter) {
              const keep = Math.max(0, interruptAfter - received)
              if (keep > 0) chunks.push(chunk.subarray(0, keep))
              received += keep
              interruptAfter = undefined
              dropped = true
              reject(new DownloadError('connection dropped (injected fault)'))
              req.destroy()
              return
            }
            chunks.push(chunk)
            received += chunk.length
            options.onProgress?.(received, total)
          })
          res.on('end', () => resolve(total === undefined || received >= total))
          res.on('error', reject)
        })
        req.on('timeout', () => req.destroy(new DownloadError(`no data from ${options.url} for ${(options.timeoutMs ?? 30_000) / 1000} s`)))
        req.on('error', reject)
        req.end()
      })
      if (done) return {data: Buffer.concat(chunks, received), attempts: attempt, resumedFrom}
    } catch (error) {
      if (options.signal?.aborted) throw error
      if (error instanceof DownloadError && error.status !== undefined) throw error
      if (attempt >= maxAttempts) throw new DownloadError(`download failed after ${attempt} attempts: ${(error as Error).message}`)
    }
  }
}

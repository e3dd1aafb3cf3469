import {spawn, type ChildProcess} from 'node:child_process'
import {X509Certificate, createPrivateKey} from 'node:crypto'
import {deviceAppFiles, startMicroPythonDevice, type MicroPythonDevice, type MicroPythonDeviceOptions} from '../../src/lib/micropython/index.js'

/** Lines that arrive over time, with a wait for the first (next) one that matches. */
export class Lines {
  readonly all: string[] = []
  private waiters: {pattern: RegExp; from: number; resolve: (line: string) => void}[] = []

  push(line: string) {
    this.all.push(line)
    for (const waiter of [...this.waiters]) {
      const index = this.all.findIndex((l, i) => i >= waiter.from && waiter.pattern.test(l))
      if (index >= 0) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        waiter.resolve(this.all[index])
      }
    }
  }

  /** the first line matching `pattern` at or after index `from` (default: any line so far) */
  waitFor(pattern: RegExp, timeoutMs = 30_000, from = 0): Promise<string> {
    const found = this.all.find((l, i) => i >= from && pattern.test(l))
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; got:\n${this.all.slice(-30).join('\n')}`)), timeoutMs)
      this.waiters.push({pattern, from, resolve: (line) => (clearTimeout(timer), resolve(line))})
    })
  }

  count(pattern: RegExp): number {
    return this.all.filter((l) => pattern.test(l)).length
  }

  /** a board console (a UART) whose CRLF-ended output arrives here line by line */
  console(): {write(chunk: string): void} {
    let text = ''
    return {
      write: (chunk: string) => {
        text += chunk
        const lines = text.split('\r\n')
        text = lines.pop()!
        for (const line of lines) this.push(line)
      },
    }
  }
}

export interface DeviceTls {
  certPem: string
  keyPem: string
  caPem: string
}

/** The device app's files plus a /config.json (and the DER certificate files when `tls` is given). */
export function boardFiles(config: Record<string, unknown>, tls?: DeviceTls, options: {precompiled?: boolean} = {}): Map<string, Uint8Array> {
  const files = deviceAppFiles(options)
  files.set('/config.json', Buffer.from(JSON.stringify(config)))
  if (tls) {
    files.set('/certs/device.der', new X509Certificate(tls.certPem).raw)
    const key = createPrivateKey(tls.keyPem)
    // as the bundle writes it: PKCS#1 for RSA (what ESP8266's axTLS loads), else PKCS#8
    files.set('/certs/device.key.der', key.export({format: 'der', type: key.asymmetricKeyType === 'rsa' ? 'pkcs1' : 'pkcs8'}))
    files.set('/certs/ca.der', new X509Certificate(tls.caPem).raw)
  }
  return files
}

export function runDevice(files: Map<string, Uint8Array>, options: Partial<MicroPythonDeviceOptions> = {}): {device: MicroPythonDevice; uart: Lines} {
  const uart = new Lines()
  const device = startMicroPythonDevice({files, onUart: (line) => uart.push(line), ...options})
  return {device, uart}
}

/** A running `mosquitto_sub -v` (topic, space, payload per line). */
export function mosquittoSub(args: string[]): {lines: Lines; process: ChildProcess; stop(): void} {
  const lines = new Lines()
  const child = spawn('mosquitto_sub', ['-v', ...args], {stdio: ['ignore', 'pipe', 'pipe']})
  let rest = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    rest += chunk.toString('utf8')
    const parts = rest.split('\n')
    rest = parts.pop()!
    for (const part of parts) lines.push(part)
  })
  child.stderr!.on('data', (chunk: Buffer) => lines.push(`stderr: ${chunk.toString('utf8').trim()}`))
  return {lines, process: child, stop: () => child.kill()}
}

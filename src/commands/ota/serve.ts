import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../../cli/base-command.js'
import {usageError} from '../../lib/console/errors.js'

export default class OtaServe extends BaseCommand<typeof OtaServe> {
  static summary = 'Serve OTA releases over HTTPS, with byte ranges so interrupted downloads resume.'
  static description = `Serves ota/releases/TYPE/VERSION/{firmware.bin,manifest.json} with a certificate from the fleet CA (iotctl certs issue-server NAME --ip …), so devices verify the server with the CA they already hold. Range requests (206, If-Range, strong ETags) let esp_https_ota and iotctl's simulated devices resume. Runs until Ctrl-C; under --json one {"event":"request"} line per download and {"event":"listening"} first.`
  static examples = [
    '<%= config.bin %> certs issue-server ota --ip 127.0.0.1 && <%= config.bin %> <%= command.id %> --server-cert ota --port 8443',
    '<%= config.bin %> <%= command.id %> --cert server.pem --key server.key --host 0.0.0.0',
  ]

  static handlesInterrupt = true
  static flags = {
    'server-cert': Flags.string({summary: 'name of a server certificate from `iotctl certs issue-server` (default: ota)', exclusive: ['cert']}),
    cert: Flags.string({summary: 'server certificate PEM file', dependsOn: ['key']}),
    key: Flags.string({summary: 'server key PEM file', dependsOn: ['cert']}),
    host: Flags.string({summary: 'address to listen on', default: '127.0.0.1'}),
    port: Flags.integer({summary: 'port (0 = any free one)', default: 8443, min: 0, max: 65535}),
  }

  async run(): Promise<undefined> {
    const ws = await this.workspace()
    const [{readFile}, {serverFiles}, {startDownloadServer}] = await Promise.all([import('node:fs/promises'), import('../../lib/pki/layout.js'), import('../../lib/ota/download-server.js')])
    const files = this.flags.cert ? {cert: this.flags.cert, key: this.flags.key!} : serverFiles(ws.paths.pki, this.flags['server-cert'] ?? 'ota')
    const read = (file: string) =>
      readFile(file, 'utf8').catch(() => {
        throw usageError(`Cannot read ${file}`, [`Issue a server certificate: iotctl certs issue-server ${this.flags['server-cert'] ?? 'ota'} --ip 127.0.0.1`])
      })
    const [cert, key] = await Promise.all([read(files.cert), read(files.key)])
    const json = this.jsonEnabled()
    const server = await startDownloadServer({
      workspaceRoot: ws.root,
      cert,
      key,
      host: this.flags.host,
      port: this.flags.port,
      onRequest: (entry) => {
        if (json) this.emit({event: 'request', ...entry})
        else this.info(`${entry.status} ${entry.path} ${entry.bytes} bytes${entry.range ? ` (${entry.range})` : ''}`)
      },
    })
    this.onCleanup(() => server.close())
    if (json) this.emit({event: 'listening', url: server.url})
    this.info(`Serving OTA releases on ${server.url} — Ctrl-C to stop`)
    await new Promise<void>((resolve) => this.signal.addEventListener('abort', () => resolve(), {once: true}))
    await server.close()
    const result = {url: server.url, ...server.stats}
    if (json) this.emit({event: 'summary', ...result})
    else this.info(`Served ${server.stats.requests} requests (${server.stats.ranged} ranged), ${server.stats.bytes} bytes`)
    return undefined
  }
}

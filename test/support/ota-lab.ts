import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {startDownloadServer, type DownloadServer} from '../../src/lib/ota/download-server.js'
import {createReleaseKey} from '../../src/lib/ota/signing-key.js'
import {createCa, openCa} from '../../src/lib/pki/ca.js'
import {generateDeviceCerts} from '../../src/lib/pki/issue.js'
import {issueServerCert} from '../../src/lib/pki/server.js'
import type {DeviceTls} from './micropython-device.js'
import {startMosquitto, type Mosquitto} from './mosquitto.js'

export interface OtaLab {
  /** the workspace root: fleet CA, release key, releases */
  root: string
  /** a Mosquitto that requires client certificates from the fleet CA */
  broker: Mosquitto
  /** `ota serve`'s HTTPS download server, with a certificate from the fleet CA */
  server: DownloadServer
  /** the device's identity and the CA it trusts */
  device: DeviceTls
  /** mosquitto_sub/pub TLS arguments of a watcher identity */
  watcher: string[]
  stop(): Promise<void>
}

/**
 * What the in-process OTA tests of device apps share: a fleet CA, a mutual-TLS Mosquitto, a release
 * key and the download server, and one device identity (EC P-256) besides a watcher's.
 */
export async function startOtaLab(prefix: string, deviceId: string, passphrase: string): Promise<OtaLab> {
  const root = mkdtempSync(join(tmpdir(), `iotctl-${prefix}-`))
  await createCa(root, {passphrase})
  const ca = await openCa(root, passphrase)
  const brokerCert = await issueServerCert(root, 'broker', {passphrase, ca, ip: ['127.0.0.1'], dns: ['localhost']})
  const otaCert = await issueServerCert(root, 'ota', {passphrase, ca, ip: ['127.0.0.1']})
  const [issued, watch] = await generateDeviceCerts(ca, [deviceId, 'watcher'], {algorithm: 'ec-p256', days: 30})
  const device = {certPem: issued.certPem, keyPem: issued.keyPem!, caPem: readFileSync(brokerCert.caFile, 'utf8')}
  writeFileSync(join(root, 'watcher.crt'), watch.certPem)
  writeFileSync(join(root, 'watcher.key'), watch.keyPem!)
  const watcher = ['--cafile', brokerCert.caFile, '--cert', join(root, 'watcher.crt'), '--key', join(root, 'watcher.key')]
  const broker = await startMosquitto({
    listenerLines: [`cafile ${brokerCert.caFile}`, `certfile ${brokerCert.certFile}`, `keyfile ${brokerCert.keyFile}`, 'require_certificate true', 'use_identity_as_username true', 'allow_anonymous false'],
  })
  await createReleaseKey(root, passphrase)
  const server = await startDownloadServer({workspaceRoot: root, cert: readFileSync(otaCert.certFile, 'utf8'), key: readFileSync(otaCert.keyFile, 'utf8')})
  return {
    root,
    broker,
    server,
    device,
    watcher,
    stop: async () => {
      await server.close()
      await broker.stop()
    },
  }
}

import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {expect} from 'vitest'
import {isolatedEnv, runCli, type CliEnv} from './cli.js'
import {startCli, type CliProcess} from './cli-process.js'
import {appImage} from './esp-image.js'
import {startMosquitto, type Mosquitto} from './mosquitto.js'
import {freePort} from './net.js'

export interface MtlsFleetOptions {
  /** extra environment (the CA passphrase at least) */
  env: NodeJS.ProcessEnv
  /** the fleet CA's subject (default: iotctl's) */
  caSubject?: string
  /** extra `iotctl init` arguments, e.g. ['--registry', url] */
  initArgs?: string[]
  /** the backend profile the devices use, made the default */
  backend: string
  /** the tools' own identity on the broker: a registered device with a certificate and a profile of its own */
  client: {id: string; type: string; backend: string}
  /** more server certificates to issue, e.g. 'ota' for `iotctl ota serve` */
  serverCerts?: string[]
  /** Mosquitto's global lines (e.g. max_connections) */
  brokerGlobalLines?: string[]
}

export interface MtlsFleet {
  ctx: CliEnv
  /** the workspace (ctx.cwd) */
  root: string
  broker: Mosquitto
  /** mqtts://127.0.0.1:PORT */
  url: string
  /** the fleet CA certificate */
  ca: string
}

/**
 * A workspace with a fleet CA and a Mosquitto that requires client certificates, its server certificate
 * issued by iotctl: the devices' backend profile (the default) and one for the tools, which authenticate as
 * a registered device of their own (Mosquitto takes the certificate's CN as the user name).
 */
export async function startMtlsFleet(options: MtlsFleetOptions): Promise<MtlsFleet> {
  const ctx = isolatedEnv(options.env)
  const root = join(ctx.home, 'fleet')
  mkdirSync(root)
  const init = await runCli(['init', root, ...(options.initArgs ?? [])], ctx)
  expect(init.code, init.stderr).toBe(0)
  ctx.cwd = root
  expect((await runCli(['certs', 'init', ...(options.caSubject ? ['--subject', options.caSubject] : [])], ctx)).code).toBe(0)
  const server = await runCli(['certs', 'issue-server', 'broker', '--dns', 'localhost', '--ip', '127.0.0.1', '--json'], ctx)
  expect(server.code, server.stderr).toBe(0)
  const {certFile, keyFile, caFile} = server.json()
  for (const name of options.serverCerts ?? []) expect((await runCli(['certs', 'issue-server', name, '--ip', '127.0.0.1'], ctx)).code).toBe(0)
  const broker = await startMosquitto({
    listenerLines: [`cafile ${caFile}`, `certfile ${certFile}`, `keyfile ${keyFile}`, 'require_certificate true', 'use_identity_as_username true', 'allow_anonymous false'],
    ...(options.brokerGlobalLines ? {globalLines: options.brokerGlobalLines} : {}),
  })
  const url = `mqtts://127.0.0.1:${broker.port}`
  const ca = join(root, 'pki', 'ca.pem')
  expect((await runCli(['backends', 'add', options.backend, '--kind', 'mqtt', '--url', url, '--ca', ca, '--use'], ctx)).code).toBe(0)
  const {client} = options
  expect((await runCli(['devices', 'add', client.id, '--type', client.type], ctx)).code).toBe(0)
  expect((await runCli(['certs', 'issue', client.id], ctx)).code).toBe(0)
  expect((await runCli(['backends', 'add', client.backend, '--kind', 'mqtt', '--url', url, '--ca', ca, '--identity', client.id], ctx)).code).toBe(0)
  return {ctx, root, broker, url, ca}
}

/** The release key, then one signed release per version of a stand-in ESP32 app image (`iotctl ota release`). */
export async function publishReleases(ctx: CliEnv, options: {type: string; versions: string[]; size: number}): Promise<void> {
  expect((await runCli(['ota', 'keys', 'init'], ctx)).code).toBe(0)
  for (const version of options.versions) {
    const file = join(ctx.home, `${options.type}-${version}.bin`)
    writeFileSync(file, appImage({chip: 'esp32', version, projectName: `${options.type}-fw`, size: options.size}))
    const made = await runCli(['ota', 'release', '--type', options.type, '--version', version, '--chip', 'esp32', file, '--json'], ctx)
    expect(made.code, made.stderr).toBe(0)
  }
}

/** `iotctl ota serve --json` over HTTPS with the 'ota' server certificate, on a free port, once it listens. */
export async function startOtaServe(ctx: CliEnv): Promise<{serve: CliProcess; url: string}> {
  const port = await freePort()
  const serve = startCli(['ota', 'serve', '--server-cert', 'ota', '--port', String(port), '--json'], ctx)
  await serve.waitForStdout(/"event":"listening"/)
  return {serve, url: `https://127.0.0.1:${port}/`}
}

/** Register `count` simulated temp devices `t-…` with fleet-CA certificates in one batch (`simulate --tls-identities --messages 1`), running 1.0.0. */
export async function registerSimulatedFleet(ctx: CliEnv, count: number): Promise<void> {
  const register = await runCli(['simulate', '--tls-identities', '--count', String(count), '--type', 'temp', '--id-prefix', 't-', '--messages', '1', '--json'], ctx, {timeoutMs: 120_000})
  expect(register.code, register.stderr).toBe(0)
}

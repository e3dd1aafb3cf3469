import {expect} from 'vitest'
import {isolatedEnv, runCli, type CliEnv} from './cli.js'
import {startMosquitto, type Mosquitto, type MosquittoOptions} from './mosquitto.js'

/** A Mosquitto and an isolated workspace whose default backend `lab` is that broker (plain MQTT). */
export async function startMqttLab(options: MosquittoOptions = {}): Promise<{broker: Mosquitto; ctx: CliEnv}> {
  const broker = await startMosquitto(options)
  const ctx = isolatedEnv()
  expect((await runCli(['backends', 'add', 'lab', '--kind', 'mqtt', '--url', broker.url, '--use'], ctx)).code).toBe(0)
  return {broker, ctx}
}

